import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../util/paths.ts';
import { VERDICTS, type Verdict } from '../model/verdict.ts';
import { Fields, parseJson } from '../model/fields.ts';

import { BUILTIN_SCENARIO_DIR } from './scenario-defs.ts';

export interface Expectation {
  verdict: Verdict;
  /** Why: what was measured when this was written. */
  note: string;
}

/** <scenario dir>/<scenario>/expect.json: per target, the verdict measured on it and why. */
export async function loadExpectations(scenario: string, file = path.join(BUILTIN_SCENARIO_DIR, scenario, 'expect.json')): Promise<{ file: string; targets: Map<string, Expectation> }> {
  const rel = file.startsWith(`${repoRoot}/`) ? path.relative(repoRoot, file) : file;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return { file: rel, targets: new Map() };
  }
  return { file: rel, targets: parseExpectations(rel, text, scenario) };
}

export function parseExpectations(file: string, text: string, scenario: string): Map<string, Expectation> {
  const top = new Fields(file, parseJson(file, text));
  top.only(['scenario', 'targets']);
  top.oneOf('scenario', [scenario]);
  const targets = top.object('targets');
  const out = new Map<string, Expectation>();
  for (const name of targets.keys()) {
    const t = targets.object(name);
    t.only(['verdict', 'note']);
    out.set(name, { verdict: t.oneOf('verdict', VERDICTS), note: t.string('note') });
  }
  return out;
}
