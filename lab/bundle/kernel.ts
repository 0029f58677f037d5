import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KernelLineSpec } from '../catalog/kernel-line.ts';
import type { Target } from '../model/target.ts';
import type { PreparedTree } from '../sources/prepare.ts';
import { cacheKey, sha256, sha256File } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import { exists } from '../util/fs.ts';
import type { LabDirs } from '../util/paths.ts';
import { runLogged } from '../util/process.ts';
import { anySignal, labSignal } from '../util/lifetime.ts';
import { applyFragment, lastWins, parseFragment, verifyFragment, type ConfigSetting } from './config-fragment.ts';
import { withLock } from '../store/lock.ts';
import { hasEntryWhere, storeEntry } from '../store/store.ts';
import { hostMakeVersion, toolchainVersion, type Toolchain } from './toolchain.ts';
import { pending, planning } from '../store/plan.ts';

export interface KernelImage {
  /** Store directory holding the image, its .config and System.map. */
  dir: string;
  image: string;
  dtb?: string;
  /** `uname -r` of the guest, from include/config/kernel.release. */
  release: string;
  configSha256: string;
  hit: boolean;
}

function makeArgs(tc: Toolchain, buildDir: string): string[] {
  return [`O=${buildDir}`, `ARCH=${tc.kernelArch}`, `CROSS_COMPILE=${tc.prefix}`];
}

export function jobs(): number {
  return Math.max(1, os.availableParallelism());
}

/** Exported user-space headers (`make headers_install`), the base of a libc sysroot. */
export async function kernelHeaders(tree: PreparedTree, tc: Toolchain, dirs: LabDirs, logFile: string): Promise<string> {
  const entry = await storeEntry(dirs.store, 'linux-headers', { tree: tree.key, arch: tc.kernelArch, make: await hostMakeVersion() }, async (out, scratch) => {
    await runLogged('make', ['-C', tree.dir, ...makeArgs(tc, scratch), `INSTALL_HDR_PATH=${out}`, 'headers_install'], { logFile });
  });
  return path.join(entry.dir, 'include');
}

/** The settings a target adds beyond its line's fragments: page size and a built-in initramfs. */
export function targetSettings(target: Target, initramfsPath: string | undefined): ConfigSetting[] {
  const origin = `${target.file} (kernel)`;
  const s: ConfigSetting[] = [];
  if (target.arch === 'mips') {
    // The malta board fragment says little-endian (the mipsel targets); a big-endian target overrides it (later lines win).
    s.push({ name: 'CONFIG_CPU_LITTLE_ENDIAN', value: 'n', origin });
    s.push({ name: 'CONFIG_CPU_BIG_ENDIAN', value: 'y', origin });
  }
  if (target.arch === 'mipsel' || target.arch === 'mips') {
    s.push({ name: 'CONFIG_PAGE_SIZE_4KB', value: target.kernel.pageSizeKiB === 4 ? 'y' : 'n', origin });
    s.push({ name: 'CONFIG_PAGE_SIZE_16KB', value: target.kernel.pageSizeKiB === 16 ? 'y' : 'n', origin });
  } else if (target.kernel.pageSizeKiB !== 4) {
    throw new LabError(`${target.file}: kernel.pageSizeKiB must be 4 on ARM (got ${target.kernel.pageSizeKiB})`, { fix: 'set "pageSizeKiB": 4' });
  }
  if (initramfsPath) s.push({ name: 'CONFIG_INITRAMFS_SOURCE', value: JSON.stringify(initramfsPath), origin });
  return s;
}

export interface KernelBuildRequest {
  target: Target;
  line: KernelLineSpec;
  tree: PreparedTree;
  tc: Toolchain;
  dirs: LabDirs;
  logFile: string;
  /** The rootfs cpio to link into the image (targets with initramfs "builtin"). */
  initramfs?: { file: string; sha256: string };
  /** Stops its make (the build that started it ahead failed elsewhere); the lab's own cancel always does. */
  signal?: AbortSignal;
}

/** Where a kernel compiles and with which settings: the same for the early compile and the final image. */
interface KernelWork {
  board: KernelLineSpec['boards'][string] & object;
  compileKey: string;
  buildDir: string;
  settings: ConfigSetting[];
  makeArgs: string[];
}

/** A target's kernel fragments as read: the line's own, then its board's. */
export interface BoardFragments {
  board: KernelWork['board'];
  files: string[];
  texts: string[];
}

export async function boardFragments(line: KernelLineSpec, target: Target): Promise<BoardFragments> {
  const board = line.boards[target.kernel.board];
  if (!board) {
    throw new LabError(`${target.file}: kernel.board "${target.kernel.board}" is not a board of kernels/${line.line}`, {
      fix: `use one of: ${Object.keys(line.boards).join(', ')}`,
    });
  }
  const files = [...line.fragments, board.fragment];
  return { board, files, texts: await Promise.all(files.map((f) => fs.readFile(path.join(line.dir, f), 'utf8'))) };
}

/** What a target's kernel is configured with: the fragments' lines, then the target's settings (later lines win). */
export function kernelSettings(line: KernelLineSpec, frag: BoardFragments, target: Target, initramfsPath: string | undefined): ConfigSetting[] {
  return lastWins([...frag.files.flatMap((f, i) => parseFragment(`kernels/${line.line}/${f}`, frag.texts[i]!)), ...targetSettings(target, initramfsPath)]);
}

