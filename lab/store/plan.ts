import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs/promises';
import path from 'node:path';
import { exists } from '../util/fs.ts';

/** One step of a build as planned: its store key, and whether (and why) it must run. */
export interface PlannedStep {
  /** The store step (kernel, probes, the source package…) and, when the build names it more precisely, its phase. */
  step: string;
  phase?: string;
  key: string;
  dir: string;
  run: boolean;
  /** Why it must run (which input changed, or what it waits for), or why not. */
  why: string;
}

/**
 * A dry run of a build: the same code computes the same keys, but the store
 * builds nothing — each step is recorded as a hit or as work to do. A step
 * whose input is the content of a step that must run first (the rootfs digest
 * linked into a kernel) gets a pending value, so it is planned as "after" it.
 */
export class Planner {
  readonly steps: PlannedStep[] = [];
  /** The build's name for what it is doing now (uclibc-patched, probes-unpatched…), set by the caller. */
  phase: string | undefined;

  /** Runs `fn` with this planner in force: the store records instead of building. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return context.run(this, fn);
  }

  /** Records one step; returns whether it is cached, and the directory dependants see (pending while it waits). */
  async record(storeRoot: string, step: string, inputs: unknown, key: string, dir: string): Promise<{ hit: boolean; dir: string }> {
    const text = JSON.stringify(inputs);
    const waits = [...new Set([...text.matchAll(/<pending: ([^>]+)>/g)].map((m) => m[1]!))];
    if (waits.length) {
      this.add({ step, key: '(not known yet)', dir: pending(step), run: true, why: `its inputs include the output of ${waits.join(', ')}, which must run first` });
      return { hit: false, dir: pending(step) };
    }
    if (await exists(path.join(dir, '.complete'))) {
      this.add({ step, key, dir, run: false, why: 'cached: nothing it depends on changed' });
      return { hit: true, dir };
    }
    this.add({ step, key, dir, run: true, why: await whyNew(path.join(storeRoot, step), inputs) });
    return { hit: false, dir };
  }

  private add(s: PlannedStep): void {
    this.steps.push(this.phase && this.phase !== s.step ? { ...s, phase: this.phase } : s);
  }
}

const context = new AsyncLocalStorage<Planner>();

/** The planner of the dry run in progress, if any (the store consults it). */
export function planning(): Planner | undefined {
  return context.getStore();
}

/** A value a dry run cannot know until `step` has run (e.g. a digest of its output). */
export function pending(step: string): string {
  return `<pending: ${step}>`;
}

/** The input fields in which the closest earlier entry of this step differs from these inputs. */
async function whyNew(stepDir: string, inputs: unknown): Promise<string> {
  const names = await fs.readdir(stepDir).catch(() => [] as string[]);
  let best: { score: number; changed: string[] } | undefined;
  for (const name of names) {
    const text = await fs.readFile(path.join(stepDir, name, '.inputs.json'), 'utf8').catch(() => undefined);
    if (!text || !(await exists(path.join(stepDir, name, '.complete')))) continue;
    let earlier: unknown;
    try {
      earlier = (JSON.parse(text) as { inputs: unknown }).inputs;
    } catch {
      continue;
    }
    // Closest: the fewest top-level inputs changed (the same target's last build, not another target's).
    const score = changedFields(earlier, inputs, '', 1).length;
    if (!best || score < best.score) best = { score, changed: changedFields(earlier, inputs) };
  }
  if (!best) return 'never built: no earlier entry of this step in the store';
  return `not in the store; the closest earlier build differs in: ${best.changed.join(', ') || '(nothing recorded)'}`;
}

/** Field paths (to depth 2) whose values differ: "kernel.config", "sources[3]"… */
export function changedFields(before: unknown, after: unknown, at = '', depth = 0): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (depth < 2 && isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => changedFields(before[k], after[k], at ? `${at}.${k}` : k, depth + 1));
  }
  if (depth < 2 && Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    // Items named by what they are (a probe source's file, a variant) rather than by position.
    const label = (v: unknown, i: number) => (isObj(v) ? String(v['file'] ?? v['name'] ?? v['variant'] ?? i) : i);
    return before.flatMap((b, i) => changedFields(b, after[i], `${at}[${label(after[i], i)}]`, depth + 1));
  }
  return [at || '(the inputs)'];
}
