/**
 * Bisection over an ordered list of revisions (oldest first) with an oracle
 * that builds and runs one of them. Pure logic: the oracle is a function, so
 * the unit tests drive it with fakes (monotone, unbuildable steps, flaky ones).
 */
import { lowerBound95 } from '../../util/binomial.ts';

/** What one step saw: whether it built, and in how many of its repeats the field symptom appeared. */
export interface Observation {
  built: boolean;
  /** Repeats run and judged (PASS or FAIL); 0 when it did not build. */
  repeats: number;
  /** Repeats in which the symptom appeared (FAIL). */
  symptom: number;
  /** Repeats the lab could not judge (ERROR), after the fresh boot it retries on. */
  errors: number;
  /** One line: the build error, or the step's symptom. */
  detail: string;
}

/**
 * A step's class. "skip": did not build (as `git bisect skip`). A repeat that
 * showed the symptom is proof of it, whatever another repeat did; "error": no
 * repeat showed it and one could not be judged — never read as clean.
 */
export type StepState = 'symptom' | 'clean' | 'skip' | 'error';

export function classify(o: Observation): StepState {
  if (!o.built) return 'skip';
  if (o.symptom > 0) return 'symptom';
  if (o.errors > 0 || o.repeats === 0) return 'error';
  return 'clean';
}

export type ListOutcome =
  /** `first` is the first revision that behaves like the newer end. */
  | 'found'
  /** Steps that could not be classified sit between the last old-like and the first new-like revision: the change is one of `candidates`. */
  | 'ambiguous'
  /** Both ends behave alike: nothing to bisect. */
  | 'ends-alike'
  /** An end could not be classified (did not build, or ERROR). */
  | 'end-untestable';

export interface ListResult {
  outcome: ListOutcome;
  oldState?: StepState;
  newState?: StepState;
  /** Index of the last revision that behaves like the old end. */
  lastOld?: number;
  first?: number;
  candidates?: number[];
  /** Indexes in the order they were tested (ends first). */
  tested: number[];
}

/** A step's index and what it is; the list is `0..n-1`, 0 the old end, n-1 the new end. */
export type Oracle = (index: number) => Promise<Observation>;

/**
 * Classic bisection with skips: the old end and the new end are tested first;
 * then the untested revision nearest the middle of the open interval, until
 * the interval is one step wide. Unclassifiable steps are stepped around; if
 * only they remain, the answer is the set they form with the first new-like one.
 */
export async function bisectList(n: number, oracle: Oracle): Promise<ListResult> {
  if (n < 2) throw new Error('bisectList needs two ends');
  const tested: number[] = [];
  const state = new Map<number, StepState>();
  const observe = async (i: number): Promise<StepState> => {
    if (!state.has(i)) {
      state.set(i, classify(await oracle(i)));
      tested.push(i);
    }
    return state.get(i)!;
  };
  const oldState = await observe(0);
  const newState = await observe(n - 1);
  const ends = { oldState, newState, tested };
  for (const s of [oldState, newState]) if (s === 'skip' || s === 'error') return { outcome: 'end-untestable', ...ends };
  if (oldState === newState) return { outcome: 'ends-alike', ...ends };
  let lo = 0;
  let hi = n - 1;
  const unclassified = new Set<number>();
  for (;;) {
    const open: number[] = [];
    for (let i = lo + 1; i < hi; i++) if (!unclassified.has(i)) open.push(i);
    if (open.length === 0) break;
    const middle = (lo + hi) / 2;
    const mid = open.reduce((best, i) => (Math.abs(i - middle) < Math.abs(best - middle) ? i : best), open[0]!);
    const s = await observe(mid);
    if (s === oldState) lo = mid;
    else if (s === newState) hi = mid;
    else unclassified.add(mid);
  }
  const between = [...unclassified].filter((i) => i > lo && i < hi).sort((a, b) => a - b);
  if (between.length === 0) return { outcome: 'found', ...ends, lastOld: lo, first: hi };
  return { outcome: 'ambiguous', ...ends, lastOld: lo, candidates: [...between, hi] };
}

/**
 * How far to trust an answer built on "no symptom" steps. A step of R repeats
 * misses a symptom of rate p with chance (1-p)^R; the answer holds only if no
 * clean step was a miss: Π(1-(1-p)^R). p is taken conservatively, as the
 * one-sided 95% lower bound of the pooled rate of the steps that showed it (k/n),
 * so a few repeats cannot claim certainty (3 of 3 gives p ≥ 0.37, not 1).
 */
export function confidence(obs: Observation[]): { rate: number; rateLow: number; perCleanStepMiss: number[]; confidence: number; flaky: number } {
  const shown = obs.filter((o) => classify(o) === 'symptom');
  const k = shown.reduce((a, o) => a + o.symptom, 0);
  const n = shown.reduce((a, o) => a + o.repeats, 0);
  const rateLow = lowerBound95(k, n);
  const perCleanStepMiss = obs.filter((o) => classify(o) === 'clean').map((o) => (1 - rateLow) ** o.repeats);
  return {
    rate: n ? k / n : 0,
    rateLow,
    perCleanStepMiss,
    confidence: rateLow === 0 ? 0 : perCleanStepMiss.reduce((c, m) => c * (1 - m), 1),
    flaky: shown.filter((o) => o.symptom < o.repeats).length,
  };
}
