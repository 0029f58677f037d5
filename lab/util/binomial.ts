/**
 * The lab's one binomial bound: exact one-sided 95% Clopper-Pearson limits on a
 * rate after k events in n trials. B5's hang rate takes the upper one (how often
 * could it still happen?), a bisection's symptom rate the lower one (how rarely
 * could the symptom show, so how likely a clean step missed it?).
 */

/** P(X <= k) for X ~ Binomial(n, p), summed in logs so large n does not overflow. */
function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
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

/** The p in [lo, hi] where `tooHigh(p)` turns true, by bisection (100 halvings: far below any printed digit). */
function solve(lo: number, hi: number, tooHigh: (p: number) => boolean): number {
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tooHigh(mid)) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/** Upper bound: the largest rate under which k or fewer events in n still have a 5% chance. k = 0 gives 1 - 0.05^(1/n), about 3/n. */
export function upperBound95(k: number, n: number): number {
  if (n <= 0 || k >= n) return 1;
  if (k === 0) return 1 - Math.pow(0.05, 1 / n);
  return solve(k / n, 1, (p) => binomialCdf(k, n, p) <= 0.05);
}

/** Lower bound: the smallest rate under which k or more events in n still have a 5% chance. k = n gives 0.05^(1/n). */
export function lowerBound95(k: number, n: number): number {
  if (n <= 0 || k <= 0) return 0;
  if (k >= n) return Math.pow(0.05, 1 / n);
  return solve(0, k / n, (p) => 1 - binomialCdf(k - 1, n, p) > 0.05);
}
