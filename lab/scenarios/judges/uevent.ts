import { readSeqnum, triggerUevents } from '../../fabric/guest-ops.ts';
import { runUsbBurst } from '../../fabric/usb-burst.ts';
import { formatBurst, parseBurst } from '../../fabric/usb-plan.ts';
import { shellQuote } from '../../util/shell-quote.ts';
import { LabError } from '../../util/errors.ts';
import { Scope } from '../../util/lifetime.ts';
import { writeEvidence } from '../probe-exec.ts';
import { parseResult } from '../result-line.ts';
import { type ProbeResult } from '../../model/scenario-result.ts';
import { formatRanges, missingSeqnums, parseRanges } from '../seqnums.ts';
import { type CodeRepeat, type ScenarioContext, type VariantPlan } from '../types.ts';
import { type VariantRun } from '../../model/scenario-result.ts';
import { cannotJudge, keyCount, lacks, notCounts, type Judgement } from '../judge.ts';

/** PASS only when the listener says it ran clean and saw every SEQNUM of the kernel's (non-empty) delta. */
export function judgeListener(r: ProbeResult, before: number, after: number): Judgement & { lost: number } {
  const unjudged = (why: string) => ({ ...cannotJudge(why), lost: 0 });
  if (!(after > before)) return unjudged(`the kernel's uevent_seqnum did not move (${before} → ${after}): no event to compare with`);
  if (typeof r['seqnums'] !== 'string') return unjudged(`the ${r.probe} result line has no "seqnums" (the listener ${r.ok ? 'recorded nothing' : `failed: ${r.error ?? 'unknown'}`})`);
  const bad = notCounts(r, ['enobufs', 'otherErrors']);
  if (bad.length) return unjudged(lacks(r, bad));
  const otherErrors = r['otherErrors'] as number;
  const missing = missingSeqnums(before, after, parseRanges(r['seqnums']));
  const enobufs = r['enobufs'] as number;
  const gaps = formatRanges(missing);
  const lossText = `lost=${missing.length}/${after - before}${missing.length ? ` gaps=[${gaps.length > 60 ? `${gaps.slice(0, 60)}…` : gaps}]` : ''}`;
  // The field symptom is lost events (ENOBUFS says so); any other receive error with nothing lost is not B2: the lab cannot judge it.
  if (missing.length || enobufs) {
    return { outcome: 'FAIL', symptom: `${enobufs ? `ENOBUFS×${enobufs} ` : ''}${otherErrors ? `other errors×${otherErrors} ` : ''}${lossText}`, lost: missing.length };
  }
  if (otherErrors || !r.ok) return unjudged(`the listener hit receive errors other than ENOBUFS (first ${String(r['firstError'])}, ${otherErrors} others) and lost nothing`);
  return { outcome: 'PASS', symptom: `all ${after - before} SEQNUMs seen`, lost: 0 };
}

const GUEST_TMP = '/tmp/reprolab-uevent';

/** How an ERROR from a stalled USB enumeration begins; the matrix counts these per target. */
export const USB_STALL = "the guest's USB stack stalled";
const DEFAULT_BURST = parseBurst('kbd,storage,mouse,net:10@50ms+enum');

