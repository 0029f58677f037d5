import type { Scenario } from './types.ts';

/** Why a scenario cannot travel in a pack yet (its judging needs the lab), or undefined. */
export function notPackable(s: Scenario): string | undefined {
  const d = s.definition;
  if (!d) return 'it has no definition';
  if ('code' in d.judge && d.judge.code === 'uevent') return 'its USB hotplug burst is driven over QMP by the lab (device_add/device_del and the enumeration wait); run.sh has no QMP client';
  if ('code' in d.judge && d.judge.code === 'dump-hang') return "its judge needs the host's own watchdog on a hung reader; run.sh has none yet";
  if (!d.probe) return 'it names no probe';
  return undefined;
}
