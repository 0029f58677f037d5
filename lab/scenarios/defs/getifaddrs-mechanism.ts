import { readNetTruth } from '../../fabric/guest-ops.ts';
import type { NetTruth } from '../../fabric/truth.ts';
import { runProbe } from '../probe-run.ts';
import type { ProbeResult } from '../result-line.ts';
import type { Scenario, VariantRun } from '../types.ts';
import { judgeAgainstEither } from './getifaddrs.ts';

export function judgeMechanism(r: ProbeResult, truth: NetTruth): Pick<VariantRun, 'outcome' | 'symptom'> {
  if (!r.ok) return { outcome: 'FAIL', symptom: `errno=${r.error ?? 'unknown'} after ${String(r['requests'])} requests (first chunk ${String(r['firstChunkBytes'])} B)` };
  if (r['links'] !== truth.links.length || r['addrs'] !== truth.addrs.length) {
    return { outcome: 'FAIL', symptom: `incomplete: links ${String(r['links'])}/${truth.links.length}, addresses ${String(r['addrs'])}/${truth.addrs.length}` };
  }
  return { outcome: 'PASS', symptom: `links ${truth.links.length}/${truth.links.length}, addresses ${truth.addrs.length}/${truth.addrs.length}` };
}

export const getifaddrsMechanism: Scenario = {
  name: 'getifaddrs-mechanism',
  bug: 'B1',
  title: "uClibc's getifaddrs netlink algorithm as application code, beside the peek-sizing fix",
  usesLibc: false,
  defaults: { interfaces: 40 },
  fabric: (p) => ({ interfaces: p.interfaces ?? 40 }),
  async repeat(ctx) {
    const before = await readNetTruth(ctx.guest);
    const done = [];
    for (const v of ctx.variants) done.push({ v, p: await runProbe(ctx, v, 'ifaddrs-mechanism', [v.variant]) });
    const after = await readNetTruth(ctx.guest);
    const runs: VariantRun[] = done.map(({ v, p }) => ({ variant: v.variant, role: v.role, ...judgeAgainstEither(judgeMechanism, p.result, before, after), probe: p.result, evidence: p.evidence }));
    const legacy = done.find((d) => d.v.role === 'unpatched')?.p.result;
    return { runs, key: { links: before.links.length, addresses: before.addrs.length, firstChunkBytes: Number(legacy?.['firstChunkBytes'] ?? 0), legacyRequests: Number(legacy?.['requests'] ?? 0) } };
  },
};