async function kernelWork(req: KernelBuildRequest, builtin: boolean): Promise<KernelWork> {
  const { target, line, tree, tc, dirs } = req;
  const frag = await boardFragments(line, target);
  const compileKey = cacheKey({
    tree: tree.key,
    arch: tc.kernelArch,
    baseConfig: frag.board.baseConfig,
    fragments: frag.texts.map((t) => sha256(t)),
    target: targetSettings(target, builtin ? 'initramfs.cpio' : undefined).map((s) => `${s.name}=${s.value}`),
    toolchain: await toolchainVersion(tc),
    make: await hostMakeVersion(),
  });
  const buildDir = path.join(dirs.work, `linux-${line.version}-${target.kernel.board}-${compileKey.slice(0, 16)}`);
  const settings = kernelSettings(line, frag, target, builtin ? path.join(buildDir, 'initramfs.cpio') : undefined);
  return { board: frag.board, compileKey, buildDir, settings, makeArgs: ['-C', tree.dir, ...makeArgs(tc, buildDir)] };
}

/** `<base config>` + the fragments + olddefconfig, once per build directory; every fragment line must survive. */
async function configureKernel(w: KernelWork, req: KernelBuildRequest): Promise<void> {
  await fs.mkdir(w.buildDir, { recursive: true });
  const configDone = path.join(w.buildDir, '.reprolab-config-ok');
  if (await exists(configDone)) return;
  const configFile = path.join(w.buildDir, '.config');
  await runLogged('make', [...w.makeArgs, w.board.baseConfig], { logFile: req.logFile, ...signalOf(req) });
  await fs.writeFile(configFile, applyFragment(await fs.readFile(configFile, 'utf8'), w.settings));
  await runLogged('make', [...w.makeArgs, 'olddefconfig'], { logFile: req.logFile, ...signalOf(req) });
  verifyFragment(await fs.readFile(configFile, 'utf8'), w.settings, `kernel ${req.line.version} for ${req.target.name}`);
  await fs.writeFile(configDone, '');
}

/** An empty newc archive (only the trailer): stands in for a built-in rootfs that is not built yet. */
export const EMPTY_CPIO = Buffer.from(`070701${'0'.repeat(8 * 11)}0000000B00000000TRAILER!!!\0\0\0\0`, 'latin1');
const COMPILED = '.reprolab-compiled';

/**
 * Compiles a kernel whose rootfs is linked in before that rootfs exists, against an empty
 * placeholder archive, so the compile overlaps the libc and userland builds; buildKernel then
 * only re-links with the real archive. Does nothing once the build directory has compiled.
 */
export async function precompileKernel(req: Omit<KernelBuildRequest, 'initramfs'>): Promise<void> {
  const w = await kernelWork(req, true);
  if (await exists(path.join(w.buildDir, COMPILED))) return;
  // Its image is in the store (the build directory was removed): the rootfs may well be unchanged too.
  if (await hasEntryWhere(req.dirs.store, 'kernel', (i) => i.compileKey === w.compileKey)) return;
  await withLock(`${w.buildDir}.lock`, async () => {
    // Another build may have compiled it while this one waited for the lock.
    if (await exists(path.join(w.buildDir, COMPILED))) return;
    await configureKernel(w, req);
    const cpio = path.join(w.buildDir, 'initramfs.cpio');
    if (!(await exists(cpio))) await fs.writeFile(cpio, EMPTY_CPIO);
    await runLogged('make', [...w.makeArgs, `-j${jobs()}`, ...w.board.makeTargets], { logFile: req.logFile, ...signalOf(req) });
    await fs.writeFile(path.join(w.buildDir, COMPILED), '');
  });
}

const signalOf = (req: { signal?: AbortSignal }) => (req.signal ? { signal: anySignal(labSignal, req.signal) } : {});

/**
 * Builds the kernel in a long-lived out-of-tree directory keyed by everything
 * that affects compilation, so an unchanged kernel is never recompiled; only
 * the finished image is copied into the content-addressed store.
 */
export async function buildKernel(req: KernelBuildRequest): Promise<KernelImage> {
  const w = await kernelWork(req, !!req.initramfs);
  const { board, buildDir } = w;
  const entry = await storeEntry(req.dirs.store, 'kernel', { compileKey: w.compileKey, initramfs: req.initramfs?.sha256 }, async (out) => {
    await withLock(`${buildDir}.lock`, async () => {
      await configureKernel(w, req);
      if (req.initramfs) await replaceIfChanged(req.initramfs.file, path.join(buildDir, 'initramfs.cpio'), req.initramfs.sha256);
      await runLogged('make', [...w.makeArgs, `-j${jobs()}`, ...board.makeTargets], { logFile: req.logFile, ...signalOf(req) });
      await fs.writeFile(path.join(buildDir, COMPILED), '');
      for (const f of [board.image, ...(board.dtb ? [board.dtb] : [])]) await fs.copyFile(path.join(buildDir, f), path.join(out, path.basename(f)));
      await fs.copyFile(path.join(buildDir, '.config'), path.join(out, 'config'));
      await fs.copyFile(path.join(buildDir, 'System.map'), path.join(out, 'System.map'));
      await fs.copyFile(path.join(buildDir, 'include/config/kernel.release'), path.join(out, 'kernel.release'));
    });
  });
  const unbuilt = planning() && !entry.hit;
  return {
    dir: entry.dir,
    image: path.join(entry.dir, path.basename(board.image)),
    ...(board.dtb ? { dtb: path.join(entry.dir, path.basename(board.dtb)) } : {}),
    release: unbuilt ? pending('kernel') : (await fs.readFile(path.join(entry.dir, 'kernel.release'), 'utf8')).trim(),
    configSha256: unbuilt ? pending('kernel') : await sha256File(path.join(entry.dir, 'config')),
    hit: entry.hit,
  };
}

/** Keeps the old file (and its mtime) when the content is the same, so make does not relink. */
async function replaceIfChanged(src: string, dest: string, digest: string): Promise<void> {
  if ((await exists(dest)) && (await sha256File(dest)) === digest) return;
  await fs.copyFile(src, dest);
}
