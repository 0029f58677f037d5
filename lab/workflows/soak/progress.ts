import fs from 'node:fs/promises';
import path from 'node:path';
import { Fields, parseJson, readTextFile } from '../../model/fields.ts';
import { LabError } from '../../util/errors.ts';
import { syncPath, writeFileSynced } from '../../util/fs.ts';

/**
 * A soak's progress file, <out>/progress.jsonl: one JSON object per line, a header first, then one
 * line per round appended (and synced) as the round ends. This module is its one writer and its one
 * reader; the reader takes the file as untrusted input (a person, a crash or another program may have
 * changed it), so every field is checked and an error names the file, the line and the field.
 */
export const PROGRESS_FILE = 'progress.jsonl';
export const PROGRESS_KIND = 'reprolab-soak';

export interface SoakHeader {
  kind: typeof PROGRESS_KIND;
  schema: 1;
  scenario: string;
  target: string;
  /** The bundle's key (manifest.json): rounds of another image are not the same measurement. */
  bundle: string;
  /** The reader soaked: the unpatched variant's name (the blocking reader, "legacy", for B5). */
  reader: string;
  started: string;
}

/** What the churn daemon did while a round's reader ran (churnDelta), the proof it ran "under churn". */
export interface RoundChurn {
  rounds: number;
  socketsOpened: number;
  linksAdded: number;
  linksDeleted: number;
}

/** A round that measured: PASS (no hang) or FAIL (a hang, the field symptom). Counted in the totals. */
export interface MeasuredRound {
  round: number;
  startedAt: string;
  outcome: 'PASS' | 'FAIL';
  /** How long the reader dumped (its own elapsedMs), in seconds. */
  seconds: number;
  dumps: number;
  hangs: number;
  /** Dumps that failed otherwise (only in a FAIL round: a PASS has none). */
  errors: number;
  /** Dumps whose socket set differed from the dump before: the churn reached the reader. */
  setChanges: number;
  maxIterationMs: number;
  churn: RoundChurn;
  /** The probe's full output, relative to the soak's folder. */
  evidence: string;
  /** The guest's console log, relative to the soak's folder. */
  console: string;
}

/** A round the lab could not judge (the churn did not take effect, the guest stopped answering): never counted. */
export interface ErrorRound {
  round: number;
  startedAt: string;
  outcome: 'ERROR';
  error: string;
  evidence?: string;
  console: string;
}

export type SoakRound = MeasuredRound | ErrorRound;

export function progressPath(outDir: string): string {
  return path.join(outDir, PROGRESS_FILE);
}

/** Starts a progress file with its header; refuses (EEXIST) to replace one, synced before any round runs. */
export async function createProgress(file: string, header: SoakHeader): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileSynced(file, `${JSON.stringify(header)}\n`, undefined, 'wx');
  await syncPath(path.dirname(file));
}

/** Appends one round as one line in one write, synced: a crash loses at most the round being written. */
export async function appendRound(file: string, round: SoakRound): Promise<void> {
  await writeFileSynced(file, `${JSON.stringify(round)}\n`, undefined, 'a');
}

/** Cuts a torn last line off (readProgress's keptBytes), so the next round's line starts on a line of its own. */
export async function dropTornLine(file: string, keptBytes: number): Promise<void> {
  await fs.truncate(file, keptBytes);
  await syncPath(file);
}

export interface ProgressRead {
  header: SoakHeader;
  rounds: SoakRound[];
  /** The last line had no newline (a crash while it was written): dropped, with the warning to show. */
  torn?: { line: number; warning: string };
  /** The bytes of the complete lines: what is kept when a torn line is dropped. */
  keptBytes: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
/** A path the lab wrote under the soak's folder: relative, no "..", no control characters. */
const REL_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]{1,300}$/;

function readHeader(f: Fields): SoakHeader {
  f.only(['kind', 'schema', 'scenario', 'target', 'bundle', 'reader', 'started']);
  return {
    kind: f.oneOf('kind', [PROGRESS_KIND]),
    schema: f.oneOf('schema', [1]),
    scenario: f.string('scenario', NAME),
    target: f.string('target', NAME),
    bundle: f.string('bundle', /^[A-Za-z0-9._-]{1,128}$/),
    reader: f.string('reader', NAME),
    started: f.isoTime('started'),
  };
}

