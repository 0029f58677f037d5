import { readNetTruth, readSocketTruth } from '../fabric/guest-ops.ts';
import type { NetTruth, SocketTruth } from '../fabric/truth.ts';
import { runProbeArgv, type ExecContext, type ProbeRun } from './probe-exec.ts';
import type { BodyStep } from './run-plan.ts';
import type { VariantPlan } from './types.ts';

type Phase = 'before' | 'after';

/** What a repetition's body yielded: the truth read per phase, each probe's run in the order it ran. */
export interface BodyOutputs {
  net: Partial<Record<Phase, NetTruth>>;
  sockets: Partial<Record<Phase, SocketTruth>>;
  probes: { v: VariantPlan; p: ProbeRun }[];
}

/** Runs a repetition's body (run-plan.ts) in the guest over SSH, step by step, in the plan's order. */
export async function runBody(ctx: ExecContext, steps: BodyStep[]): Promise<BodyOutputs> {
  const out: BodyOutputs = { net: {}, sockets: {}, probes: [] };
  for (const s of steps) {
    if (s.kind === 'truth') {
      if (s.truth === 'net') out.net[s.phase] = await readNetTruth(ctx.guest);
      else out.sockets[s.phase] = await readSocketTruth(ctx.guest);
    } else {
      out.probes.push({ v: s.variant, p: await runProbeArgv(ctx, s.variant, s.program, s.argv) });
    }
  }
  return out;
}
