import { judgeCapabilities } from '../catalog/scenario-defs.ts';
import type { Scenario } from './types.ts';

/** Why a scenario cannot travel in a pack yet (its judging needs the lab), or undefined. */
export function notPackable(s: Scenario): string | undefined {
  const d = s.definition;
  if (!d) return 'it has no definition';
  const can = judgeCapabilities(d.judge);
  if (can.notInPack) return can.notInPack;
  if ('code' in d.judge && !can.packRule) return `its judge (${d.judge.code}) has no rule in judge.awk`;
  if (!d.probe) return 'it names no probe';
  return undefined;
}
