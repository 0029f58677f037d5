/**
 * Matrix benchmark: wall time of the warm matrix (bundles already built) with
 * one VM at a time and with two, and their ratio. Runs the real CLI, the way
 * a nightly job does; every run must give the expected verdicts.
 * Usage: npm run bench:matrix -- [--targets a,b] [--scenarios x,y] [--jobs 1,2]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadMatrixResult } from '../lab/model/matrix-result.ts';
import { repoRoot } from '../lab/util/paths.ts';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const select = [...(flag('--targets') ? ['--targets', flag('--targets')!] : []), ...(flag('--scenarios') ? ['--scenarios', flag('--scenarios')!] : [])];
const jobs = (flag('--jobs') ?? '1,2').split(',').map(Number);
const lab = path.join(repoRoot, 'reprolab');
const loadBefore = os.loadavg()[0]!;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-matrix-'));

// Warm-up: builds whatever is missing, so the timed runs measure only boots and scenarios.
console.error('warm-up (builds if needed)…');
await execa(lab, ['matrix', ...select, '--no-sweeps', '--no-compare', '--scenarios', 'dump-read', '--out', path.join(root, 'warm')], { reject: false, env: { CI: 'true' } });

const rows: { jobs: number; wallS: number; cells: number; asExpected: number; boots: number }[] = [];
for (const j of jobs) {
  const out = path.join(root, `j${j}`);
  const t0 = Date.now();
  const r = await execa(lab, ['matrix', ...select, '-j', String(j), '--no-compare', '--out', out], { reject: false, env: { CI: 'true' } });
  const wallS = (Date.now() - t0) / 1000;
  const m = await loadMatrixResult(path.join(out, 'matrix.json'));
  const ran = m.cells.filter((c) => c.status === 'ran');
  rows.push({ jobs: j, wallS, cells: ran.length, asExpected: ran.filter((c) => c.asExpected).length, boots: m.targets.reduce((s, t) => s + t.boots, 0) });
  if (r.exitCode !== 0) console.error(`-j${j}: exit ${r.exitCode}\n${r.stdout}`);
}

console.log(`host: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; load average before: ${loadBefore.toFixed(2)}`);
console.log('jobs  wall (s)  cells  as expected  boots');
for (const r of rows) console.log(`${String(r.jobs).padStart(4)}  ${r.wallS.toFixed(1).padStart(8)}  ${String(r.cells).padStart(5)}  ${String(r.asExpected).padStart(11)}  ${String(r.boots).padStart(5)}`);
const one = rows.find((r) => r.jobs === 1);
for (const r of rows) if (one && r !== one) console.log(`speed-up -j${r.jobs} vs -j1: ${(one.wallS / r.wallS).toFixed(2)}×`);
console.log(`runs: ${root}`);
