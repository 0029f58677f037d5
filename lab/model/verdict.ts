/** Outcomes and verdicts: the words every stage uses for what a run decided. */

/** One variant's outcome in one run: ERROR is anything that kept the lab from judging (boot, SSH, timeout, hang of the guest). */
export type Outcome = 'PASS' | 'FAIL' | 'ERROR';

/** ERROR if any is, else FAIL if any is, else PASS: nothing the lab could not judge ever reads as a pass. */
export function worstOutcome(outcomes: Outcome[]): Outcome {
  return outcomes.includes('ERROR') ? 'ERROR' : outcomes.includes('FAIL') ? 'FAIL' : 'PASS';
}

/**
 * The paired verdict of a scenario on one target.
 * REPRODUCED applies when there is no patched variant to compare (a glibc target "as shipped").
 */
export const VERDICTS = ['CONFIRMED', 'NOT_REPRODUCED', 'FIX_INEFFECTIVE', 'PATCH_REGRESSION', 'REPRODUCED', 'ERROR'] as const;

export type Verdict = (typeof VERDICTS)[number];

export interface Aggregate {
  verdict: Verdict;
  /** Repeats in which the unpatched variant showed the symptom, of those judged. */
  reproduced: number;
  repeats: number;
  /** Repeats that ended in ERROR (never counted as passes). */
  errors: number;
}