/** Starts both listeners in the background, waits until each has subscribed; `scope` kills each one started. */
async function startListeners(ctx: ScenarioContext, delayUs: number, scope: Scope): Promise<Map<VariantPlan, number>> {
  const pids = new Map<VariantPlan, number>();
  // Whatever ends the repeat (a stalled burst, a failed read), no listener outlives it in the guest.
  scope.defer(() => (pids.size ? ctx.guest.exec(['kill', '-KILL', ...[...pids.values()].map(String)]) : undefined));
  await ctx.guest.exec(['sh', '-c', `rm -rf ${GUEST_TMP}; mkdir -p ${GUEST_TMP}`]);
  for (const v of ctx.variants) {
    const base = `${GUEST_TMP}/${v.variant}`;
    const cmd = `${shellQuote(`${v.probeDir}/uevent-listener`)} ${shellQuote(v.variant)} ${base}.ready ${Math.trunc(delayUs)} > ${base}.out 2>&1 < /dev/null & echo $!`;
    const r = await ctx.guest.exec(['sh', '-c', cmd]);
    const pid = Number(r.stdout.trim());
    if (!Number.isInteger(pid)) throw new LabError(`could not start the ${v.variant} uevent listener: ${r.stderr}`);
    pids.set(v, pid);
  }
  const ready = await ctx.guest.exec(['sh', '-c', `for i in $(seq 1 100); do ok=1; for v in ${ctx.variants.map((v) => v.variant).join(' ')}; do [ -e ${GUEST_TMP}/$v.ready ] || ok=0; done; [ $ok = 1 ] && exit 0; sleep 0.1; done; exit 1`]);
  if (ready.exitCode !== 0) throw new LabError('the uevent listeners did not subscribe within 10 s');
  return pids;
}

async function stopListener(ctx: ScenarioContext, v: VariantPlan, pid: number): Promise<{ result: ProbeResult; evidence: string }> {
  const r = await ctx.guest.exec(['sh', '-c', `kill -TERM ${pid}; for i in $(seq 1 100); do kill -0 ${pid} 2>/dev/null || break; sleep 0.1; done; cat ${GUEST_TMP}/${v.variant}.out`]);
  const evidence = await writeEvidence(ctx, v, 'uevent-listener', r.stdout + r.stderr);
  return { result: parseResult(r.stdout, ctx.manifest.arch, `uevent-listener (${v.variant})`), evidence };
}

/** B2's code judge: both listeners through a real USB hotplug burst (QMP), against the kernel's SEQNUM delta. */
export const ueventRepeat: CodeRepeat = async (ctx) => {
  const burst = ctx.params.burst ?? DEFAULT_BURST;
  await using scope = new Scope();
  const pids = await startListeners(ctx, ctx.params.delayUs ?? 2000, scope);
  const before = await readSeqnum(ctx.guest);
  const usb = await runUsbBurst(ctx.guest, burst, { burstId: `r${ctx.repeat}-${process.pid}-${Date.now().toString(36)}` });
  // A burst the guest never saw tests nothing: that is the lab failing to build the condition (ERROR), not a pass.
  if (usb.enumerationTimedOut) {
    throw new LabError(`${USB_STALL}: ${usb.notEnumerated} of ${usb.added} devices never enumerated while held (+enum), so the burst did not happen as asked`, { logPath: ctx.guest.consoleLog, kind: 'usb-stall' });
  }
  let after = usb.seqnumAfter;
  if (ctx.params.trigger) after = (await triggerUevents(ctx.guest, ctx.params.trigger)).after;
  if (after === before) throw new LabError(`the burst raised no uevents in the guest (${usb.notEnumerated} of ${usb.added} devices never enumerated): nothing to judge`, { logPath: ctx.guest.consoleLog });
  // Give the slow consumers time to drain what they have queued.
  await new Promise((r) => setTimeout(r, 500 + ((after - before) * (ctx.params.delayUs ?? 2000)) / 1000));
  const runs: VariantRun[] = [];
  const key: Record<string, number | string | boolean> = { uevents: after - before, burst: formatBurst(burst), notEnumerated: usb.notEnumerated, usbSettleMs: usb.settleMs };
  for (const v of ctx.variants) {
    const { result, evidence } = await stopListener(ctx, v, pids.get(v)!);
    pids.delete(v);
    const j = judgeListener(result, before, after);
    runs.push({ variant: v.variant, role: v.role, outcome: j.outcome, symptom: j.symptom, probe: { ...result, seqnums: undefined } as ProbeResult, evidence });
    key[`${v.role}Lost`] = j.lost;
    key[`${v.role}Rcvbuf`] = keyCount(result['rcvbuf']);
  }
  if (usb.leftover.length) throw new LabError(`USB devices left attached after the burst: ${usb.leftover.join(', ')}`);
  return { runs, key };
};
