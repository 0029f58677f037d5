import { type ProbeResult } from '../model/scenario-result.ts';
import { type VariantRun } from '../model/scenario-result.ts';

/** What a judge decides about one variant's run. */
export type Judgement = Pick<VariantRun, 'outcome' | 'symptom'>;

/**
 * The lab could not judge: the reader's result line lacks what a verdict needs, or
 * the ground truth is empty. Never a PASS, and never a FAIL that could read as the
 * field symptom.
 */
export function cannotJudge(why: string): Judgement {
  return { outcome: 'ERROR', symptom: `cannot judge: ${why}` };
}

/** The fields of a result line that are not whole numbers >= 0 (absent, NaN, text, negative). */
export function notCounts(r: ProbeResult, fields: string[]): string[] {
  return fields.filter((f) => {
    const v = r[f];
    return typeof v !== 'number' || !Number.isInteger(v) || v < 0;
  });
}

/** "the <probe> result lacks sockets, chunks" — for cannotJudge. */
export function lacks(r: ProbeResult, fields: string[]): string {
  return `the ${r.probe} result line has no whole-number ${fields.join(', ')} (got ${fields.map((f) => `${f}=${JSON.stringify(r[f])}`).join(', ')})`;
}

/**
 * A key number from a probe's result line: the value when it is a finite number, "(missing)" when
 * the line lacks it or holds something else (NaN would be written as null, which no reader accepts).
 */
export function keyCount(v: unknown): number | string {
  return typeof v === 'number' && Number.isFinite(v) ? v : '(missing)';
}
