import { UsageError } from '../util/errors.ts';
import { getifaddrs } from './defs/getifaddrs.ts';
import { getifaddrsMechanism } from './defs/getifaddrs-mechanism.ts';
import { dumpBuffer, dumpHang, dumpRead } from './defs/dumps.ts';
import { uevent } from './defs/uevent.ts';
import { SCENARIO_NAMES, type Scenario, type ScenarioName } from './types.ts';

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  getifaddrs,
  'getifaddrs-mechanism': getifaddrsMechanism,
  uevent,
  'dump-read': dumpRead,
  'dump-buffer': dumpBuffer,
  'dump-hang': dumpHang,
};

export function scenarioByName(name: string): Scenario {
  if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown scenario "${name}"`, { fix: `use one of: ${SCENARIO_NAMES.join(', ')}` });
  }
  return SCENARIOS[name as ScenarioName];
}
