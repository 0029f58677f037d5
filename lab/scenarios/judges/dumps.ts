import { upperBound95 } from '../verdict.ts';
import { runProbe } from '../probe-exec.ts';
import { type ProbeResult } from '../../model/scenario-result.ts';
import { cannotJudge, keyCount, lacks, notCounts, type Judgement } from '../judge.ts';
import { type CodeRepeat } from '../types.ts';
import { type VariantRun } from '../../model/scenario-result.ts';
import { timeout } from '../../util/timeouts.ts';
import { UsageError } from '../../util/errors.ts';

/** B5's field rate (BUGS.md: about once in 30000 calls): a nightly bound is worth stating against it. */
export const FIELD_HANG_RATE = 1 / 30_000;

/** "95% upper bound on the hang rate 3.0e-5, below the field's 3.3e-5" — or above it, said so. */
function rateText(hangs: number, n: number): string {
  const bound = upperBound95(hangs, n);
  const shown = bound < 0.001 ? bound.toExponential(1) : bound.toFixed(4);
  const field = FIELD_HANG_RATE.toExponential(1);
  const against = bound < FIELD_HANG_RATE ? `below the field's ${field}` : hangs > 0 ? `above the field's ${field}` : `not below the field's ${field}: too few dumps to bound it`;
  return `95% upper bound on the hang rate ${shown}, ${against}`;
}

/**
 * A hang is the field symptom (FAIL). PASS needs proof that the dumps were done:
 * the reader's own ok, no dump that failed otherwise, and the iterations asked for
 * — or fewer, when the probe records that the time budget stopped it (shown).
 * A reader whose dumps failed measured no hang rate at all: ERROR, not a pass; so
 * did one whose dumps all saw the same socket set (the churn was not under them).
 */
export function judgeHang(r: ProbeResult, asked: number, fault: Fault = 'none'): Judgement {
  // The mode is what the lab asked (the argv), never the result's echo: an older probe that ignores it is caught here.
  if ((r['fault'] ?? 'none') !== fault) return cannotJudge(`the reader was asked for fault=${fault} and reports fault=${String(r['fault'] ?? 'none')} (a probe built before it knew that mode?)`);
  if (fault === 'continuation') return judgeInjected(r, asked);
  const bad = notCounts(r, ['iterations', 'hangs', 'recoveries', 'errors']);
  if (bad.length) return cannotJudge(lacks(r, bad));
  const n = r['iterations'] as number;
  const hangs = r['hangs'] as number;
  const errors = r['errors'] as number;
  const rate = rateText(hangs, n);
  if (hangs > 0) return { outcome: 'FAIL', symptom: `hangs=${hangs}/${n} (${rate})` };
  if (n === 0) return cannotJudge(`no dump ran (stopped by ${String(r['stoppedBy'] ?? 'unknown')})`);
  if (errors > 0) return cannotJudge(`${errors} of ${n} dumps failed with an error that is not a hang, so no hang rate was measured`);
  if (!r.ok) return cannotJudge('the reader reported ok=false with no hang and no failed dump');
  // "Under churn" is what the verdict claims: dumps that all saw one socket set (by inode) measured no churn.
  const seen = notCounts(r, ['setChanges']);
  if (seen.length) return cannotJudge(lacks(r, seen));
  if (r['setChanges'] === 0) {
    return cannotJudge(`the churn did not take effect: all ${n} dumps saw the same socket set (${String(r['minSockets'])}–${String(r['maxSockets'])} sockets)`);
  }
  let cut = '';
  if (n < asked) {
    if (r['stoppedBy'] !== 'budget') return cannotJudge(`${n} of ${asked} dumps ran and the reader records no budget cut (stopped by ${String(r['stoppedBy'] ?? 'unknown')})`);
    cut = ` of ${asked} asked (the time budget ended the run)`;
  }
  const rec = r['recoveries'] as number;
  return { outcome: 'PASS', symptom: `no hang in ${n} dumps${cut}${rec ? `, ${rec} timeouts recovered` : ''} (${rate})` };
}

/**
 * B5's allocation-failure hypothesis: every dump ran its first recv with failslab armed, so
 * the next chunk's allocation failed. The proof that it fired is ENOBUFS, once per armed dump.
 * FAIL: a reader that read on after it blocked for good (the watchdog). PASS: every dump
 * asked for ended (re-requested, or the kernel went on by itself) and none hung.
 */
