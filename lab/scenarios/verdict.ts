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

/** B5's hang-rate bound (kept here for the scenarios that import it with the verdict). */
export { upperBound95 } from '../util/binomial.ts';
