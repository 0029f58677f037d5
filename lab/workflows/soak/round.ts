import path from 'node:path';
import { churnShortfall, type ChurnStats } from '../../fabric/guest-ops.ts';
import type { GuestShell } from '../../guest/guest.ts';
import type { BundleManifest } from '../../model/manifest.ts';
import { judgeHang } from '../../scenarios/judges/dumps.ts';
import { runUnderChurn } from '../../scenarios/plan-exec.ts';
import { runProbe, type ProbeRun } from '../../scenarios/probe-exec.ts';
import { probeCall } from '../../scenarios/run-plan.ts';
import type { VariantPlan } from '../../scenarios/types.ts';
import { describeError, LabError } from '../../util/errors.ts';
import { timeout } from '../../util/timeouts.ts';
import type { SoakPlan } from './plan.ts';
import type { MeasuredRound, SoakRound } from './progress.ts';

/** Dumps asked of a round's reader: more than any round can do, so its time budget ends it (and a 32-bit long holds it). */
export const ROUND_ITERATIONS = 1_000_000_000;

/** What every round of one soak shares: the guest, the reader, and where evidence goes. */
export interface RoundContext {
  guest: GuestShell;
  manifest: BundleManifest;
  reader: VariantPlan;
  /** The soak's folder: evidence and console paths are recorded relative to it. */
  outDir: string;
  /** Where each round's probe output goes (r<round>-…txt). */
  evidenceDir: string;
  consoleLog: string;
}

/** A result-line field that is a finite number >= 0, or undefined. */
function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * A round's record from what the reader printed and what the churn did meanwhile. The reader's
 * judge (judgeHang) decides PASS, FAIL (a hang) or ERROR (no dump, a failed dump, one socket set
 * throughout); a churn that did not take effect makes it an ERROR whatever the reader said.
 */
export function judgeRound(plan: SoakPlan, ctx: RoundContext, base: { round: number; startedAt: string }, p: ProbeRun, churned: ChurnStats): SoakRound {
  const where = { evidence: path.relative(ctx.outDir, p.evidence), console: path.relative(ctx.outDir, ctx.consoleLog) };
  const j = judgeHang(p.result, ROUND_ITERATIONS);
  const short = churnShortfall(plan.churn, churned);
  if (short) return { ...base, outcome: 'ERROR', error: `the churn did not take effect: ${short} (the reader said: ${j.symptom})`, ...where };
  if (j.outcome !== 'PASS' && j.outcome !== 'FAIL') return { ...base, outcome: 'ERROR', error: j.symptom, ...where };
  const r = p.result;
  const seconds = finite(r['elapsedMs']);
  if (seconds === undefined) return { ...base, outcome: 'ERROR', error: `the reader's result line has no elapsedMs (got ${JSON.stringify(r['elapsedMs'])})`, ...where };
  const count = (k: string) => {
    const v = r[k];
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
  };
  const measured: MeasuredRound = {
    ...base,
    outcome: j.outcome,
    seconds: seconds / 1000,
    dumps: count('iterations'),
    hangs: count('hangs'),
    errors: j.outcome === 'FAIL' ? count('errors') : 0,
    setChanges: count('setChanges'),
    maxIterationMs: finite(r['maxIterationMs']) ?? 0,
    churn: { rounds: churned.rounds, socketsOpened: churned.socketsOpened, linksAdded: churned.linksAdded, linksDeleted: churned.linksDeleted },
    ...where,
  };
  return measured;
}

/**
 * One round: the churn daemon started, the reader for `budgetMs` (a huge iteration count, so the
 * budget ends it) under the host's own watchdog, the daemon's counters read and it stopped. Never
 * throws: a round that could not run (the guest stopped answering) is an ERROR round saying why.
 */
export async function runRound(plan: SoakPlan, ctx: RoundContext, round: number, budgetMs: number): Promise<SoakRound> {
  const base = { round, startedAt: new Date().toISOString() };
  const call = probeCall(plan.definition, { ...plan.params, iterations: ROUND_ITERATIONS, budgetMs });
  const exec = { guest: ctx.guest, manifest: ctx.manifest, evidenceDir: ctx.evidenceDir, repeat: round };
  try {
    const { result, churned } = await runUnderChurn(ctx.guest, plan.churn, () =>
      runProbe(exec, ctx.reader, call.program, call.argsFor(ctx.reader), { timeoutMs: budgetMs + timeout('hangWatchdogSlack') }),
    );
    return judgeRound(plan, ctx, base, result, churned);
  } catch (err) {
    // A probe that failed kept its output (the error's log): recorded when it is in the soak's folder.
    const log = err instanceof LabError && err.logPath ? path.relative(ctx.outDir, err.logPath) : undefined;
    const evidence = log && !log.startsWith('..') && !path.isAbsolute(log) ? { evidence: log } : {};
    return { ...base, outcome: 'ERROR', error: describeError(err), ...evidence, console: path.relative(ctx.outDir, ctx.consoleLog) };
  }
}
