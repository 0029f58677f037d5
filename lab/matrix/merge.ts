import { usbStallRates } from './usb-stalls.ts';
import { UsageError } from '../util/errors.ts';
import { cellId, planMatrix } from './plan.ts';
import { MATRIX_SCHEMA, type MatrixResult, type MatrixTargetResult } from '../model/matrix-result.ts';

const planKey = (r: MatrixResult): string => JSON.stringify(r.plan);

/**
 * Joins the shards of one plan into one result, as if one machine had run it:
 * the shards must come from the same plan, not overlap, and together cover it.
 * Shards that do not fit together are bad input (a usage error, exit 2), like a bad shard file.
 */
export function mergeShards(parts: { file: string; result: MatrixResult }[], outDir: string): MatrixResult {
  if (parts.length === 0) throw new UsageError('report merge: no shard results given', { fix: 'reprolab report merge shard1/matrix.json shard2/matrix.json …' });
  const [first] = parts as [{ file: string; result: MatrixResult }];
  for (const p of parts.slice(1)) {
    if (planKey(p.result) !== planKey(first.result)) {
      throw new UsageError(`${p.file}: its plan differs from ${first.file}'s (targets, scenarios, sweeps, repeat or parameters)`, {
        fix: 'merge only shards of one matrix command line, run with the same --targets, --scenarios, --repeat and parameters',
      });
    }
  }
  const owner = new Map<string, string>();
  const shardSeen = new Map<string, string>();
  for (const p of parts) {
    for (const s of p.result.shards) {
      const k = `${s.index}/${s.count}`;
      if (shardSeen.has(k)) throw new UsageError(`shard ${k} is in both ${shardSeen.get(k)} and ${p.file}`, { fix: 'pass each shard once' });
      shardSeen.set(k, p.file);
    }
    for (const c of p.result.cells) {
      const id = cellId(c);
      if (owner.has(id)) throw new UsageError(`${id} is in both ${owner.get(id)} and ${p.file}`, { fix: 'pass each shard once' });
      owner.set(id, p.file);
    }
  }
  const plan = first.result.plan;
  const ordered = planMatrix(plan.targets, plan.scenarios);
  const missing = ordered.filter((c) => !owner.has(cellId(c)));
  if (missing.length) {
    const counts = [...new Set(parts.flatMap((p) => p.result.shards.map((s) => s.count)))];
    throw new UsageError(`the shards do not cover the plan: ${missing.length} cell(s) missing, e.g. ${cellId(missing[0]!)}`, {
      fix: `merge all ${counts.join(' or ')} shards (have ${[...shardSeen.keys()].join(', ')})`,
    });
  }
  const byId = new Map(parts.flatMap((p) => p.result.cells.map((c) => [cellId(c), c] as const)));
  const targets = new Map<string, MatrixTargetResult>();
  for (const t of parts.flatMap((p) => p.result.targets)) {
    const seen = targets.get(t.target);
    if (!seen) targets.set(t.target, { ...t });
    else {
      seen.boots += t.boots;
      if (t.buildSeconds !== undefined) seen.buildSeconds = Math.max(seen.buildSeconds ?? 0, t.buildSeconds);
      if (seen.status === 'ran' && t.status !== 'ran') Object.assign(seen, { status: t.status, reason: t.reason });
    }
  }
  const cells = ordered.map((c) => byId.get(cellId(c))!);
  const started = Math.min(...parts.map((p) => Date.parse(p.result.startedAt)));
  const finished = Math.max(...parts.map((p) => Date.parse(p.result.finishedAt)));
  return {
    schema: MATRIX_SCHEMA,
    kind: 'reprolab-matrix',
    plan,
    shards: parts.flatMap((p) => p.result.shards).sort((a, b) => a.index - b.index),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    // Shards run side by side on separate machines: the merged wall time is the longest shard's.
    durationMs: Math.max(...parts.map((p) => p.result.durationMs)),
    jobs: Math.max(...parts.map((p) => p.result.jobs)),
    timeoutMultiplier: Math.max(...parts.map((p) => p.result.timeoutMultiplier ?? 1)),
    host: first.result.host,
    outDir,
    targets: plan.targets.map((t) => targets.get(t)).filter((t): t is MatrixTargetResult => !!t),
    cells,
    sweeps: parts.flatMap((p) => p.result.sweeps),
    // Each shard counted its own history; the merged run counts what it holds.
    usbStalls: usbStallRates([{ cells }]),
  };
}
