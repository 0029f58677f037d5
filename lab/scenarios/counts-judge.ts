import type { CountsJudge } from '../catalog/scenario-defs.ts';
import type { ProbeResult } from '../model/scenario-result.ts';
import type { NetTruth, SocketTruth } from '../fabric/truth.ts';
import { cannotJudge, lacks, notCounts, type Judgement } from './judge.ts';

/** The numbers a declarative rule compares with, by quantity name (links, addrs, inet, inet6; tcp, udp…). */
export type TruthCounts = Record<string, number>;

export function netCounts(t: NetTruth): TruthCounts {
  return { links: t.links.length, addrs: t.addrs.length, inet: t.addrs.filter((a) => a.family === 'inet').length, inet6: t.addrs.filter((a) => a.family === 'inet6').length, firstLinkChunkBytes: t.firstLinkChunkBytes };
}

export function socketCounts(t: SocketTruth): TruthCounts {
  return { ...t };
}

/**
 * "errno={error} after {requests} requests, sockets {sockets}/{truth.tcp}" with the result line's fields ("?" for an absent one) and the truth's quantities.
 * Own fields only: "{constructor}" or "{truth.toString}" names nothing the probe printed, so it must not reach Object.prototype.
 */
export function fillTemplate(template: string, r: ProbeResult, truth: TruthCounts = {}): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9_.]*)\}/g, (_, f: string) => {
    if (f.startsWith('truth.')) return Object.hasOwn(truth, f.slice(6)) ? String(truth[f.slice(6)] ?? 0) : '0';
    return Object.hasOwn(r, f) && r[f] !== undefined ? String(r[f]) : '?';
  });
}

/**
 * The declarative rule (see CountsJudge): a truth of 0 backs no verdict, a probe's
 * own ok=false is the symptom, a compared field must be a whole number equal to the truth.
 */
export function judgeCounts(rule: CountsJudge, r: ProbeResult, truth: TruthCounts): Judgement {
  const pairs = Object.entries(rule.equal);
  const zero = pairs.filter(([, q]) => !(truth[q]! > 0));
  if (zero.length) return cannotJudge(`the ground truth (${rule.truth}) is empty: ${zero.map(([, q]) => `${q}=${truth[q]}`).join(', ')}: nothing to compare with`);
  if (!r.ok && !rule.countsOnFail) return { outcome: 'FAIL', symptom: fillTemplate(rule.failSymptom, r, truth) };
  const bad = notCounts(r, pairs.map(([f]) => f));
  if (bad.length) return cannotJudge(lacks(r, bad));
  if (!r.ok) return { outcome: 'FAIL', symptom: fillTemplate(rule.failSymptom, r, truth) };
  const shown = pairs.map(([f, q]) => `${f} ${String(r[f])}/${truth[q]}`).join(', ');
  if (pairs.some(([f, q]) => r[f] !== truth[q])) return { outcome: 'FAIL', symptom: `incomplete: ${shown}${r['complete'] === false ? ' (no NLMSG_DONE)' : ''}` };
  return { outcome: 'PASS', symptom: shown };
}
