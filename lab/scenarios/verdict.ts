import type { Aggregate, Outcome, Verdict } from '../model/verdict.ts';

export function pairVerdict(unpatched: Outcome, patched?: Outcome): Verdict {
  if (unpatched === 'ERROR' || patched === 'ERROR') return 'ERROR';
  if (patched === undefined) return unpatched === 'FAIL' ? 'REPRODUCED' : 'NOT_REPRODUCED';
  if (unpatched === 'FAIL') return patched === 'PASS' ? 'CONFIRMED' : 'FIX_INEFFECTIVE';
  return patched === 'PASS' ? 'NOT_REPRODUCED' : 'PATCH_REGRESSION';
}

export interface RepeatOutcome {
  unpatched: Outcome;
  patched?: Outcome;
}

/**
 * Verdict over R repeats. An ERROR anywhere makes the whole an ERROR: a run the
 * lab could not judge must never let the patched side look clean. A patched
 * failure in any repeat outweighs its passes; the unpatched symptom counts when
 * it appears at least once (the rate k/R says how often).
 */
export function aggregate(repeats: RepeatOutcome[]): Aggregate {
  const errors = repeats.filter((r) => pairVerdict(r.unpatched, r.patched) === 'ERROR').length;
  const reproduced = repeats.filter((r) => r.unpatched === 'FAIL').length;
  const base = { reproduced, repeats: repeats.length, errors };
  if (repeats.length === 0 || errors > 0) return { verdict: 'ERROR', ...base };
  const paired = repeats.every((r) => r.patched !== undefined);
  const patchedFailed = repeats.some((r) => r.patched === 'FAIL');
  let verdict: Verdict;
  if (!paired) verdict = reproduced > 0 ? 'REPRODUCED' : 'NOT_REPRODUCED';
  else if (patchedFailed) verdict = reproduced > 0 ? 'FIX_INEFFECTIVE' : 'PATCH_REGRESSION';
  else verdict = reproduced > 0 ? 'CONFIRMED' : 'NOT_REPRODUCED';
  return { verdict, ...base };
}

/** ln C(n, k) + k ln p + (n-k) ln(1-p), summed over i = 0..k: P(X <= k) for X ~ Binomial(n, p). */
function binomialCdf(k: number, n: number, p: number): number {
  if (p <= 0) return 1;
  if (p >= 1) return k >= n ? 1 : 0;
  let logC = 0;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    sum += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return Math.min(1, sum);
}

/**
 * One-sided 95% upper confidence bound on a rate after `k` events in `n` trials
 * (Clopper-Pearson). With k = 0 it is 1 - 0.05^(1/n), about 3/n ("rule of three").
 */
export function upperBound95(k: number, n: number): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  if (k === 0) return 1 - Math.pow(0.05, 1 / n);
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}
