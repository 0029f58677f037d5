/** A matrix run (matrix.json): the source of truth every report is made from, and its one reader. */
import path from 'node:path';
import { asUsageError, UsageError } from '../util/errors.ts';
import { Fields, readTextFile } from './fields.ts';
import { VERDICTS, type Verdict } from './verdict.ts';

/** One verdict to produce: a scenario (with all its variants) on a target. */
export interface MatrixCell {
  target: string;
  scenario: string;
}

export interface Shard {
  index: number;
  count: number;
}

/** A cell whose outcome differs between two runs. SKIPPED stands for "did not run". */
export interface VerdictChange {
  target: string;
  scenario: string;
  before: string;
  after: string;
  /** Does the new verdict match <scenario>/expect.json? */
  nowExpected: boolean;
  /** One line for a person: what changed and where to look. */
  detail: string;
}

export interface Comparison {
  previous: { file: string; startedAt: string };
  /**
   * Verdicts that changed between two runs that both judged the cell — any
   * change, since a nightly verdict moving is what someone must look at —
   * and new ERRORs. Listed first; they set the exit code.
   */
  regressions: VerdictChange[];
  /** ERROR before, a verdict now: the infrastructure trouble went away. */
  recovered: VerdictChange[];
  /** Judged before, skipped now (cells outside this run's selection or shard are not compared). */
  dropped: VerdictChange[];
  /** Judged now, not before. */
  added: VerdictChange[];
  unchanged: number;
}

/** How often a target's USB enumeration stalled in the uevent cell, over the runs kept. */
export interface UsbStallRate {
  target: string;
  /** Runs that had a uevent attempt on this target. */
  runs: number;
  /** USB bursts tried: one per repeat of every uevent attempt (a retry is another attempt). */
  bursts: number;
  /** Bursts lost because the guest's USB stack stalled. */
  stalls: number;
}

export const MATRIX_SCHEMA = 1;

/** One try at a cell; a cell has two when the first ended in an infrastructure ERROR. */
export interface CellAttempt {
  verdict: Verdict;
  error?: string;
  /** Repeats this attempt ran, and how many of them ended because the guest's USB stack stalled (uevent). */
  repeats?: number;
  usbStalls?: number;
  evidenceDir?: string;
  durationMs: number;
}

export interface CellVariant {
  variant: string;
  role: 'unpatched' | 'patched';
  outcome: string;
  symptom: string;
  evidence?: string[];
}

export interface MatrixCellResult extends MatrixCell {
  bug: string;
  title: string;
  status: 'ran' | 'skipped';
  /** Absent when skipped. */
  verdict?: Verdict;
  /** From <scenario>/expect.json, when it has this target. */
  expected?: Verdict;
  expectedNote?: string;
  /** Ran and gave the expected verdict. */
  asExpected: boolean;
  /** What a person reads first: the unpatched symptom, the error, or why it was skipped. */
  summary: string;
  rate?: { reproduced: number; repeats: number; errors: number };
  variants: CellVariant[];
  key: Record<string, number | string | boolean>;
  attempts: CellAttempt[];
  /** Set when the cell was run a second time, and why. */
  retried?: string;
  resultFile?: string;
  evidenceDir?: string;
  consoleLog?: string;
  qemu?: string;
  uname?: string;
  digests?: Record<string, string>;
  durationMs: number;
}

export interface MatrixTargetResult {
  target: string;
  /** source-error: a source is present but wrong (digest mismatch, bad override); its cells are ERRORs. */
  status: 'ran' | 'skipped' | 'build-failed' | 'source-error';
  /** One line: why it did not run. The fix for missing sources is in missingSources, said once per report. */
  reason?: string;
  missingSources?: MissingSource[];
  bundleDir?: string;
  bundleKey?: string;
  buildSeconds?: number;
  boots: number;
}

export interface MissingSource {
  archive: string;
  package: string;
  /** Where to get it or put it, as the source resolver said. */
  fix: string;
}

export interface MatrixSweepResult {
  target: string;
  scenario: string;
  axis: string;
  range: string;
  status: 'ran' | 'skipped' | 'error';
  threshold?: number;
  patchedFailures: number[];
  errors: number[];
  points: { value: number; unpatched: string; patched?: string }[];
  svg?: string;
  json?: string;
  error?: string;
}

export interface MatrixPlan {
  targets: string[];
  scenarios: string[];
  sweeps: string[];
  repeat: number;
  params: Record<string, unknown>;
}

