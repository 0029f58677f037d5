/** A matrix run (matrix.json): the source of truth every report is made from, and its one reader. */
import { LabError } from '../util/errors.ts';
import { readTextFile } from './fields.ts';
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
  const text = await readTextFile(file, 'cannot read it', 'pass the matrix.json of a run (reprolab matrix writes it into its output directory)');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new LabError(`${file}: not JSON (${(err as Error).message})`);
  }
  return checkMatrixResult(file, doc);
}

export function checkMatrixResult(file: string, doc: unknown): MatrixResult {
  const d = doc as Partial<MatrixResult> | null;
  if (!d || typeof d !== 'object' || d.kind !== 'reprolab-matrix') {
    throw new LabError(`${file}: "kind" must be "reprolab-matrix" — this is not a matrix result`, { fix: 'pass the matrix.json of a run, not a single result.json' });
  }
  if (d.schema !== MATRIX_SCHEMA) {
    throw new LabError(`${file}: "schema" is ${JSON.stringify(d.schema)}; this lab reads schema ${MATRIX_SCHEMA}`, { fix: 'compare runs made by the same lab version, or re-run the older side' });
  }
  if (!Array.isArray(d.cells)) throw new LabError(`${file}: "cells" must be an array`);
  d.cells.forEach((c, i) => {
    if (!c || typeof c.target !== 'string' || typeof c.scenario !== 'string') throw new LabError(`${file}: cells[${i}] needs "target" and "scenario"`);
    if (c.status !== 'ran' && c.status !== 'skipped') throw new LabError(`${file}: cells[${i}].status must be "ran" or "skipped" (got ${JSON.stringify(c.status)})`);
    if (c.status === 'ran' && !VERDICTS.includes(c.verdict as Verdict)) {
      throw new LabError(`${file}: cells[${i}].verdict must be one of ${VERDICTS.join(', ')} (got ${JSON.stringify(c.verdict)})`);
    }
  });
  if (!d.plan || !Array.isArray(d.plan.targets) || !Array.isArray(d.plan.scenarios)) throw new LabError(`${file}: "plan" must list "targets" and "scenarios"`);
  if (!Array.isArray(d.shards)) throw new LabError(`${file}: "shards" must be an array`);
  return d as MatrixResult;
}