export function judgeInjected(r: ProbeResult, asked: number): Judgement {
  if (r['faultReady'] !== true) return cannotJudge(`the allocation failure could not be armed (${String(r['faultError'] ?? 'no faultError')}): the kernel needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS`);
  const bad = notCounts(r, ['iterations', 'hangs', 'recoveries', 'errors', 'armed', 'enobufs']);
  if (bad.length) return cannotJudge(lacks(r, bad));
  const [n, hangs, errors, armed, enobufs, rec] = ['iterations', 'hangs', 'errors', 'armed', 'enobufs', 'recoveries'].map((f) => r[f] as number) as [number, number, number, number, number, number];
  if (armed === 0 || armed !== n) return cannotJudge(`${armed} of ${n} dumps ran with the allocation failure armed`);
  if (enobufs < armed) return cannotJudge(`ENOBUFS came back in ${enobufs} of ${armed} armed dumps: the injected failure did not hit the dump's next chunk`);
  const fired = `the next chunk's allocation failed in ${armed} dumps (ENOBUFS ${enobufs})`;
  if (hangs > 0) return { outcome: 'FAIL', symptom: `hangs=${hangs}/${n}: ${fired}; the reader's recv after ENOBUFS never returned` };
  if (errors > 0) return cannotJudge(`${errors} of ${n} dumps failed with an error that is not a hang (${fired})`);
  if (n < asked) return cannotJudge(`${n} of ${asked} dumps ran (stopped by ${String(r['stoppedBy'] ?? 'unknown')})`);
  const [lo, hi] = [r['minSockets'], r['maxSockets']];
  if (typeof lo !== 'number' || typeof hi !== 'number' || lo < 1) return cannotJudge(`no dump ended with a socket in it (minSockets=${JSON.stringify(lo)}): nothing shows the dumps were read to their end`);
  const how = rec === armed ? `each re-requested after its poll timeout (${rec} recoveries)` : `${rec} re-requested after a poll timeout, the rest went on by themselves`;
  return { outcome: 'PASS', symptom: `no hang in ${n} dumps: ${fired}; every dump ended (${lo}–${hi} sockets), ${how}` };
}

/**
 * What the lab asked the reader for is in its argv (dump-hang MODE ITERATIONS BUDGET_MS …), filled
 * from the parameters or fixed by the definition (dump-hang-enobufs asks 5 dumps whatever
 * --iterations says): the judge holds the result to that, never to the result's own echo.
 */
export function askedOf(args: string[]): { iterations: number; budgetMs: number; fault: Fault } {
  const [iterations, budgetMs, fault] = [Number(args[1]), Number(args[2]), args[5] ?? 'none'];
  if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(budgetMs) || budgetMs < 1 || !isFault(fault)) {
    throw new UsageError(`the dump-hang judge needs the probe's arguments MODE ITERATIONS BUDGET_MS [WATCHDOG_MS POLL_MS none|continuation] with whole numbers (got ${JSON.stringify(args)}): fix the definition's probe.args`);
  }
  return { iterations, budgetMs, fault };
}

/** dump-hang's FAULT argument: none, or failslab around each dump's first recv. */
export type Fault = 'none' | 'continuation';
const isFault = (f: string): f is Fault => f === 'none' || f === 'continuation';

/** B5's code judge: a hang rate per reader under churn (the fabric's), with the host's own watchdog. */
export const dumpHangRepeat: CodeRepeat = async (ctx, probe) => {
  const runs: VariantRun[] = [];
  const key: Record<string, number | string> = {};
  for (const v of ctx.variants) {
    const args = probe.argsFor(v);
    const { iterations, budgetMs, fault } = askedOf(args);
    // The host's own watchdog: a guest that stops answering is an ERROR, never a pass.
    const p = await runProbe(ctx, v, probe.program, args, { timeoutMs: budgetMs + timeout('hangWatchdogSlack') });
    runs.push({ variant: v.variant, role: v.role, ...judgeHang(p.result, iterations, fault), probe: p.result, evidence: p.evidence });
    const [n, hangs] = [keyCount(p.result['iterations']), keyCount(p.result['hangs'])];
    key[`${v.role}Iterations`] = n;
    key[`${v.role}Hangs`] = hangs;
    key[`${v.role}StoppedBy`] = String(p.result['stoppedBy']);
    key[`${v.role}SetChanges`] = keyCount(p.result['setChanges']);
    key[`${v.role}UpperBound95`] = typeof n === 'number' && typeof hangs === 'number' ? Number(upperBound95(hangs, n).toPrecision(3)) : '(missing)';
    if (fault === 'continuation') key[`${v.role}Enobufs`] = keyCount(p.result['enobufs']);
  }
  return { runs, key };
};
