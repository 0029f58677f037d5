/**
 * What `reprolab report history` found over the kept matrix runs (history.json), and what its page
 * (history.html) is made from. Written beside the page from the same object; nothing reads it back.
 */
import type { Verdict } from './verdict.ts';

export const HISTORY_SCHEMA = 1;

/**
 * A cell in one run: its verdict (ERROR included); SKIPPED when the run planned it and did not run it
 * (a target without sources); NOT_RUN when the run did not plan it (another selection or shard).
 */
export type HistoryMark = Verdict | 'SKIPPED' | 'NOT_RUN';

/** A kept run whose matrix.json was read; `index` numbers the runs oldest first, from 1. */
export interface HistoryRun {
  index: number;
  /** The run directory's name (its start time). */
  name: string;
  file: string;
  startedAt: string;
  /** Wall time of the whole run. */
  durationMs: number;
  /** Cells judged (verdict or ERROR) and cells in the run. */
  judged: number;
  cells: number;
}

/** A kept run whose matrix.json could not be read (still running, missing, corrupt, another schema): said, never fatal. */
export interface UnreadableRun {
  name: string;
  file: string;
  reason: string;
}

/** One cell in one readable run (the runs' order: oldest first). */
export interface HistoryPoint {
  run: number;
  mark: HistoryMark;
  /** The expectation recorded in the cell that run (expect.json). */
  expected?: Verdict;
  /** Judged and not the expected verdict, or no expectation recorded (the cell's asExpected). */
  unexpected?: boolean;
  retried?: boolean;
  /** The cell's one line: the symptom, the error, or why it did not run. */
  summary?: string;
}

export interface CellHistory {
  target: string;
  scenario: string;
  bug: string;
  /** One point per readable run, oldest first. */
  series: HistoryPoint[];
  /** Runs that judged the cell (a verdict or ERROR). */
  judged: number;
  /** Changes between consecutive judged runs (ERROR counts as an outcome; runs that did not judge it are passed over). */
  flips: number;
  /** flips / (judged − 1), 0 with fewer than two judged runs. */
  flakyRate: number;
  /** It changed and changed again: flips ≥ 2. One lasting change is a regression (or a fix), not a flake. */
  flaky: boolean;
  /** The expectation of the newest run that recorded one. */
  expected?: Verdict;
}

/** A stretch of runs in which a cell's verdict (not ERROR) was away from what it should be. */
export interface HistoryRegression {
  target: string;
  scenario: string;
  /** expected: against the cell's expect.json verdict; stable: no expectation, against the verdict it last held two judged runs in a row. */
  against: 'expected' | 'stable';
  from: Verdict;
  /** The first verdict away from it, and the last one seen. */
  to: Verdict;
  latest: Verdict;
  /** The run (index) where it started; sinceOldest: already away in the first kept run that judged the cell, so it may have started earlier. */
  startedRun: number;
  sinceOldest: boolean;
  /** The run where the verdict came back (absent while active). */
  endedRun?: number;
  /** No later run judged it back: still active in the newest run. */
  active: boolean;
}

/** A stretch of runs in which a cell was ERROR: recovered when a later run judged it. */
export interface ErrorEpisode {
  target: string;
  scenario: string;
  startedRun: number;
  /** Runs that judged it ERROR in the stretch. */
  runs: number;
  recoveredRun?: number;
  /** The verdict it recovered to. */
  recoveredTo?: Verdict;
  /** The first ERROR's line. */
  error: string;
}

export interface TargetHistory {
  target: string;
  /** Cells run a second time (an ERROR on the first try), run by run. */
  retries: { run: number; scenario: string; reason: string }[];
  /** uevent USB bursts over the kept runs, those lost to a stalled USB stack, and the runs that had a stall. */
  usb: { bursts: number; stalls: number; runsWithStalls: number[] };
  /** Per run that ran the target: its build (a cache hit is short), its cells' time (retries included), its boots. */
  durations: { run: number; buildMs?: number; cellsMs: number; boots: number }[];
}

export interface HistoryResult {
  schema: typeof HISTORY_SCHEMA;
  kind: 'reprolab-history';
  runsDir: string;
  runs: HistoryRun[];
  unreadable: UnreadableRun[];
  /** Target-major, targets and scenarios in the order of the newest plans. */
  cells: CellHistory[];
  /** Active ones first, then newest first. */
  regressions: HistoryRegression[];
  errors: ErrorEpisode[];
  targets: TargetHistory[];
}
