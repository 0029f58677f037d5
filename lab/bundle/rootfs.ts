import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheKey, sha256File } from '../util/digest.ts';
import { memoTreeDigest } from '../sources/memo-digest.ts';
import type { LabDirs } from '../util/paths.ts';
import { repoRoot } from '../util/paths.ts';
import { writeCpio, type CpioEntry } from '../formats/cpio.ts';
import { hostKeyFromSeed } from '../formats/hostkey.ts';
import type { ProbeSet } from './probes.ts';
import { storeEntry } from '../store/store.ts';
import type { Userland } from './userland.ts';
import { pending, planning } from '../store/plan.ts';
import { libcLibDir, sharedProbeDir, staticProbeDir } from '../model/guest-layout.ts';
import { LabError } from '../util/errors.ts';
import { auditUclibcImage, uclibcSonames, type LibcAudit } from './libc-audit.ts';

export const overlayDir = path.join(repoRoot, 'images', 'rootfs', 'overlay');

export interface Rootfs {
  cpio: string;
  sha256: string;
  /** Host key line the guest's SSH server presents (pin it in known_hosts). */
  hostKey: string;
  sizeBytes: number;
  hit: boolean;
}

/** Entries for a directory tree, placed under `prefix` in the image. */
export async function treeEntries(root: string, prefix: string): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.') && rel === '') continue; // store markers (.complete, .inputs.json)
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(root, r);
      const at = path.posix.join(prefix, r);
      if (e.isDirectory()) {
        out.push({ kind: 'dir', path: at, mode: 0o755 });
        await walk(r);
      } else if (e.isSymbolicLink()) {
        out.push({ kind: 'symlink', path: at, target: await fs.readlink(full) });
      } else if (e.isFile()) {
        const st = await fs.stat(full);
        out.push({ kind: 'file', path: at, mode: st.mode & 0o777, data: await fs.readFile(full) });
      }
    }
  }
  await walk('');
  return out;
}

function dirsFor(entries: CpioEntry[]): CpioEntry[] {
  const have = new Set(entries.filter((e) => e.kind === 'dir').map((e) => e.path));
  const need = new Set<string>();
  for (const e of entries) {
    for (let d = path.posix.dirname(e.path); d !== '/' && d !== '.'; d = path.posix.dirname(d)) need.add(d);
  }
  return [...need].filter((d) => !have.has(d)).map((d) => ({ kind: 'dir' as const, path: d, mode: 0o755 }));
}

/** A uClibc variant's shared runtime (its sysroot's lib/: loader, libc.so.0, …), installed at libcLibDir(variant). */
export interface GuestLibc {
  variant: string;
  sysroot: string;
  /** Its loader's file name (default ld-uClibc.so.0; uClibc-ng's is ld-uClibc.so.1). */
  loader?: string;
}

/**
 * Everything the lab puts in a guest: the userland (busybox, dropbear; built
 * from source on uClibc images, Debian's on glibc ones), each uClibc variant's shared libraries,
 * the overlay (/init: network, SSH, readiness marker), the probes of every
 * variant, the fabric tools, the SSH host key and the device nodes /init needs.
 */
