import { judgeCapabilities, type ScenarioDefinition } from '../../catalog/scenario-defs.ts';
import type { BundleManifest } from '../../model/manifest.ts';
import type { ChurnSpec } from '../../scenarios/run-plan.ts';
import type { Scenario, ScenarioParams, VariantPlan } from '../../scenarios/types.ts';
import { planVariants } from '../../scenarios/variants.ts';
import { allScenarios } from '../../scenarios/registry.ts';
import { UsageError } from '../../util/errors.ts';

/** What a soak runs: a scenario whose judge soaks (judgeCapabilities), its probe and the churn it runs under. */
export interface SoakPlan {
  scenario: Scenario;
  definition: ScenarioDefinition;
  churn: ChurnSpec;
  /** The scenario's defaults: the fabric (held sockets) is built from these. */
  params: ScenarioParams;
}

/** The scenarios a soak accepts, for the message that refuses another. */
function soakable(): string[] {
  return allScenarios().filter((s) => s.definition && judgeCapabilities(s.definition.judge).soaks && s.definition.fabric.churn).map((s) => s.name);
}

/**
 * A soak needs a judge that counts dumps and hangs in a time budget (the table says which: `soaks`)
 * and a churn to run it under; anything else is refused as bad input, naming what can soak.
 */
export function soakPlan(scenario: Scenario): SoakPlan {
  const def = scenario.definition;
  const fix = `soak one of: ${soakable().join(', ') || '(none)'}`;
  if (!def || !judgeCapabilities(def.judge).soaks) {
    const judge = !def ? 'no definition' : 'code' in def.judge ? `the ${def.judge.code} judge` : `the counts rule (${def.judge.truth} truth)`;
    throw new UsageError(`scenario ${scenario.name} cannot soak: its judge (${judge}) does not count dumps and hangs in a time budget`, { fix });
  }
  if (!def.fabric.churn) throw new UsageError(`scenario ${scenario.name} cannot soak: its fabric has no churn, and a soak measures under churn`, { fix: `${fix}, or give ${def.file} a fabric "churn"` });
  return { scenario, definition: def, churn: def.fabric.churn, params: scenario.defaults };
}

/** The reader a soak runs: the scenario's unpatched variant (B5's blocking reader). */
export function soakReader(plan: SoakPlan, manifest: BundleManifest): VariantPlan {
  return planVariants(plan.scenario, manifest).find((v) => v.role === 'unpatched')!;
}
