/**
 * The kept runs as a history, cell by cell: the verdict series, flakes, regressions with the run where
 * each started, ERRORs and their recovery, retries, USB stalls and durations per target. Pure: runs in,
 * a HistoryResult out (history.json and history.html are made from it).
 */
import type { MatrixResult } from '../model/matrix-result.ts';
import type { Verdict } from '../model/verdict.ts';
import {
  HISTORY_SCHEMA,
  type CellHistory,
  type ErrorEpisode,
  type HistoryMark,
  type HistoryPoint,
  type HistoryRegression,
  type HistoryResult,
  type TargetHistory,
  type UnreadableRun,
} from '../model/history-result.ts';
import { usbStallRates } from './usb-stalls.ts';

/** A kept run that was read, in name (time) order. */
export interface KeptRun {
  name: string;
  file: string;
  result: MatrixResult;
}

/** How many judged runs in a row make a verdict "stable" for a cell without an expectation. */
export const STABLE_RUNS = 2;

const isVerdict = (m: HistoryMark): m is Verdict => m !== 'SKIPPED' && m !== 'NOT_RUN';

/** Names in first-seen order, the newest run's plan first: what is planned now leads, what was dropped follows. */
function order(runs: KeptRun[], pick: (r: MatrixResult) => string[]): string[] {
  const seen = new Set<string>();
  for (const r of [...runs].reverse()) for (const n of pick(r.result)) seen.add(n);
  return [...seen];
}

function point(run: number, r: MatrixResult, target: string, scenario: string): HistoryPoint {
  const c = r.cells.find((x) => x.target === target && x.scenario === scenario);
  if (!c) return { run, mark: 'NOT_RUN' };
  const mark: HistoryMark = c.status === 'ran' ? (c.verdict ?? 'ERROR') : 'SKIPPED';
  return {
    run,
    mark,
    ...(c.expected ? { expected: c.expected } : {}),
    ...(isVerdict(mark) && !c.asExpected ? { unexpected: true } : {}),
    ...(c.retried ? { retried: true } : {}),
    summary: c.summary,
  };
}

/** flips: changes between consecutive judged runs; the rate divides them by the chances to change. */
export function flakiness(series: HistoryPoint[]): Pick<CellHistory, 'judged' | 'flips' | 'flakyRate' | 'flaky'> {
  const judged = series.map((p) => p.mark).filter(isVerdict);
  let flips = 0;
  for (let i = 1; i < judged.length; i++) if (judged[i] !== judged[i - 1]) flips++;
  const flakyRate = judged.length > 1 ? flips / (judged.length - 1) : 0;
  return { judged: judged.length, flips, flakyRate, flaky: flips >= 2 };
}

function cellHistory(runs: KeptRun[], target: string, scenario: string): CellHistory | undefined {
  const series = runs.map((r, i) => point(i + 1, r.result, target, scenario));
  if (series.every((p) => p.mark === 'NOT_RUN')) return undefined;
  const bug = [...runs].reverse().flatMap((r) => r.result.cells.filter((c) => c.target === target && c.scenario === scenario))[0]?.bug ?? '';
  const expected = [...series].reverse().find((p) => p.expected)?.expected;
  return { target, scenario, bug, series, ...flakiness(series), ...(expected ? { expected } : {}) };
}

/**
 * Stretches of runs whose verdict was away from what it should be: the cell's expectation that run, or,
 * without one, the verdict it last held STABLE_RUNS judged runs in a row (that baseline does not move
 * while a regression is open: a new verdict that stays is a regression still active, not a new normal).
 * ERROR neither starts nor ends one (it is the lab's trouble, listed as an ERROR episode).
 */
