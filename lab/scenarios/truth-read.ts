import type { NetTruth, SocketTruth } from '../fabric/truth.ts';
import { runBody, type BodyOutputs } from './plan-exec.ts';
import { truthProbeSteps } from './run-plan.ts';
import { type ProbeResult, type VariantRun } from '../model/scenario-result.ts';
import { type Judgement } from './judge.ts';
import type { ScenarioContext, VariantPlan } from './types.ts';
import { LabError } from '../util/errors.ts';

/** Why a ground truth cannot back a verdict (no link or no address read), or undefined. */
export function emptyTruth(truth: NetTruth): string | undefined {
  if (truth.links.length && truth.addrs.length) return undefined;
  return `the ground truth read in the guest is empty (${truth.links.length} links, ${truth.addrs.length} addresses): nothing to compare with`;
}

export type NetJudge = (r: ProbeResult, t: NetTruth) => Judgement;

/** The truth is read before and after the probes; a probe that matches either saw a consistent kernel. */
export function judgeAgainstEither(judge: NetJudge, r: ProbeResult, before: NetTruth, after: NetTruth): Judgement {
  const first = judge(r, before);
  return first.outcome === 'PASS' ? first : judge(r, after).outcome === 'PASS' ? judge(r, after) : first;
}

export interface TruthRun<T> {
  before: T;
  runs: VariantRun[];
  byRole: (role: VariantPlan['role']) => ProbeResult | undefined;
}

/** The body's probe runs, with the results by role. */
function byRoleOf(probes: BodyOutputs['probes']): TruthRun<unknown>['byRole'] {
  return (role) => probes.find((d) => d.v.role === role)?.p.result;
}

/** Runs `probe` once per variant between two reads of the kernel's links and addresses (run-plan.ts's truthProbeSteps), and judges each against them. */
export async function runAgainstNetTruth(
  ctx: ScenarioContext,
  probe: string,
  argsFor: (v: VariantPlan) => string[],
  judge: NetJudge,
  shown: (r: ProbeResult) => ProbeResult = (r) => r,
): Promise<TruthRun<NetTruth>> {
  const out = await runBody(ctx, truthProbeSteps('net', ctx.variants, probe, argsFor));
  const { before, after } = out.net as Required<BodyOutputs['net']>;
  return {
    before,
    runs: out.probes.map(({ v, p }) => ({ variant: v.variant, role: v.role, ...judgeAgainstEither(judge, p.result, before, after), probe: shown(p.result), evidence: p.evidence })),
    byRole: byRoleOf(out.probes),
  };
}

/**
 * Runs `probe` once per variant between two reads of /proc/net's socket tables,
 * which must agree (the held sockets may not move), and judges each against them.
 */
export async function runAgainstSocketTruth(
  ctx: ScenarioContext,
  probe: string,
  argsFor: (v: VariantPlan) => string[],
  judge: (r: ProbeResult, t: SocketTruth) => Judgement,
  /** The tables the judge compares with: only these must hold still. */
  compared: (keyof SocketTruth)[],
): Promise<TruthRun<SocketTruth>> {
  const out = await runBody(ctx, truthProbeSteps('sockets', ctx.variants, probe, argsFor));
  const { before, after } = out.sockets as Required<BodyOutputs['sockets']>;
  const moved = compared.filter((k) => before[k] !== after[k]);
  if (moved.length) throw new LabError(`the guest's socket counts moved during the run (${moved.map((k) => `${k} ${before[k]} → ${after[k]}`).join(', ')}): no stable ground truth`);
  return {
    before,
    runs: out.probes.map(({ v, p }) => ({ variant: v.variant, role: v.role, ...judge(p.result, before), probe: p.result, evidence: p.evidence })),
    byRole: byRoleOf(out.probes),
  };
}
