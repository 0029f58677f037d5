/**
 * "First verdict": wall time from an empty cache to the matrix's report, the way a new user meets
 * the lab (`./reprolab matrix`). Downloads and source overrides are shared with the warm cache
 * (they are inputs, not build products); everything else is built from scratch.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadMatrixResult } from '../lab/model/matrix-result.ts';
import { labDirs, repoRoot } from '../lab/util/paths.ts';

export interface FirstVerdict {
  targets: string[];
  wallS: number;
  exitCode: number;
  cells: number;
  asExpected: number;
  loadBefore: number;
  /** Where the run's matrix.json and log were kept (for `report diff` against an earlier run). */
  kept: string;
}

/** One cold `reprolab matrix --targets …` in a fresh cache; the cache is removed afterwards. */
export async function firstVerdict(targets: string[]): Promise<FirstVerdict> {
  const warm = labDirs();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-first-'));
  const loadBefore = os.loadavg()[0]!;
  try {
    const env = { CI: 'true', REPROLAB_CACHE: path.join(root, 'cache'), REPROLAB_DOWNLOADS: warm.downloads, REPROLAB_OVERRIDES: warm.overrides };
    const out = path.join(root, 'out');
    const t0 = Date.now();
    const r = await execa(path.join(repoRoot, 'reprolab'), ['matrix', '--targets', targets.join(','), '--no-compare', '--out', out], { reject: false, env, all: true });
    const wallS = (Date.now() - t0) / 1000;
    const kept = path.join(warm.logs, `bench-first-verdict-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await fs.mkdir(kept, { recursive: true });
    await fs.writeFile(path.join(kept, 'matrix.log'), r.all ?? '');
    await fs.copyFile(path.join(out, 'matrix.json'), path.join(kept, 'matrix.json')).catch(() => undefined);
    const m = await loadMatrixResult(path.join(out, 'matrix.json')).catch(() => undefined);
    if (!m) console.error(`no report (exit ${r.exitCode}):\n${r.all?.split('\n').slice(-30).join('\n')}`);
    const ran = m?.cells.filter((c) => c.status === 'ran') ?? [];
    return { targets, wallS, exitCode: r.exitCode ?? -1, cells: ran.length, asExpected: ran.filter((c) => c.asExpected).length, loadBefore, kept };
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

export function describeFirstVerdict(f: FirstVerdict): string {
  const whole = Math.round(f.wallS);
  return `first verdict ${Math.floor(whole / 60)} min ${whole % 60} s (${f.wallS.toFixed(0)} s): exit ${f.exitCode}, ${f.asExpected}/${f.cells} cells as expected; load average before ${f.loadBefore.toFixed(2)}; kept ${f.kept}`;
}