function readChurn(f: Fields): RoundChurn {
  f.only(['rounds', 'socketsOpened', 'linksAdded', 'linksDeleted']);
  const n = (k: string) => f.integer(k, 0, Number.MAX_SAFE_INTEGER);
  return { rounds: n('rounds'), socketsOpened: n('socketsOpened'), linksAdded: n('linksAdded'), linksDeleted: n('linksDeleted') };
}

function readMeasured(f: Fields, round: number, startedAt: string, outcome: 'PASS' | 'FAIL'): MeasuredRound {
  f.only(['round', 'startedAt', 'outcome', 'seconds', 'dumps', 'hangs', 'errors', 'setChanges', 'maxIterationMs', 'churn', 'evidence', 'console']);
  const n = (k: string, max = Number.MAX_SAFE_INTEGER) => f.integer(k, 0, max);
  const dumps = n('dumps');
  const hangs = n('hangs', dumps);
  // The outcome is the hang count's: a PASS with a hang, or a FAIL without one, is not the lab's line.
  if (outcome === 'PASS' && hangs > 0) f.fail('hangs', '0 in a PASS round', hangs);
  if (outcome === 'FAIL' && hangs === 0) f.fail('hangs', 'at least 1 in a FAIL round', hangs);
  const errors = n('errors', dumps - hangs);
  if (outcome === 'PASS' && errors > 0) f.fail('errors', '0 in a PASS round', errors);
  return {
    round, startedAt, outcome,
    seconds: f.number('seconds', 0, 1e9),
    dumps, hangs, errors,
    setChanges: n('setChanges', dumps),
    maxIterationMs: f.number('maxIterationMs', 0, 1e12),
    churn: readChurn(f.object('churn')),
    evidence: f.string('evidence', REL_PATH),
    console: f.string('console', REL_PATH),
  };
}

function readRound(f: Fields, expected: number): SoakRound {
  const round = f.integer('round', expected, expected);
  const startedAt = f.isoTime('startedAt');
  const outcome = f.oneOf('outcome', ['PASS', 'FAIL', 'ERROR'] as const);
  if (outcome !== 'ERROR') return readMeasured(f, round, startedAt, outcome);
  f.only(['round', 'startedAt', 'outcome', 'error', 'evidence', 'console']);
  const error = f.text('error');
  if (error.length > 20_000) f.fail('error', 'at most 20000 characters', `${error.slice(0, 40)}…`);
  return { round, startedAt, outcome, error, ...(f.has('evidence') ? { evidence: f.string('evidence', REL_PATH) } : {}), console: f.string('console', REL_PATH) };
}

/** The lines of `text` with where each ends, and the unterminated rest (a torn line) apart. */
function splitLines(text: string): { lines: { text: string; end: number }[]; rest: string } {
  const lines: { text: string; end: number }[] = [];
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    lines.push({ text: text.slice(start, nl), end: Buffer.byteLength(text.slice(0, nl + 1)) });
    start = nl + 1;
  }
  return { lines, rest: text.slice(start) };
}

/** The progress file's text, checked line by line (see the module's comment); `file` names it in every error. */
export function parseProgress(file: string, text: string): ProgressRead {
  const { lines, rest } = splitLines(text);
  const torn = rest.length ? { line: lines.length + 1, warning: `${file}: line ${lines.length + 1} was cut short (the soak stopped while writing it): dropped (the round it recorded is not counted)` } : undefined;
  const first = lines[0];
  if (!first) throw new LabError(`${file}:1: no complete header line (the file is empty or was cut short)`, { fix: `remove ${file}, or soak into another --out` });
  const at = (i: number) => `${file}:${i + 1}`;
  const parsed = (i: number) => new Fields(at(i), parseJson(at(i), lines[i]!.text));
  const header = readHeader(parsed(0));
  const rounds = lines.slice(1).map((_, i) => readRound(parsed(i + 1), i + 1));
  return { header, rounds, ...(torn ? { torn } : {}), keptBytes: lines.at(-1)!.end };
}

export async function readProgress(file: string): Promise<ProgressRead> {
  return parseProgress(file, await readTextFile(file, 'cannot be read', `check the permissions of ${file}`));
}
