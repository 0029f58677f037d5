import fs from 'node:fs/promises';
import path from 'node:path';
import { programDir, programSource, type SourceProgram } from '../catalog/userland.ts';
import { prepareTree, type PreparedTree } from '../sources/prepare.ts';
import { resolveSource, type SourceOptions } from '../sources/resolve.ts';
import { loadSeries } from '../sources/patches.ts';
import { storeEntry } from '../store/store.ts';
import { sha256 } from '../util/digest.ts';
import type { LabDirs } from '../util/paths.ts';
import { anySignal, labSignal } from '../util/lifetime.ts';
import { runLogged } from '../util/process.ts';
import { ccWrapperScript } from './cc-wrapper.ts';
import { expandRecipe } from './compile.ts';
import { parseFragment, replaceSettings, verifyFragment } from './config-fragment.ts';
import { jobs } from './kernel.ts';
import { toolchainVersion, type Toolchain } from './toolchain.ts';
import { uclibcRecipe, uclibcSharedRecipe } from './uclibc.ts';
import type { Userland } from './userland.ts';

/** The GNU triplet configure scripts want for --host (the toolchain prefix without its dash). */
function hostTriplet(tc: Toolchain): string {
  return tc.prefix.replace(/-$/, '');
}

/** Lines of a one-argument-per-line file, without comments and blank lines. */
function argLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Where a step's commands log, and what cancels them. */
type Log = { logFile: string; signal: AbortSignal };

interface Program {
  name: SourceProgram;
  tree: PreparedTree;
  /** images/userland/<name>/<file> → its text, for the build and its key. */
  files: Record<string, string>;
}

async function prepareProgram(name: SourceProgram, buildFiles: string[], sources: SourceOptions, dirs: LabDirs, logFile: string): Promise<Program> {
  const source = await resolveSource(await programSource(name), sources);
  const tree = await prepareTree(source, await loadSeries(path.join(programDir(name), 'patches')), name, dirs, logFile);
  const files: Record<string, string> = {};
  for (const f of buildFiles) files[f] = await fs.readFile(path.join(programDir(name), f), 'utf8');
  return { name, tree, files };
}

/**
 * busybox and dropbear built from Debian's sources, dynamically linked against
 * the image's own uClibc (the baseline variant, installed in /lib), through a
 * cc wrapper that keeps GCC's glibc defaults out. The result is what a
 * Buildroot uClibc product has in /bin and /usr/sbin.
 */
export async function buildSourceUserland(opts: { tc: Toolchain; sysroot: string; dirs: LabDirs; sources: SourceOptions; logFile: string; signal?: AbortSignal }): Promise<Userland> {
  const { tc, sysroot, dirs, logFile } = opts;
  // The build may run beside the libc variants: their failure stops it (and Ctrl-C, as always).
  const log: Log = { logFile, signal: anySignal(labSignal, opts.signal) };
  const busybox = await prepareProgram('busybox', ['config'], opts.sources, dirs, logFile);
  const dropbear = await prepareProgram('dropbear', ['configure.args'], opts.sources, dirs, logFile);
  const wrapper = ccWrapperScript(
    { static: await expandRecipe(uclibcRecipe(tc, sysroot)), shared: await expandRecipe(uclibcSharedRecipe(tc, sysroot, '/lib')) },
    path.join(sysroot, 'usr', 'lib'),
    `${tc.prefix}gcc against the uClibc sysroot ${sysroot}`,
  );
  const programs = [busybox, dropbear];
  const entry = await storeEntry(
    dirs.store,
    'userland-uclibc',
    {
      /** Bumped when the build steps below change in a way no input captures. */
      recipe: 1,
      libc: sysroot,
      wrapper: sha256(wrapper),
      programs: programs.map((p) => ({ name: p.name, tree: p.tree.key, files: Object.fromEntries(Object.entries(p.files).map(([f, t]) => [f, sha256(t)])) })),
      toolchain: await toolchainVersion(tc),
    },
    async (out, scratch) => {
      const cc = path.join(scratch, 'cc');
      await fs.writeFile(cc, wrapper, { mode: 0o755 });
      await buildBusybox(busybox, cc, tc, path.join(scratch, 'busybox'), out, log);
      await buildDropbear(dropbear, cc, tc, path.join(scratch, 'dropbear'), out, log);
    },
  );
  return {
    dir: entry.dir,
    packages: programs.map((p) => ({ name: p.name, file: p.tree.source.path, sha256: p.tree.source.sha256 })),
    hit: entry.hit,
  };
}

async function buildBusybox(p: Program, cc: string, tc: Toolchain, work: string, out: string, log: Log): Promise<void> {
  await runLogged('cp', ['-a', `${p.tree.dir}/.`, work], log);
  await runLogged('make', ['-C', work, 'defconfig'], log);
  const settings = parseFragment('images/userland/busybox/config', p.files['config']!);
  const config = path.join(work, '.config');
  // busybox's kconfig keeps the first of two lines for a symbol: defconfig's own lines are replaced.
  await fs.writeFile(config, replaceSettings(await fs.readFile(config, 'utf8'), settings));
  await runLogged('make', ['-C', work, 'oldconfig'], { ...log, input: '\n'.repeat(2000) });
  verifyFragment(await fs.readFile(config, 'utf8'), settings, `busybox for ${tc.arch}`);
  await runLogged('make', ['-C', work, `-j${jobs()}`, `CC=${cc}`, `CROSS_COMPILE=${tc.prefix}`, 'busybox'], log);
  await fs.mkdir(path.join(out, 'bin'), { recursive: true });
  // busybox's own build strips `busybox` (busybox_unstripped keeps the symbols).
  await fs.copyFile(path.join(work, 'busybox'), path.join(out, 'bin', 'busybox'));
  await fs.chmod(path.join(out, 'bin', 'busybox'), 0o755);
  // Kept beside the image's files (dot files at the top of an entry stay out of the rootfs).
  await fs.copyFile(config, path.join(out, '.busybox.config'));
}

async function buildDropbear(p: Program, cc: string, tc: Toolchain, work: string, out: string, log: Log): Promise<void> {
  await runLogged('cp', ['-a', `${p.tree.dir}/.`, work], log);
  await runLogged('./configure', [`--host=${hostTriplet(tc)}`, `CC=${cc}`, ...argLines(p.files['configure.args']!)], { cwd: work, ...log });
  // One multi-call binary, like busybox: the name it is run by picks the program.
  await runLogged('make', ['-C', work, `-j${jobs()}`, 'PROGRAMS=dropbear dbclient dropbearkey scp', 'MULTI=1'], log);
  const bin = path.join(out, 'usr', 'sbin', 'dropbear');
  await fs.mkdir(path.dirname(bin), { recursive: true });
  await fs.mkdir(path.join(out, 'usr', 'bin'), { recursive: true });
  await fs.copyFile(path.join(work, 'dropbearmulti'), bin);
  await runLogged(`${tc.prefix}strip`, [bin], log);
  await fs.chmod(bin, 0o755);
  for (const name of ['dbclient', 'dropbearkey', 'scp']) await fs.symlink('../sbin/dropbear', path.join(out, 'usr', 'bin', name));
}
