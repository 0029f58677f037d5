import { describe, expect, it } from 'vitest';
import { lowerBound95, upperBound95 } from '../../../lab/util/binomial.ts';

describe('the one-sided 95% Clopper-Pearson bounds', () => {
  it('upper: the rule of three with no events, and the published values', () => {
    expect(upperBound95(0, 30000)).toBeCloseTo(9.98e-5, 6);
    expect(upperBound95(0, 1000) * 1000).toBeCloseTo(2.99, 2);
    // Known values: k=1, n=10 → 0.3942; k=2, n=100 → 0.0616.
    expect(upperBound95(1, 10)).toBeCloseTo(0.3942, 3);
    expect(upperBound95(2, 100)).toBeCloseTo(0.0616, 3);
    expect(upperBound95(5, 5)).toBe(1);
  });

  it('lower: closed forms at the edges, and the mirror of the upper bound', () => {
    expect(lowerBound95(0, 5)).toBe(0);
    expect(lowerBound95(3, 3)).toBeCloseTo(Math.pow(0.05, 1 / 3), 9); // 0.368
    expect(lowerBound95(1, 10)).toBeCloseTo(1 - Math.pow(0.95, 1 / 10), 6); // 0.00512
    // Successes and failures swap: lower(k, n) = 1 - upper(n - k, n).
    for (const [k, n] of [[9, 10], [4, 6], [98, 100], [30, 31]] as const) expect(lowerBound95(k, n)).toBeCloseTo(1 - upperBound95(n - k, n), 6);
    expect(lowerBound95(9, 10)).toBeCloseTo(0.6058, 3);
  });
});
