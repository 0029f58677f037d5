import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { labDirs, repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';
import { everyVerdictRun } from './kcidb-fixture.ts';

/*
 * `reprolab report kcidb` output checked against KernelCI's real KCIDB v5.3 schema, as kcidb-io checks a
 * submission (JSON Schema draft-07, formats checked). The schema is GPL and never in this repository:
 * tests/kcidb/extract-schema.sh puts it in the cache; without it this test is skipped, saying so.
 */
const cache = labDirs().cache;
const schemaFile = path.join(cache, 'kcidb', 'kcidb-v05_03.schema.json');
const haveSchema = fs.existsSync(schemaFile);

/** The lab's real runs on this machine: lab output, each run directory's matrix.json as `reprolab matrix` wrote it ("latest" is a link to one of them). */
function realRuns(): string[] {
  const root = path.join(cache, 'matrix');
  const dirs = fs.existsSync(root) ? fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
  return dirs.map((e) => path.join(root, e.name, 'matrix.json')).filter((f) => fs.existsSync(f)).sort();
}

/** kcidb-io's own check: Draft7Validator with the format checker; one line per error, and a count. */
const VALIDATE = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
bad = 0
for name in sys.argv[2:]:
    doc = json.load(open(name))
    for e in validator.iter_errors(doc):
        bad += 1
        if bad <= 20:
            print(name + ": " + "/".join(map(str, e.absolute_path)) + ": " + e.message[:300])
    print(name + ": " + str(len(doc.get("checkouts", []))) + " checkouts, " + str(len(doc.get("builds", []))) + " builds, " + str(len(doc.get("tests", []))) + " tests")
print(str(bad) + " error(s)")
sys.exit(1 if bad else 0)
`;

/** python3 with jsonschema: the one on PATH, or Debian's (python3-jsonschema, which reprolab doctor --tests installs). */
async function python(): Promise<string> {
  for (const p of ['python3', '/usr/bin/python3']) {
    const r = await execa(p, ['-c', 'import jsonschema'], { reject: false });
    if (r.exitCode === 0) return p;
  }
  throw new Error('no python3 with jsonschema: install python3-jsonschema (reprolab doctor --tests --install)');
}

const lab = (args: string[]) => execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...args], { cwd: repoRoot, reject: false, timeout: 120_000, stdin: 'ignore' });

describe('KCIDB export against the real v5.3 schema', () => {
  (haveSchema ? it : it.skip)(
    haveSchema ? 'a run with every verdict and every real run on this machine validate' : `skipped: ${schemaFile} not available (run tests/kcidb/extract-schema.sh)`,
    async () => {
      const { root } = await tempDirs();
      const fixture = path.join(root, 'every-verdict', 'matrix.json');
      await fsp.mkdir(path.dirname(fixture));
      await fsp.writeFile(fixture, JSON.stringify(everyVerdictRun()));
      const exports: string[] = [];
      // The fixture alone, then all real runs in one export (the real cache: their bundles' manifests and build logs are read).
      for (const [name, inputs] of [['fixture', [fixture]], ['real', realRuns()]] as const) {
        if (!inputs.length) continue;
        const out = path.join(root, `${name}.kcidb.json`);
        const r = await lab(['report', 'kcidb', ...inputs, '-o', out]);
        expect(r.exitCode, r.stderr).toBe(0);
        exports.push(out);
      }
      const v = await execa(await python(), ['-c', VALIDATE, schemaFile, ...exports], { reject: false });
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toMatch(/^0 error\(s\)$/m);
      await fsp.rm(root, { recursive: true, force: true });
    },
    180_000,
  );
});
