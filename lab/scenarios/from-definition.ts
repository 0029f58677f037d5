import type { CodeJudge, CountsJudge, ScenarioDefinition } from '../catalog/scenario-defs.ts';
import { churnShortfall, parseSockets } from '../fabric/guest-ops.ts';
import type { FabricSpec } from '../fabric/fabric.ts';
import { parseBurst } from '../fabric/usb-plan.ts';
import { checkInterfaceCount } from '../fabric/interfaces.ts';
import { LabError } from '../util/errors.ts';
import { judgeCounts, netCounts, socketCounts, type TruthCounts } from './counts-judge.ts';
import { getifaddrsRepeat } from './judges/getifaddrs.ts';
import { dumpHangRepeat } from './judges/dumps.ts';
import { ueventRepeat } from './judges/uevent.ts';
import { runAgainstNetTruth, runAgainstSocketTruth } from './truth-read.ts';
import { fillParams, probeCall, probeVariants, type ChurnSpec } from './run-plan.ts';
import { runUnderChurn } from './plan-exec.ts';
import type { CodeRepeat, RepeatResult, Scenario, ScenarioContext, ScenarioParams } from './types.ts';
import type { SocketTruth } from '../fabric/truth.ts';

const CODE: Record<CodeJudge, CodeRepeat> = { getifaddrs: getifaddrsRepeat, uevent: ueventRepeat, 'dump-hang': dumpHangRepeat };

function paramsOf(def: ScenarioDefinition): ScenarioParams {
  const { burst, ...rest } = def.defaults;
  return { ...(rest as ScenarioParams), ...(typeof burst === 'string' ? { burst: parseBurst(burst) } : {}) };
}

function fabricOf(def: ScenarioDefinition, p: ScenarioParams): FabricSpec {
  const f = def.fabric;
  const interfaces = f.interfaces ? checkInterfaceCount(Number(fillParams(f.interfaces, p))) : undefined;
  return {
    ...(interfaces !== undefined ? { interfaces } : {}),
    ...(f.sockets ? { sockets: parseSockets(fillParams(f.sockets, p)) } : {}),
  };
}

/** The numbers a definition's `key` names, from the truth, the results by role and the parameters. */
function keyOf(def: ScenarioDefinition, truth: TruthCounts, byRole: (r: 'unpatched' | 'patched') => Record<string, unknown> | undefined, p: ScenarioParams): RepeatResult['key'] {
  const key: RepeatResult['key'] = {};
  for (const [name, ref] of Object.entries(def.key)) {
    const [from, field] = ref.split('.') as [string, string];
    const v = from === 'truth' ? truth[field] : from === 'param' ? (p as Record<string, unknown>)[field] : byRole(from as 'unpatched')?.[field];
    key[name] = typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : 0;
  }
  return key;
}

/** A declarative scenario's repetition: the probe per variant between two truth reads, judged by the counts rule. */
function countsRepeat(def: ScenarioDefinition, rule: CountsJudge): CodeRepeat {
  return async (given, probe) => {
    const ctx = { ...given, variants: probeVariants(def.variants === 'libc', given.variants) };
    if (rule.truth === 'net') {
      const t = await runAgainstNetTruth(ctx, probe.program, probe.argsFor, (r, truth) => judgeCounts(rule, r, netCounts(truth)));
      return { runs: t.runs, key: keyOf(def, netCounts(t.before), t.byRole, ctx.params) };
    }
    const compared = [...new Set(Object.values(rule.equal))] as (keyof SocketTruth)[];
    const t = await runAgainstSocketTruth(ctx, probe.program, probe.argsFor, (r, truth) => judgeCounts(rule, r, socketCounts(truth)), compared);
    return { runs: t.runs, key: keyOf(def, socketCounts(t.before), t.byRole, ctx.params) };
  };
}

/**
 * One repetition with the churn daemon running, in the run plan's order (runUnderChurn: started before,
 * stopped and its links removed after, however it ends). "Under churn" is part of the proof: when the
 * daemon's counters show it did not work while the probes ran, no variant's result stands — each is an
 * ERROR that says so.
 */
async function underChurn(spec: ChurnSpec, ctx: ScenarioContext, measure: () => Promise<RepeatResult>): Promise<RepeatResult> {
  const { result, churned: d } = await runUnderChurn(ctx.guest, spec, measure);
  const key = { ...result.key, churnRounds: d.rounds, churnSocketsOpened: d.socketsOpened, churnLinksAdded: d.linksAdded };
  const short = churnShortfall(spec, d);
  if (!short) return { runs: result.runs, key };
  return { runs: result.runs.map((r) => ({ ...r, outcome: 'ERROR', symptom: `the churn did not take effect: ${short} (the reader said: ${r.symptom})` })), key };
}

/** One definition (built-in or a user's) as the Scenario every command runs. */
export function scenarioFromDefinition(def: ScenarioDefinition): Scenario {
  const inner = 'code' in def.judge ? CODE[def.judge.code] : countsRepeat(def, def.judge);
  let defaults: ScenarioParams;
  // Checked on load: a socket spec, a burst or an interface count that does not parse is the definition's error.
  try {
    defaults = paramsOf(def);
    fabricOf(def, defaults);
  } catch (err) {
    throw new LabError(`${def.file}: defaults/fabric: ${(err as Error).message}`, { fix: `edit ${def.file}` });
  }
  return {
    name: def.name,
    bug: def.bug,
    title: def.title,
    usesLibc: def.variants === 'libc',
    defaults,
    fabric: (p) => fabricOf(def, p),
    async repeat(ctx: ScenarioContext) {
      if (!def.fabric.churn) return inner(ctx, probeCall(def, ctx.params));
      return underChurn(def.fabric.churn, ctx, () => inner(ctx, probeCall(def, ctx.params)));
    },
    definition: def,
  };
}
