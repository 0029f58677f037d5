import type { NetTruth } from '../../fabric/truth.ts';
import { type ProbeResult } from '../../model/scenario-result.ts';
import type { Scenario } from '../types.ts';
import { cannotJudge, lacks, notCounts, type Judgement } from '../judge.ts';
import { emptyTruth, runAgainstNetTruth } from './getifaddrs.ts';

export function judgeMechanism(r: ProbeResult, truth: NetTruth): Judgement {
  const empty = emptyTruth(truth);
  if (empty) return cannotJudge(empty);
  const bad = notCounts(r, ['links', 'addrs']);
  if (bad.length) return cannotJudge(lacks(r, bad));
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
    const { before, runs, byRole } = await runAgainstNetTruth(ctx, 'ifaddrs-mechanism', (v) => [v.variant], judgeMechanism);
    const legacy = byRole('unpatched');
    return { runs, key: { links: before.links.length, addresses: before.addrs.length, firstChunkBytes: Number(legacy?.['firstChunkBytes'] ?? 0), legacyRequests: Number(legacy?.['requests'] ?? 0) } };
  },
};