export function regressionsOf(cell: CellHistory): HistoryRegression[] {
  const out: HistoryRegression[] = [];
  let stable: Verdict | undefined;
  let streak: { v: Verdict; n: number } | undefined;
  let open: HistoryRegression | undefined;
  for (const p of cell.series) {
    const v = p.mark;
    if (!isVerdict(v) || v === 'ERROR') continue;
    const base = p.expected ?? stable;
    if (base !== undefined && v !== base) {
      open ??= { target: cell.target, scenario: cell.scenario, against: p.expected ? 'expected' : 'stable', from: base, to: v, latest: v, startedRun: p.run, sinceOldest: false, active: true };
      open.latest = v;
    } else if (base !== undefined && open) {
      out.push({ ...open, endedRun: p.run, active: false });
      open = undefined;
    }
    streak = streak?.v === v ? { v, n: streak.n + 1 } : { v, n: 1 };
    if (streak.n >= STABLE_RUNS && !open) stable = v;
  }
  if (open) out.push(open);
  // Already away in the first kept run that judged the cell: it may have started before the runs kept.
  const firstJudged = cell.series.find((p) => isVerdict(p.mark) && p.mark !== 'ERROR')?.run;
  for (const r of out) r.sinceOldest = r.startedRun === firstJudged;
  return out;
}

/** Consecutive ERROR runs (runs that did not judge the cell are passed over), and the verdict that ended each. */
export function errorEpisodes(cell: CellHistory): ErrorEpisode[] {
  const out: ErrorEpisode[] = [];
  let open: ErrorEpisode | undefined;
  for (const p of cell.series) {
    if (!isVerdict(p.mark)) continue;
    if (p.mark === 'ERROR') {
      if (open) open.runs++;
      else open = { target: cell.target, scenario: cell.scenario, startedRun: p.run, runs: 1, error: (p.summary ?? '').split('\n')[0]! };
    } else if (open) {
      out.push({ ...open, recoveredRun: p.run, recoveredTo: p.mark });
      open = undefined;
    }
  }
  if (open) out.push(open);
  return out;
}

function targetHistory(runs: KeptRun[], target: string): TargetHistory {
  const t: TargetHistory = { target, retries: [], usb: { bursts: 0, stalls: 0, runsWithStalls: [] }, durations: [] };
  runs.forEach(({ result: r }, i) => {
    const run = i + 1;
    const cells = r.cells.filter((c) => c.target === target);
    for (const c of cells) if (c.retried) t.retries.push({ run, scenario: c.scenario, reason: c.retried });
    for (const u of usbStallRates([{ cells }])) {
      t.usb.bursts += u.bursts;
      t.usb.stalls += u.stalls;
      if (u.stalls > 0) t.usb.runsWithStalls.push(run);
    }
    const tr = r.targets.find((x) => x.target === target);
    if (tr?.status !== 'ran') return;
    const cellsMs = cells.reduce((s, c) => s + c.durationMs, 0);
    t.durations.push({ run, ...(tr.buildSeconds !== undefined ? { buildMs: Math.round(tr.buildSeconds * 1000) } : {}), cellsMs, boots: tr.boots });
  });
  return t;
}

/** The history of the kept runs (oldest first) and of those that could not be read. */
export function analyseHistory(runsDir: string, runs: KeptRun[], unreadable: UnreadableRun[] = []): HistoryResult {
  const targets = order(runs, (r) => [...r.plan.targets, ...r.cells.map((c) => c.target)]);
  const scenarios = order(runs, (r) => [...r.plan.scenarios, ...r.cells.map((c) => c.scenario)]);
  const cells = targets.flatMap((t) => scenarios.map((s) => cellHistory(runs, t, s)).filter((c) => c !== undefined));
  const regressions = cells.flatMap((c) => regressionsOf(c)).sort((a, b) => Number(b.active) - Number(a.active) || b.startedRun - a.startedRun);
  return {
    schema: HISTORY_SCHEMA,
    kind: 'reprolab-history',
    runsDir,
    runs: runs.map(({ name, file, result: r }, i) => ({
      index: i + 1,
      name,
      file,
      startedAt: r.startedAt,
      durationMs: r.durationMs,
      judged: r.cells.filter((c) => c.status === 'ran').length,
      cells: r.cells.length,
    })),
    unreadable,
    cells,
    regressions,
    errors: cells.flatMap(errorEpisodes),
    targets: targets.map((t) => targetHistory(runs, t)),
  };
}
