import { readSocketTruth, startChurn } from '../../fabric/guest-ops.ts';
import { upperBound95 } from '../verdict.ts';
import { runProbe } from '../probe-run.ts';
import { type ProbeResult } from '../../model/scenario-result.ts';
import { cannotJudge, lacks, notCounts, type Judgement } from '../judge.ts';
import { type Scenario, type ScenarioContext, type VariantPlan } from '../types.ts';
import { type VariantRun } from '../../model/scenario-result.ts';
import { LabError } from '../../util/errors.ts';
import { timeout } from '../../util/timeouts.ts';

/** PASS only when the reader says it succeeded and counted exactly the (non-empty) sockets the kernel lists. */
export function judgeDump(r: ProbeResult, expected: number): Judgement {
  if (!(expected > 0)) return cannotJudge(`the ground truth (/proc/net/tcp) lists ${expected} sockets: nothing to compare with`);
  const bad = notCounts(r, ['sockets']);
  if (bad.length) return cannotJudge(lacks(r, bad));
  if (!r.ok) {
    const chunk = r.error === 'EMSGSIZE' ? ` (chunk ${String(r['maxChunkBytes'])} B > buffer ${String(r['bufferBytes'])} B)` : '';
    return { outcome: 'FAIL', symptom: `errno=${r.error ?? 'unknown'}${chunk}, sockets ${String(r['sockets'])}/${expected}` };
  }
  if (r['sockets'] !== expected) return { outcome: 'FAIL', symptom: `sockets ${String(r['sockets'])}/${expected}${r['complete'] ? '' : ' (no NLMSG_DONE)'}` };
  return { outcome: 'PASS', symptom: `sockets ${expected}/${expected}` };
}

/**
 * Runs diag-dump once per variant between two reads of /proc/net/tcp, which
 * must agree (the held sockets may not move), and judges each against it.
 */
async function runDumpReaders(ctx: ScenarioContext, argsFor: (v: VariantPlan) => string[]): Promise<{ expected: number; runs: VariantRun[]; byRole: (role: VariantPlan['role']) => ProbeResult | undefined }> {
  const before = (await readSocketTruth(ctx.guest)).tcp;
  const results: { v: VariantPlan; r: ProbeResult; evidence: string }[] = [];
  for (const v of ctx.variants) {
    const p = await runProbe(ctx, v, 'diag-dump', argsFor(v));
    results.push({ v, r: p.result, evidence: p.evidence });
  }
  const after = (await readSocketTruth(ctx.guest)).tcp;
  if (before !== after) throw new LabError(`the guest's TCP socket count moved during the run (${before} → ${after}): no stable ground truth`);
  return {
    expected: before,
    runs: results.map(({ v, r, evidence }) => ({ variant: v.variant, role: v.role, ...judgeDump(r, before), probe: r, evidence })),
    byRole: (role) => results.find((x) => x.v.role === role)?.r,
  };
}

export const dumpRead: Scenario = {
  name: 'dump-read',
  bug: 'B3',
  title: 'a sock_diag dump read once (10000-byte recvfrom) vs read to NLMSG_DONE',
  usesLibc: false,
  defaults: { sockets: 500 },
  fabric: (p) => ({ sockets: [{ kind: 'tcp', count: p.sockets ?? 500 }] }),
  async repeat(ctx) {
    const { expected, runs, byRole } = await runDumpReaders(ctx, (v) => [v.variant === 'legacy' ? 'once' : 'loop']);
    const legacy = byRole('unpatched');
    return { runs, key: { sockets: expected, readOnce: Number(legacy?.['sockets'] ?? 0), firstChunkBytes: Number(legacy?.['firstChunkBytes'] ?? 0) } };
  },
};