/** The source of truth of one matrix run (or of merged shards); every report is made from it. */
export interface MatrixResult {
  schema: typeof MATRIX_SCHEMA;
  kind: 'reprolab-matrix';
  plan: MatrixPlan;
  /** Which shards of the plan this file holds: [{1,1}] for a whole run. */
  shards: Shard[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  jobs: number;
  /** The --timeout-multiplier of the run (of the slowest shard, when merged); absent in older files means 1. */
  timeoutMultiplier?: number;
  host: { hostname: string; cpus: number; memGiB: number };
  outDir: string;
  targets: MatrixTargetResult[];
  cells: MatrixCellResult[];
  sweeps: MatrixSweepResult[];
  comparison?: Comparison;
  /** USB enumeration stalls per target over this run and the kept runs before it. */
  usbStalls?: UsbStallRate[];
}

/** Reads a matrix.json, refusing anything that is not one (with the file and the field). */
export async function loadMatrixResult(file: string): Promise<MatrixResult> {
  const text = await readTextFile(file, 'cannot read it', 'pass the matrix.json of a run (reprolab matrix writes it into its output directory)').catch(asUsage);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not JSON (${(err as Error).message})`, { fix: `pass a matrix.json written by reprolab matrix or report merge, not ${path.basename(file)}` });
  }
  return checkMatrixResult(file, doc);
}

/** A matrix.json is input the user named (a shard from another machine): a bad one is a usage error, exit 2. */
const asUsage = (err: unknown): never => asUsageError(err, (given) => given ?? 'pass a matrix.json written by reprolab matrix or report merge');

/**
 * The whole document, every field a report reads, copied into a new object: a shard's file is untrusted,
 * so a wrong field is one line naming it — never a TypeError halfway through writing the reports.
 */
export function checkMatrixResult(file: string, doc: unknown): MatrixResult {
  const d = doc as Partial<MatrixResult> | null;
  if (!d || typeof d !== 'object' || d.kind !== 'reprolab-matrix') {
    throw new UsageError(`${file}: "kind" must be "reprolab-matrix" — this is not a matrix result`, { fix: 'pass the matrix.json of a run, not a single result.json' });
  }
  if (d.schema !== MATRIX_SCHEMA) {
    throw new UsageError(`${file}: "schema" is ${JSON.stringify(d.schema)}; this lab reads schema ${MATRIX_SCHEMA}`, { fix: 'compare runs made by the same lab version, or re-run the older side' });
  }
  try {
    return readMatrix(new Fields(file, doc));
  } catch (err) {
    return asUsage(err);
  }
}

/** An optional field: read only when present, absent from the copy otherwise. */
function opt<K extends string, T>(f: Fields, key: K, read: (key: K) => T): { [P in K]?: T } {
  return (f.has(key) ? { [key]: read(key) } : {}) as { [P in K]?: T };
}

function readMatrix(f: Fields): MatrixResult {
  const plan = readPlan(f.object('plan'));
  const outDir = f.string('outDir');
  if (!path.isAbsolute(outDir)) f.fail('outDir', 'an absolute path', outDir);
  const host = f.object('host');
  return {
    schema: MATRIX_SCHEMA,
    kind: 'reprolab-matrix',
    plan,
    shards: f.list('shards').map((s) => {
      const count = s.integer('count', 1, 100_000);
      return { index: s.integer('index', 1, count), count };
    }),
    startedAt: f.isoTime('startedAt'),
    finishedAt: f.isoTime('finishedAt'),
    durationMs: f.number('durationMs', 0),
    jobs: f.integer('jobs', 1, 100_000),
    ...opt(f, 'timeoutMultiplier', (k) => f.number(k, 0)),
    host: { hostname: host.text('hostname'), cpus: host.integer('cpus', 0, 1_000_000), memGiB: host.number('memGiB', 0) },
    outDir,
    targets: f.list('targets').map(readTarget),
    cells: f.list('cells').map((c) => readCell(c, plan)),
    sweeps: f.list('sweeps').map(readSweep),
    ...opt(f, 'comparison', (k) => readComparison(f.object(k))),
    ...opt(f, 'usbStalls', (k) =>
      f.list(k).map((u) => ({ target: u.string('target'), runs: u.integer('runs', 0, 1e9), bursts: u.integer('bursts', 0, 1e12), stalls: u.integer('stalls', 0, 1e12) })),
    ),
  };
}

function readPlan(f: Fields): MatrixPlan {
  return { targets: f.strings('targets'), scenarios: f.strings('scenarios'), sweeps: f.strings('sweeps'), repeat: f.integer('repeat', 1, 1e9), params: { ...f.record('params') } };
}

function readTarget(f: Fields): MatrixTargetResult {
  return {
    target: f.string('target'),
    status: f.oneOf('status', ['ran', 'skipped', 'build-failed', 'source-error'] as const),
    ...opt(f, 'reason', (k) => f.text(k)),
    ...opt(f, 'missingSources', (k) => f.list(k).map((m) => ({ archive: m.text('archive'), package: m.text('package'), fix: m.text('fix') }))),
    ...opt(f, 'bundleDir', (k) => f.text(k)),
    ...opt(f, 'bundleKey', (k) => f.text(k)),
    ...opt(f, 'buildSeconds', (k) => f.number(k, 0)),
    boots: f.integer('boots', 0, 1e9),
  };
}

/** A map of scalars (a cell's measured numbers) or of strings (its digests), copied key by key. */
function scalars<T>(f: Fields, key: string, expected: string, ok: (v: unknown) => v is T): Record<string, T> {
  const rec = f.record(key);
  for (const [k, v] of Object.entries(rec)) if (!ok(v)) f.object(key).fail(k, expected, v);
  return Object.fromEntries(Object.entries(rec)) as Record<string, T>;
}

const isScalar = (v: unknown): v is number | string | boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isString = (v: unknown): v is string => typeof v === 'string';

function readCell(f: Fields, plan: MatrixPlan): MatrixCellResult {
  const status = f.oneOf('status', ['ran', 'skipped'] as const);
  const rate = f.has('rate') ? f.object('rate') : undefined;
  return {
    target: f.oneOf('target', plan.targets),
    scenario: f.oneOf('scenario', plan.scenarios),
    bug: f.text('bug'),
    title: f.text('title'),
    status,
    ...(status === 'ran' || f.has('verdict') ? { verdict: f.oneOf('verdict', VERDICTS) } : {}),
    ...opt(f, 'expected', (k) => f.oneOf(k, VERDICTS)),
    ...opt(f, 'expectedNote', (k) => f.text(k)),
    asExpected: f.boolean('asExpected'),
    summary: f.text('summary'),
    ...(rate ? { rate: { reproduced: rate.integer('reproduced', 0, 1e9), repeats: rate.integer('repeats', 0, 1e9), errors: rate.integer('errors', 0, 1e9) } } : {}),
    variants: f.list('variants').map((v) => ({
      variant: v.text('variant'),
      role: v.oneOf('role', ['unpatched', 'patched'] as const),
      outcome: v.oneOf('outcome', OUTCOMES),
      symptom: v.text('symptom'),
      ...opt(v, 'evidence', (k) => v.strings(k)),
    })),
    key: scalars(f, 'key', 'a number, string or boolean', isScalar),
    attempts: f.list('attempts').map(readAttempt),
    ...opt(f, 'retried', (k) => f.text(k)),
    ...opt(f, 'resultFile', (k) => f.text(k)),
    ...opt(f, 'evidenceDir', (k) => f.text(k)),
    ...opt(f, 'consoleLog', (k) => f.text(k)),
    ...opt(f, 'qemu', (k) => f.text(k)),
    ...opt(f, 'uname', (k) => f.text(k)),
    ...opt(f, 'digests', (k) => scalars(f, k, 'a string', isString)),
    durationMs: f.number('durationMs', 0),
  };
}

const OUTCOMES = ['PASS', 'FAIL', 'ERROR'] as const;

function readAttempt(f: Fields): CellAttempt {
  return {
    verdict: f.oneOf('verdict', VERDICTS),
    ...opt(f, 'error', (k) => f.text(k)),
    ...opt(f, 'repeats', (k) => f.integer(k, 0, 1e9)),
    ...opt(f, 'usbStalls', (k) => f.integer(k, 0, 1e9)),
    ...opt(f, 'evidenceDir', (k) => f.text(k)),
    durationMs: f.number('durationMs', 0),
  };
}

function readSweep(f: Fields): MatrixSweepResult {
  return {
    target: f.string('target'),
    scenario: f.string('scenario'),
    axis: f.string('axis'),
    range: f.text('range'),
    status: f.oneOf('status', ['ran', 'skipped', 'error'] as const),
    ...opt(f, 'threshold', (k) => f.number(k, -Number.MAX_VALUE)),
    patchedFailures: f.numbers('patchedFailures'),
    errors: f.numbers('errors'),
    points: f.list('points').map((p) => ({ value: p.number('value', -Number.MAX_VALUE), unpatched: p.oneOf('unpatched', OUTCOMES), ...opt(p, 'patched', (k) => p.oneOf(k, OUTCOMES)) })),
    ...opt(f, 'svg', (k) => f.string(k)),
    ...opt(f, 'json', (k) => f.string(k)),
    ...opt(f, 'error', (k) => f.text(k)),
  };
}

function readComparison(f: Fields): Comparison {
  const previous = f.object('previous');
  const changes = (key: string): VerdictChange[] =>
    f.list(key).map((c) => ({
      target: c.string('target'),
      scenario: c.string('scenario'),
      before: c.oneOf('before', SHOWN),
      after: c.oneOf('after', SHOWN),
      nowExpected: c.boolean('nowExpected'),
      detail: c.text('detail'),
    }));
  return {
    previous: { file: previous.text('file'), startedAt: previous.isoTime('startedAt') },
    regressions: changes('regressions'),
    recovered: changes('recovered'),
    dropped: changes('dropped'),
    added: changes('added'),
    unchanged: f.integer('unchanged', 0, 1e9),
  };
}

/** A verdict as a comparison shows it: SKIPPED stands for "did not run". */
const SHOWN = [...VERDICTS, 'SKIPPED'] as const;