export async function labLayer(opts: { targetName: string; userland: Userland; libcs?: GuestLibc[]; probes: ProbeSet[]; tools: ProbeSet; hostKeyDropbear: Buffer }): Promise<CpioEntry[]> {
  const probeDir = (p: ProbeSet) => (p.linkage === 'shared' ? sharedProbeDir(p.variant) : staticProbeDir(p.variant));
  return [
    ...(await treeEntries(opts.userland.dir, '/')),
    ...(await Promise.all((opts.libcs ?? []).map((l) => treeEntries(path.join(l.sysroot, 'lib'), libcLibDir(l.variant))))).flat(),
    ...(await treeEntries(overlayDir, '/')),
    ...(await Promise.all(opts.probes.map((p) => treeEntries(p.dir, probeDir(p))))).flat(),
    ...(await treeEntries(opts.tools.dir, '/opt/reprolab/bin')),
    { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
    { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'chardev', path: '/dev/null', mode: 0o666, major: 1, minor: 3 },
    { kind: 'file', path: '/etc/dropbear/dropbear_ed25519_host_key', mode: 0o600, data: opts.hostKeyDropbear },
    { kind: 'file', path: '/etc/reprolab/target', mode: 0o644, data: Buffer.from(`${opts.targetName}\n`) },
    { kind: 'file', path: '/etc/reprolab/variants', mode: 0o644, data: Buffer.from([...new Set(opts.probes.map((p) => p.variant))].map((v) => `${v}\n`).join('')) },
    ...['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/proc', '/sys', '/dev', '/tmp', '/run', '/root', '/var/log', '/var/run'].map((p) => ({ kind: 'dir' as const, path: p, mode: 0o755 })),
  ];
}

/** One entry per path, later ones winning, with every parent directory present. */
export function mergeEntries(entries: CpioEntry[]): CpioEntry[] {
  const unique = new Map<string, CpioEntry>();
  for (const e of [...entries, ...dirsFor(entries)]) unique.set(e.path, e);
  return [...unique.values()];
}

/** A uClibc image must hold no glibc: checked over every file before the image is written (see auditUclibcImage). */
function auditLayer(target: string, entries: CpioEntry[], libcs: GuestLibc[]): LibcAudit {
  // Symlinks are checked by name (a /lib/ld-linux.so.3 link is glibc too); their data is empty, so never an ELF.
  const files = entries.flatMap((e) => (e.kind === 'file' ? [{ path: e.path, data: e.data }] : e.kind === 'symlink' ? [{ path: e.path, data: Buffer.alloc(0) }] : []));
  // The sonames uClibc ships are the names the layer put in the variants' lib folders.
  const libDirs = libcs.map((l) => `${libcLibDir(l.variant)}/`);
  const libFiles = entries.filter((e) => e.kind !== 'dir' && libDirs.some((d) => e.path.startsWith(d))).map((e) => e.path);
  const audit = auditUclibcImage(files, { libDirs, loaders: libcs.map((l) => `${libcLibDir(l.variant)}/${l.loader ?? 'ld-uClibc.so.0'}`), sonames: uclibcSonames(libFiles) });
  if (audit.violations.length) {
    throw new LabError(`${target}: the uClibc image would carry files of another libc:\n  ${audit.violations.join('\n  ')}`, {
      fix: 'link every program of a uClibc image against its uClibc (images/userland/, images/tools/), or leave the file out',
    });
  }
  return audit;
}

export async function buildRootfs(opts: { targetName: string; userland: Userland; libcs?: GuestLibc[]; probes: ProbeSet[]; tools: ProbeSet; dirs: LabDirs }): Promise<Rootfs> {
  const inputs = {
    target: opts.targetName,
    userland: opts.userland.dir,
    // Only uClibc images carry libc runtimes of their own.
    ...(opts.libcs?.length ? { libcs: opts.libcs.map((l) => ({ variant: l.variant, at: libcLibDir(l.variant), sysroot: l.sysroot })) } : {}),
    probes: opts.probes.map((p) => ({ variant: p.variant, ...(p.linkage === 'shared' ? { linkage: p.linkage } : {}), dir: p.dir })),
    tools: opts.tools.dir,
    overlay: await memoTreeDigest(path.join(opts.dirs.cache, 'digests'), overlayDir),
    format: 'newc-v1',
    /** Bumped when labLayer() changes what it puts in an image. */
    layer: 3,
  };
  const hostKey = hostKeyFromSeed(Buffer.from(cacheKey({ hostKeyFor: inputs }), 'hex'));
  const entry = await storeEntry(opts.dirs.store, 'rootfs', inputs, async (out) => {
    const entries = mergeEntries(await labLayer({ ...opts, hostKeyDropbear: hostKey.dropbear }));
    if (opts.libcs?.length) await fs.writeFile(path.join(out, 'libc-audit.json'), `${JSON.stringify(auditLayer(opts.targetName, entries, opts.libcs), null, 2)}\n`);
    await fs.writeFile(path.join(out, 'rootfs.cpio'), writeCpio(entries));
    await fs.writeFile(path.join(out, 'host_key.pub'), `${hostKey.publicLine}\n`);
  });
  const cpio = path.join(entry.dir, 'rootfs.cpio');
  // A dry run knows the rootfs key, not its content: what depends on its digest waits for it.
  if (planning() && !entry.hit) return { cpio, sha256: pending('rootfs'), hostKey: pending('rootfs'), sizeBytes: 0, hit: false };
  return {
    cpio,
    sha256: await sha256File(cpio),
    hostKey: (await fs.readFile(path.join(entry.dir, 'host_key.pub'), 'utf8')).trim(),
    sizeBytes: (await fs.stat(cpio)).size,
    hit: entry.hit,
  };
}

