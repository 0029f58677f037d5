import { upperBound95 } from '../../util/binomial.ts';
import type { MeasuredRound, SoakRound } from './progress.ts';

/** A soak's totals over its measured rounds (an ERROR round counts nothing). */
export interface SoakTotals {
  dumps: number;
  /** Seconds the reader dumped, summed over the measured rounds. */
  seconds: number;
  hangs: number;
  /** One-sided 95% Clopper-Pearson upper bound on the hang rate per dump (hangs in dumps); 1 before any dump. */
  bound: number;
  dumpsPerSecond: number;
  /** Measured rounds (PASS and FAIL). */
  rounds: number;
  errorRounds: number;
  /** The rounds that saw a hang. */
  hangRounds: number[];
  /** Dumps whose socket set had changed since the dump before, over the measured rounds. */
  setChanges: number;
  churnRounds: number;
}

export function measured(rounds: SoakRound[]): MeasuredRound[] {
  return rounds.filter((r): r is MeasuredRound => r.outcome !== 'ERROR');
}

export function soakTotals(rounds: SoakRound[]): SoakTotals {
  const m = measured(rounds);
  const sum = (f: (r: MeasuredRound) => number) => m.reduce((a, r) => a + f(r), 0);
  const dumps = sum((r) => r.dumps);
  const hangs = sum((r) => r.hangs);
  // Milliseconds: a sum of many rounds' seconds must not print as 300.00000000000006.
  const seconds = Math.round(sum((r) => r.seconds) * 1000) / 1000;
  return {
    dumps,
    seconds,
    hangs,
    bound: upperBound95(hangs, dumps),
    dumpsPerSecond: seconds > 0 ? Math.round((dumps / seconds) * 10) / 10 : 0,
    rounds: m.length,
    errorRounds: rounds.length - m.length,
    hangRounds: m.filter((r) => r.hangs > 0).map((r) => r.round),
    setChanges: sum((r) => r.setChanges),
    churnRounds: sum((r) => r.churn.rounds),
  };
}

/** A rate bound as people read it: 2.4e-5, or 0.0123 (1 before any dump). */
export function boundText(bound: number): string {
  return bound < 0.001 ? bound.toExponential(1) : bound.toFixed(4);
}

/** The progress line after a round: totals so far, the rate and the bound. */
export function totalsLine(t: SoakTotals): string {
  return `${t.dumps} dumps, ${t.hangs} hang${t.hangs === 1 ? '' : 's'} in ${t.seconds.toFixed(1)} s (${t.dumpsPerSecond.toFixed(1)} dumps/s); 95% upper bound on the hang rate ${boundText(t.bound)}`;
}
