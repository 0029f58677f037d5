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

/** Why a scenario cannot run as a LAVA job (it runs the pack's guest.sh and judge.awk in a test shell), or undefined. */
export function notOnLava(s: Scenario): string | undefined {
  const d = s.definition;
  if (!d) return 'it has no definition';
  const why = judgeCapabilities(d.judge).notOnLava;
  if (why) return why;
  // Its probes are built beside the image, not in it: the LAVA ramdisk carries the image's own.
  if (d.probesDir) return 'its own probes are built beside the image, and a LAVA ramdisk carries only the image (pack it with reprolab repro pack instead)';
  return notPackable(s);
}
