import { MAX_INTERFACES } from '../fabric/interfaces.ts';
import { parseBurst } from '../fabric/usb-plan.ts';
import { scenarioByName, scenarioNames } from '../scenarios/registry.ts';
import type { Scenario, ScenarioParams } from '../scenarios/types.ts';
import { commaList, flagged, whole } from './input.ts';

export interface ParamOptions {
  interfaces?: string;
  burst?: string;
  trigger?: string;
  delayUs?: string;
  sockets?: string;
  buffer?: string;
  iterations?: string;
  budgetMs?: string;
}

/** Command-line knobs → scenario parameters, checked before anything boots. */
export function scenarioParams(o: ParamOptions): ScenarioParams {
  return {
    ...(o.interfaces !== undefined ? { interfaces: whole('--interfaces', o.interfaces, 0, MAX_INTERFACES) } : {}),
    ...(o.burst !== undefined ? { burst: flagged('--burst', o.burst, parseBurst) } : {}),
    ...(o.trigger !== undefined ? { trigger: whole('--trigger', o.trigger, 0, 1_000_000) } : {}),
    ...(o.delayUs !== undefined ? { delayUs: whole('--delay-us', o.delayUs, 0, 10_000_000) } : {}),
    ...(o.sockets !== undefined ? { sockets: whole('--sockets', o.sockets, 1, 20_000) } : {}),
    ...(o.buffer !== undefined ? { buffer: whole('--buffer', o.buffer, 64, 1 << 20) } : {}),
    ...(o.iterations !== undefined ? { iterations: whole('--iterations', o.iterations, 1, 100_000_000) } : {}),
    ...(o.budgetMs !== undefined ? { budgetMs: whole('--budget-ms', o.budgetMs, 1000, 24 * 3600_000) } : {}),
  };
}

/** The scenario knobs every scenario command accepts. */
export const PARAM_FLAGS: [string, string][] = [
  ['--interfaces <n>', 'B1: links created before the probes run (default 40)'],
  ['--burst <spec>', 'B2: USB hotplug burst (default kbd,storage,mouse,net:10@50ms+enum)'],
  ['--trigger <n>', 'B2: also write "add" to a sysfs uevent file n times'],
  ['--delay-us <n>', 'B2: per-event processing time of the listeners (default 2000)'],
  ['--sockets <n>', 'B3-B5: TCP sockets held open (default 500; 200 for B5)'],
  ['--buffer <bytes>', 'B4: the fixed reader buffer (default 16384)'],
  ['--iterations <n>', 'B5 (dump-hang): dumps per reader (default 100000)'],
  ['--budget-ms <ms>', 'B5 (dump-hang): time budget per reader (default 240000)'],
];

/** --scenarios a,b as scenarios (each name checked, exit 2 naming it); every one known when absent. */
export function scenariosOption(value: string | undefined): Scenario[] {
  return (value ? commaList(value) : scenarioNames()).map((n) => flagged('--scenarios', n, scenarioByName));
}
