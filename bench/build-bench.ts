/**
 * Build benchmark. Prints, per target:
 *   no-op rebuild time (warm cache, nothing changed) — the target is under 2 s;
 * and with --cold, also:
 *   cold build time in an empty cache vs a plain `make` of the same kernel
 *   config in a fresh build directory (the lab's overhead over the kernel build).
 * and with --first-verdict, instead: fresh cache to the first matrix report, per target, and
 * (with --together) for all the named targets in one matrix, as the README's main command runs.
 * and with --plain, instead: only a plain `make` of the kernel, with the target's config (its warm
 * bundle's) or --config FILE (e.g. an older bundle's images/kernel.config), in the lab's prepared tree.
 * Usage: npm run bench -- [--cold | --first-verdict [--together] | --plain [--config FILE]] [target…]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { buildBundle, prepareKernelTree } from '../lab/bundle/bundle.ts';
import { jobs } from '../lab/bundle/kernel.ts';
import { TOOLCHAINS } from '../lab/bundle/toolchain.ts';
import { loadKernelLine } from '../lab/catalog/kernel-line.ts';
import { loadTargets, selectTargets } from '../lab/catalog/targets.ts';
import { skipReason, targetAvailability } from '../lab/sources/availability.ts';
import { labDirs, type LabDirs } from '../lab/util/paths.ts';
import { describeFirstVerdict, firstVerdict } from './first-verdict.ts';

const args = process.argv.slice(2);
const cold = args.includes('--cold');
const configAt = args.indexOf('--config');
if (configAt >= 0 && !args[configAt + 1]) {
  console.error('--config needs a kernel config file after it');
  process.exit(2);
}
const plainConfig = configAt >= 0 ? path.resolve(args[configAt + 1]!) : undefined;
const names = args.filter((a, i) => !a.startsWith('--') && (configAt < 0 || i !== configAt + 1));
const warmDirs = labDirs();
const targets = selectTargets(await loadTargets(), names);

if (args.includes('--first-verdict')) {
  const groups = args.includes('--together') ? [targets.map((t) => t.name)] : targets.map((t) => [t.name]);
  console.log('\nreprolab first-verdict bench (fresh cache → matrix report)');
  let failed = false;
  for (const g of groups) {
    const f = await firstVerdict(g);
    failed ||= f.exitCode !== 0 || f.cells === 0;
    console.log(`${g.join(',').padEnd(28)} ${describeFirstVerdict(f)}`);
  }
  process.exit(failed ? 1 : 0);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - t0) / 1e9];
}

async function plainMake(configFile: string, treeDir: string, arch: keyof typeof TOOLCHAINS, makeTargets: string[]): Promise<number> {
  const tc = TOOLCHAINS[arch];
  const out = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-make-'));
  try {
    await fs.copyFile(configFile, path.join(out, '.config'));
    const common = ['-C', treeDir, `O=${out}`, `ARCH=${tc.kernelArch}`, `CROSS_COMPILE=${tc.prefix}`];
    const config = await fs.readFile(path.join(out, '.config'), 'utf8');
    // A built-in initramfs path points into the lab's work dir; the plain build uses none.
    await fs.writeFile(path.join(out, '.config'), config.replace(/^CONFIG_INITRAMFS_SOURCE=.*$/m, 'CONFIG_INITRAMFS_SOURCE=""'));
    await execa('make', [...common, 'olddefconfig']);
    const [, s] = await timed(() => execa('make', [...common, `-j${jobs()}`, ...makeTargets]));
    return s;
  } finally {
    await fs.rm(out, { recursive: true, force: true });
  }
}

const rows: string[] = [];
for (const target of targets) {
  const avail = await targetAvailability(target, { dirs: warmDirs, download: false });
  const skip = skipReason(avail);
  if (skip) {
    rows.push(`${target.name.padEnd(28)} ${skip}`);
    continue;
  }
  const run = (dirs: LabDirs) =>
    buildBundle({ target, extraPatches: [], dirs, sources: { dirs, overrides: {} }, logDir: path.join(dirs.logs, `bench-${target.name}`) });
  let line = target.name.padEnd(28);
  if (cold) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-cold-'));
    // Same downloads and overrides, empty store: every step really runs.
    const dirs: LabDirs = { ...labDirs({ cacheDir: root }, {}), downloads: warmDirs.downloads, overrides: warmDirs.overrides };
    try {
      const [bundle, coldS] = await timed(() => run(dirs));
      const line0 = await loadKernelLine(target.kernel.line);
      const { tree } = await prepareKernelTree(line0, { dirs, overrides: {} }, dirs, path.join(dirs.logs, 'bench-tree.log'));
      const makeS = await plainMake(path.join(bundle.dir, 'images', 'kernel.config'), tree.dir, target.arch, line0.boards[target.kernel.board]!.makeTargets);
      line += ` cold ${coldS.toFixed(0)} s  plain kernel make ${makeS.toFixed(0)} s  overhead ${(coldS - makeS).toFixed(0)} s (${((coldS / makeS - 1) * 100).toFixed(0)}%)`;
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  }
  const warm = await run(warmDirs); // make sure the warm cache has it
  if (args.includes('--plain')) {
    const config = plainConfig ?? path.join(warm.dir, 'images', 'kernel.config');
    const line0 = await loadKernelLine(target.kernel.line);
    const { tree } = await prepareKernelTree(line0, { dirs: warmDirs, overrides: {} }, warmDirs, path.join(warmDirs.logs, 'bench-plain.log'));
    const makeS = await plainMake(config, tree.dir, target.arch, line0.boards[target.kernel.board]!.makeTargets);
    const y = (await fs.readFile(config, 'utf8')).split('\n').filter((l) => /^CONFIG_\w+=y$/.test(l)).length;
    line += ` plain kernel make ${makeS.toFixed(0)} s (${y} options =y; config ${config})`;
    rows.push(line);
    console.log(line);
    continue;
  }
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) samples.push((await timed(() => run(warmDirs)))[1]);
  line += `  no-op rebuild ${Math.min(...samples).toFixed(2)} s (best of 3; ${samples.map((s) => s.toFixed(2)).join(', ')})`;
  rows.push(line);
  console.log(line);
}
console.log('\nreprolab build bench');
for (const r of rows) console.log(r);
