import type { MatrixCell, Shard } from '../model/matrix-result.ts';
import { parseRange, type SweepAxis, type SweepRange } from '../scenarios/sweep.ts';
import { allScenarios } from '../scenarios/registry.ts';
import { UsageError } from '../util/errors.ts';

export const cellId = (c: MatrixCell): string => `${c.target}/${c.scenario}`;

/** Every target × scenario in a fixed order (targets and scenarios as given). */
export function planMatrix(targets: string[], scenarios: string[]): MatrixCell[] {
  return targets.flatMap((target) => scenarios.map((scenario) => ({ target, scenario })));
}

/** "2/4" → the second of four shards. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard ${text}: expected I/N with 1 <= I <= N`, { fix: 'e.g. --shard 1/2 in one CI job and --shard 2/2 in the other (GitLab: --shard $CI_NODE_INDEX/$CI_NODE_TOTAL)' });
  }
  return { index, count };
}

/**
 * The cells of one shard: round-robin over the full, ordered plan, so every
 * machine that computes the plan from the same selection gets the same split,
 * shards differ in size by at most one cell, and their union is the plan.
 * Items that follow the cells in the plan (the sweeps) pass their position as `offset`.
 */
export function shardCells<T>(items: T[], shard: Shard, offset = 0): T[] {
  return items.filter((_, i) => (offset + i) % shard.count === shard.index - 1);
}

/**
 * VMs to run at once: TCG keeps one host core busy per guest, so never more
 * than the cores; and each guest needs its RAM plus QEMU's own (~200 MiB),
 * of which we allow three quarters of what is free.
 */
export function defaultJobs(cpus: number, freeBytes: number, guestMiB: number): number {
  const perVm = (guestMiB + 200) * 1024 * 1024;
  return Math.max(1, Math.min(cpus, Math.floor((freeBytes * 0.75) / perVm)));
}

/** A sweep the matrix runs on every target after its cells: `getifaddrs-mechanism:0..48:16`. */
export interface SweepRequest {
  scenario: string;
  axis: SweepAxis;
  range: SweepRange;
  text: string;
}

export function parseSweepRequest(text: string): SweepRequest {
  const i = text.indexOf(':');
  const name = i > 0 ? text.slice(0, i) : '';
  const known = allScenarios();
  const axis = known.find((s) => s.name === name)?.definition?.sweep;
  if (!axis) {
    throw new UsageError(`--sweep ${text}: expected SCENARIO:FROM..TO[:STEP] with a scenario that has a sweep parameter`, {
      fix: `e.g. --sweep getifaddrs-mechanism:0..48:16; sweepable: ${known.filter((s) => s.definition?.sweep).map((s) => s.name).join(', ')}`,
    });
  }
  return { scenario: name, axis, range: parseRange(`--sweep ${name}:`, text.slice(i + 1)), text };
}

/** The default nightly sweep: B1's interface count on every target, cheap enough to run each night. */
export const DEFAULT_SWEEPS = ['getifaddrs-mechanism:0..48:16'];
