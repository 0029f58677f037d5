import { churnDelta, readNetTruth, readSocketTruth, startChurn, type Churn, type ChurnStats } from '../fabric/guest-ops.ts';
import type { NetTruth, SocketTruth } from '../fabric/truth.ts';
import type { GuestShell } from '../guest/guest.ts';
import { runProbeArgv, type ExecContext, type ProbeRun } from './probe-exec.ts';
import { churnSteps, type BodyStep, type ChurnSpec, type ChurnStep } from './run-plan.ts';
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

/**
 * The churn steps run live: the daemon, with its counters read as it starts and again as it stops
 * (what it did meanwhile is the live lab's proof that it ran). A daemon still running when this is
 * disposed (a step or the measurement failed) is stopped then, its links removed.
 */
class LiveChurn implements AsyncDisposable {
  private churn: Churn | undefined;
  private start: ChurnStats | undefined;
  /** What the daemon did from its start to its stop. */
  churned: ChurnStats | undefined;

  constructor(private readonly guest: GuestShell) {}

  async run(step: ChurnStep): Promise<void> {
    if (step.kind === 'churn-start') {
      this.churn = await startChurn(this.guest, step.churn);
      this.start = await this.churn.stats();
      return;
    }
    const churn = this.churn;
    if (!churn || !this.start) throw new Error('churn-stop without a churn-start');
    this.churned = churnDelta(this.start, await churn.stats());
    this.churn = undefined;
    await churn.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const churn = this.churn;
    this.churn = undefined;
    await churn?.stop();
  }
}

/**
 * A repetition's measurement with the churn daemon around it, in the order churnSteps (run-plan.ts) gives,
 * over SSH; the daemon is stopped however the measurement ends. Returns the measurement and what the
 * churn did while it ran.
 */
export async function runUnderChurn<T>(guest: GuestShell, spec: ChurnSpec, measure: () => Promise<T>): Promise<{ result: T; churned: ChurnStats }> {
  const { before, after } = churnSteps(spec);
  await using live = new LiveChurn(guest);
  for (const step of before) await live.run(step);
  const result = await measure();
  for (const step of after) await live.run(step);
  if (!live.churned) throw new Error('the churn steps did not stop the churn');
  return { result, churned: live.churned };
}
