import { judgeCapabilities } from '../catalog/scenario-defs.ts';
import type { Scenario } from './types.ts';

/** Why a scenario cannot travel in a pack yet (its judging needs the lab), or undefined. */
export function notPackable(s: Scenario): string | undefined {
  const d = s.definition;
  if (!d) return 'it has no definition';
  const why = judgeCapabilities(d.judge).notInPack;
  if (why) return why;
  if (!d.probe) return 'it names no probe';
  return undefined;
}
