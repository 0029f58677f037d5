import { judgeCapabilities, type ScenarioDefinition } from '../catalog/scenario-defs.ts';
import { fabricSteps, type FabricStep } from '../fabric/fabric-plan.ts';
import { LabError } from '../util/errors.ts';
import type { ProbeCall, ScenarioParams, Scenario, VariantPlan } from './types.ts';
import { probeDirFor } from './variants.ts';

export type TruthKind = 'net' | 'sockets';
export type ChurnSpec = NonNullable<ScenarioDefinition['fabric']['churn']>;

/**
 * One step of a repetition's body, as data: the live lab runs it over SSH
 * (plan-exec.ts), a repro pack renders it as sh, LAVA as a test definition.
 */
export type BodyStep =
  | { kind: 'truth'; phase: 'before' | 'after'; truth: TruthKind }
  | { kind: 'probe'; variant: VariantPlan; program: string; argv: string[] };

/** The churn daemon's steps in a repetition (churnSteps says where they go). */
export type ChurnStep = { kind: 'churn-start'; churn: ChurnSpec } | { kind: 'churn-stop' };

/** A repetition's steps: its body with the churn around it. */
export type RepeatStep = BodyStep | ChurnStep;

/** What runs in the guest for a scenario: the fabric once, then the repetition `repeats` times. */
export interface RunPlan {
  fabric: FabricStep[];
  repeat: RepeatStep[];
  repeats: number;
}

/** A probe between two reads of the ground truth: the truth before, each variant's probe in the variants' order, the truth after. */
export function truthProbeSteps(truth: TruthKind, variants: VariantPlan[], program: string, argsFor: (v: VariantPlan) => string[]): BodyStep[] {
  return [
    { kind: 'truth', phase: 'before', truth },
    ...variants.map((v): BodyStep => ({ kind: 'probe', variant: v, program, argv: [`${v.probeDir}/${program}`, ...argsFor(v)] })),
    { kind: 'truth', phase: 'after', truth },
  ];
}

/**
 * Where the churn goes in a repetition: its daemon starts before the body and stops after it (no steps
 * without a churn). The one place that says so: the plan (withChurn) and the live lab (plan-exec.ts's
 * runUnderChurn, around code judges that have no plan too) both take the order from here.
 */
export function churnSteps(churn: ChurnSpec | undefined): { before: ChurnStep[]; after: ChurnStep[] } {
  return churn ? { before: [{ kind: 'churn-start', churn }], after: [{ kind: 'churn-stop' }] } : { before: [], after: [] };
}

/** The body with the churn daemon around it, when the scenario has one. */
export function withChurn(body: BodyStep[], churn: ChurnSpec | undefined): RepeatStep[] {
  const { before, after } = churnSteps(churn);
  return [...before, ...body, ...after];
}

/** A libc scenario on a uClibc image runs the dynamically linked probe: it loads the variant's own libc.so, as a product's programs do. */
export function probeVariants(usesLibc: boolean, variants: VariantPlan[]): VariantPlan[] {
  return variants.map((v) => ({ ...v, probeDir: probeDirFor(usesLibc, v) }));
}

/** The truth a scenario's probe is judged against, when its repetition is a probe between two truth reads (counts rules, a code judge with a pack rule). */
export function planTruth(def: ScenarioDefinition): TruthKind | undefined {
  return 'code' in def.judge ? judgeCapabilities(def.judge).packRule?.truth : def.judge.truth;
}

/** A definition's probe with its arguments for each role, the parameters filled in. */
export function probeCall(def: ScenarioDefinition, params: ScenarioParams): ProbeCall {
  const probe = def.probe;
  return { program: probe?.program ?? '', argsFor: (v) => (probe ? probe.args[v.role].map((a) => fillParams(a, params)) : []) };
}

/** A definition's whole run as data (what a pack or a LAVA job runs); its judge must read a probe between two truth reads. */
export function scenarioPlan(s: Scenario, variants: VariantPlan[], params: ScenarioParams, repeats: number): RunPlan {
  const def = s.definition;
  const truth = def ? planTruth(def) : undefined;
  if (!def?.probe || !truth) throw new LabError(`${s.name}: its repetition is not a probe between two truth reads, so it has no run plan`);
  const probe = probeCall(def, params);
  const body = truthProbeSteps(truth, probeVariants(s.usesLibc, variants), probe.program, probe.argsFor);
  return { fabric: fabricSteps(s.fabric(params)), repeat: withChurn(body, def.fabric.churn), repeats };
}

/** "{buffer}" → the parameter's value (the loader allows only numeric parameters in templates). */
export function fillParams(template: string, params: ScenarioParams): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const v = (params as Record<string, unknown>)[name];
    if (v === undefined) throw new LabError(`the scenario template "${template}" names {${name}}, which has no value`);
    return String(v);
  });
}