export const dumpBuffer: Scenario = {
  name: 'dump-buffer',
  bug: 'B4',
  title: 'a fixed 16384-byte dump buffer (the CRIU shape) vs MSG_PEEK|MSG_TRUNC sizing',
  usesLibc: false,
  defaults: { sockets: 500, buffer: 16384 },
  fabric: (p) => ({ sockets: [{ kind: 'tcp', count: p.sockets ?? 500 }] }),
  async repeat(ctx) {
    const buffer = ctx.params.buffer ?? 16384;
    const { expected, runs, byRole } = await runDumpReaders(ctx, (v) => (v.variant === 'legacy' ? ['fixed-buffer', String(buffer)] : ['loop']));
    const legacy = byRole('unpatched');
    const fixed = byRole('patched');
    // The kernel sizes chunks partly from the reader's buffer: report what each reader was sent.
    return { runs, key: { sockets: expected, buffer, legacyMaxChunkBytes: Number(legacy?.['maxChunkBytes'] ?? 0), maxChunkBytes: Number(fixed?.['maxChunkBytes'] ?? 0) } };
  },
};

/**
 * A hang is the field symptom (FAIL). PASS needs proof that the dumps were done:
 * the reader's own ok, no dump that failed otherwise, and the iterations asked for
 * — or fewer, when the probe records that the time budget stopped it (shown).
 * A reader whose dumps failed measured no hang rate at all: ERROR, not a pass.
 */
export function judgeHang(r: ProbeResult, asked: number): Judgement {
  const bad = notCounts(r, ['iterations', 'hangs', 'recoveries', 'errors']);
  if (bad.length) return cannotJudge(lacks(r, bad));
  const n = r['iterations'] as number;
  const hangs = r['hangs'] as number;
  const errors = r['errors'] as number;
  const bound = upperBound95(hangs, n);
  const rate = `95% upper bound on the hang rate ${bound < 0.001 ? bound.toExponential(1) : bound.toFixed(4)}`;
  if (hangs > 0) return { outcome: 'FAIL', symptom: `hangs=${hangs}/${n} (${rate})` };
  if (n === 0) return cannotJudge(`no dump ran (stopped by ${String(r['stoppedBy'] ?? 'unknown')})`);
  if (errors > 0) return cannotJudge(`${errors} of ${n} dumps failed with an error that is not a hang, so no hang rate was measured`);
  if (!r.ok) return cannotJudge('the reader reported ok=false with no hang and no failed dump');
  let cut = '';
  if (n < asked) {
    if (r['stoppedBy'] !== 'budget') return cannotJudge(`${n} of ${asked} dumps ran and the reader records no budget cut (stopped by ${String(r['stoppedBy'] ?? 'unknown')})`);
    cut = ` of ${asked} asked (the time budget ended the run)`;
  }
  const rec = r['recoveries'] as number;
  return { outcome: 'PASS', symptom: `no hang in ${n} dumps${cut}${rec ? `, ${rec} timeouts recovered` : ''} (${rate})` };
}

export const dumpHang: Scenario = {
  name: 'dump-hang',
  bug: 'B5',
  title: 'thousands of sock_diag dumps under socket and interface churn: blocking vs poll-with-timeout reader',
  usesLibc: false,
  defaults: { sockets: 200, iterations: 2000, budgetMs: 60_000 },
  fabric: (p) => ({ sockets: [{ kind: 'tcp', count: p.sockets ?? 200 }] }),
  async repeat(ctx) {
    const iterations = ctx.params.iterations ?? 2000;
    const budgetMs = ctx.params.budgetMs ?? 60_000;
    // Stopped (and its links removed) when the repeat ends, however it ends.
    await using _churn = await startChurn(ctx.guest, { sockets: 50, links: 4, periodMs: 20 });
    const runs: VariantRun[] = [];
    const key: Record<string, number | string> = {};
    for (const v of ctx.variants) {
      // The host's own watchdog: a guest that stops answering is an ERROR, never a pass.
      const p = await runProbe(ctx, v, 'dump-hang', [v.variant === 'legacy' ? 'blocking' : 'poll', String(iterations), String(budgetMs)], { timeoutMs: budgetMs + timeout('hangWatchdogSlack') });
      runs.push({ variant: v.variant, role: v.role, ...judgeHang(p.result, iterations), probe: p.result, evidence: p.evidence });
      key[`${v.role}Iterations`] = Number(p.result['iterations']);
      key[`${v.role}Hangs`] = Number(p.result['hangs']);
      key[`${v.role}StoppedBy`] = String(p.result['stoppedBy']);
      key[`${v.role}UpperBound95`] = Number(upperBound95(Number(p.result['hangs']), Number(p.result['iterations'])).toPrecision(3));
    }
    return { runs, key };
  },
};
