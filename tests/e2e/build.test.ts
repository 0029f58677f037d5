/**
 * End-to-end: real sources, real cross compilers, real kernel and libc builds.
 * Targets whose sources are absent are reported as "skipped: <archive> not
 * available"; when present they must build. Uses the real lab cache so a warm
 * machine re-checks bundles in seconds (content-addressed, keyed by every input).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { TOOLCHAINS } from '../../lab/bundle/toolchain.ts';
import { uclibcDir } from '../../lab/catalog/libc.ts';
import { resolveSource } from '../../lab/sources/resolve.ts';
import { loadSourceSpec } from '../../lab/catalog/source-spec.ts';
import { availability, buildTarget, dirs, skipReasonFor, targets } from './lab.ts';
import { timeStamp } from '../../lab/util/paths.ts';

const stamp = timeStamp();
const BUILD_TIMEOUT = 40 * 60_000;

async function fileType(p: string): Promise<string> {
  return (await execa('file', ['-b', '-L', p])).stdout;
}

async function cpioList(file: string): Promise<string[]> {
  return (await execa('cpio', ['-it', '-F', file])).stdout.split('\n');
}

/**
 * Unpacks a uClibc image and checks every file with readelf: no glibc file name,
 * every dynamic ELF asks for a uClibc loader (one of `libDirs`/ld-uClibc.so.0) and
 * needs only libraries uClibc ships; every static one starts through __uClibc_main.
 */
async function noGlibcIn(cpio: string, libDirs: string[]): Promise<{ dynamic: string[]; static: string[] }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-rootfs-'));
  await execa('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', cpio], { cwd: root });
  const files = (await execa('find', ['.', '-type', 'f'], { cwd: root })).stdout.split('\n').map((f) => f.slice(1));
  const uclibcLibs = new Set((await Promise.all(libDirs.map((d) => fs.readdir(path.join(root, d))))).flat().filter((n) => /\.so\.\d+$/.test(n)));
  expect(uclibcLibs).toContain('libc.so.0');
  const out = { dynamic: [] as string[], static: [] as string[] };
  for (const f of files) {
    expect(f).not.toMatch(/(^|\/)(ld-linux[^/]*|libc\.so\.6|libc-2\.\d+\.so)$/);
    const head = Buffer.alloc(4);
    const fh = await fs.open(path.join(root, f));
    await fh.read(head, 0, 4, 0);
    await fh.close();
    if (head.toString('latin1') !== '\x7fELF') continue;
    const program = (await execa('readelf', ['-lW', path.join(root, f)])).stdout;
    const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(program)?.[1];
    const needed = [...(await execa('readelf', ['-dW', path.join(root, f)])).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((x) => x[1]!);
    for (const n of needed) expect(uclibcLibs, `${f} needs ${n}`).toContain(n);
    if (interp) {
      expect(libDirs.map((d) => `${d}/ld-uClibc.so.0`), `${f} loads ${interp}`).toContain(interp);
      out.dynamic.push(f);
    } else if (!/DYNAMIC/.test(program)) {
      const strings = (await execa('strings', ['-a', path.join(root, f)])).stdout;
      expect(strings, `${f} is static: linked against uClibc`).toContain('__uClibc_main');
      expect(strings, `${f} is static: not glibc`).not.toContain('__libc_start_main');
      out.static.push(f);
    }
  }
  await fs.rm(root, { recursive: true, force: true });
  return out;
}

/** A file of the uClibc source the lab resolves (override tree or pinned archive). */
async function uclibcFile(rel: string): Promise<string> {
  const spec = await loadSourceSpec(path.join(uclibcDir, 'source.json'));
  const src = await resolveSource(spec, { dirs, download: false });
  if (src.origin === 'override') return fs.readFile(path.join(src.path, rel), 'utf8');
  return (await execa('tar', ['-xOf', src.path, '--wildcards', `*/${rel}`])).stdout;
}

for (const avail of availability) {
  const target = targets.find((t) => t.name === avail.target)!;
  const skip = skipReasonFor(target.name);

  describe(target.name, () => {
    if (skip) console.log(`${target.name}: ${skip} (${avail.sources.find((s) => !s.found)!.fix})`);

    it.skipIf(!!skip)(skip ?? 'builds a bundle and checks what is in it', { timeout: BUILD_TIMEOUT }, async () => {
      const bundle = await buildTarget(target.name);
      const m = bundle.manifest;
      const tc = TOOLCHAINS[target.arch];
      const order = target.arch === 'mips' ? 'MSB' : 'LSB';
      const mips = target.arch !== 'arm';

      // Kernel image and its version.
      const image = path.join(bundle.dir, m.kernel.image);
      const kernelType = await fileType(image);
      if (target.arch === 'arm') expect(kernelType).toMatch(/Linux kernel ARM boot executable zImage/);
      else expect(kernelType).toMatch(new RegExp(`ELF 32-bit ${order} executable, MIPS`));
      expect(m.kernel.release).toMatch(new RegExp(`^${target.kernel.line.replace('.', '\\.')}\\.\\d+-reprolab$`));
      if (mips) {
        const banner = (await execa('grep', ['-a', '-o', '-m1', 'Linux version [^ ]* ', image])).stdout;
        expect(banner).toContain(`Linux version ${m.kernel.release}`);
      }
      const config = await fs.readFile(path.join(bundle.dir, 'images', 'kernel.config'), 'utf8');
      expect(config).toContain('CONFIG_NETLINK_DIAG=y');
      if (mips) expect(config).toContain(`CONFIG_PAGE_SIZE_${target.kernel.pageSizeKiB}KB=y`);
      if (mips) expect(config).toContain(target.arch === 'mips' ? 'CONFIG_CPU_BIG_ENDIAN=y' : 'CONFIG_CPU_LITTLE_ENDIAN=y');
      if (m.kernel.dtb) expect(await fileType(path.join(bundle.dir, m.kernel.dtb))).toMatch(/Device Tree Blob/);

      // Root filesystem: external cpio, or linked into the kernel.
      if (target.kernel.initramfs === 'external') {
        const list = await cpioList(path.join(bundle.dir, 'images', 'rootfs.cpio'));
        for (const f of ['init', 'bin/busybox', 'usr/sbin/dropbear', 'dev/console', 'etc/dropbear/dropbear_ed25519_host_key']) expect(list).toContain(f);
        for (const v of target.libc.variants) expect(list).toContain(`opt/reprolab/probes/${v}/ifaddrs-probe`);
      } else {
        expect(config).toMatch(/CONFIG_INITRAMFS_SOURCE=".*initramfs\.cpio"/);
        expect((await execa('grep', ['-a', '-c', 'REPROLAB-READY', image], { reject: false })).stdout).not.toBe('0');
      }

      // Probes: right architecture, statically linked, against the right libc.
      for (const v of m.libc.variants) {
        for (const probe of v.probes) {
          const bin = path.join(bundle.dir, 'target-probes', v.variant, probe);
          const t = await fileType(bin);
          expect(t).toContain(`ELF 32-bit ${order} executable, ${tc.fileMachine}`);
          expect(t).toContain('statically linked');
          const strings = (await execa('strings', ['-a', bin])).stdout;
          expect(strings).toContain(target.libc.kind === 'uclibc' ? 'uClibc' : 'glibc');
        }
        // uClibc is built shared and static: the loader and libc.so.0 for programs, libc.a for the probes.
        if (target.libc.kind === 'uclibc') {
          for (const lib of ['lib/ld-uClibc.so.0', 'lib/libc.so.0']) expect(await fileType(path.join(v.sysroot, lib))).toMatch(new RegExp(`ELF 32-bit ${order} shared object, ${tc.fileMachine}`));
          expect(await fileType(path.join(v.sysroot, 'usr/lib/libc.a'))).toMatch(/current ar archive/);
        }
        // Exactly the series the lab keeps: uClibc's compat patches (+ the fix for "patched"); none on Debian's glibc.
        const series = async (dir: string) => (await fs.readdir(path.join(uclibcDir, dir))).filter((f) => f.endsWith('.patch')).sort();
        const want = target.libc.kind !== 'uclibc' ? [] : [...(await series('compat')), ...(v.variant === 'patched' ? await series('variants/patched') : [])];
        expect(v.patches.map((p) => path.basename(p.file))).toEqual(want);
        if (target.libc.kind === 'uclibc') expect(want.length).toBeGreaterThan(v.variant === 'patched' ? 1 : 0);
      }

      // The manifest records every source with its digest.
      expect(m.kernel.source.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.userland.packages.map((p) => p.name)).toEqual(target.libc.kind === 'uclibc' ? ['busybox', 'dropbear'] : expect.arrayContaining(['busybox-static', 'dropbear-bin']));

      // A uClibc image holds no glibc: checked with binutils' readelf over the unpacked rootfs, not with the lab's own ELF reader.
      if (target.libc.kind === 'uclibc') {
        const cpio = path.join(bundle.dir, 'images', target.kernel.initramfs === 'external' ? 'rootfs.cpio' : 'initramfs.cpio');
        const elves = await noGlibcIn(cpio, m.libc.variants.map((v) => v.shared?.libDir ?? '/lib'));
        expect(elves.dynamic).toEqual(expect.arrayContaining(['/bin/busybox', '/usr/sbin/dropbear', ...m.libc.variants.map((v) => `/opt/reprolab/probes/${v.variant}/shared/ifaddrs-probe`)]));
        expect(elves.static).toEqual(expect.arrayContaining(['/opt/reprolab/bin/rl-fabric', ...m.libc.variants.map((v) => `/opt/reprolab/probes/${v.variant}/ifaddrs-probe`)]));
      }
      expect(m.rootfs.hostKey).toMatch(/^ssh-ed25519 /);

      // Unchanged inputs: nothing is rebuilt.
      const again = await buildTarget(target.name);
      expect(again.rebuilt).toEqual([]);
      expect(again.dir).toBe(bundle.dir);
    });
  });
}

const armSkip = skipReasonFor('arm-versatile-3.10-uclibc');

describe('a changed uClibc patch', () => {
  it.skipIf(!!armSkip)(
    armSkip ?? 'rebuilds only libc, probes, rootfs and the bundle',
    { timeout: BUILD_TIMEOUT },
    async () => {
      // A harmless, unique patch: a comment in ifaddrs.c, so the key is new on every run.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-patch-'));
      const file = path.join(dir, '9999-e2e-marker.patch');
      const first = (await uclibcFile('libc/inet/ifaddrs.c')).split('\n')[0] ?? '';
      const marker = `/* reprolab e2e ${stamp} */`;
      await fs.writeFile(file, `e2e marker\n\n--- a/libc/inet/ifaddrs.c\n+++ b/libc/inet/ifaddrs.c\n@@ -1 +1,2 @@\n+${marker}\n ${first}\n`);
      const bundle = await buildTarget('arm-versatile-3.10-uclibc', { variants: ['unpatched', 'patched'], extraPatches: [file] });
      expect(bundle.rebuilt.sort()).toEqual(['bundle', 'probes-patched', 'probes-patched-shared', 'rootfs', 'uclibc-patched'].sort());
      expect(bundle.manifest.libc.variants.find((v) => v.variant === 'patched')!.patches.map((p) => path.basename(p.file))).toContain('9999-e2e-marker.patch');
    },
  );

  it.skipIf(!!armSkip)(
    armSkip ?? 'that does not apply fails naming patch, file and hunk',
    { timeout: BUILD_TIMEOUT },
    async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-patch-'));
      const file = path.join(dir, '0042-stale.patch');
      await fs.writeFile(file, 'stale\n\n--- a/libc/inet/ifaddrs.c\n+++ b/libc/inet/ifaddrs.c\n@@ -10,3 +10,3 @@\n no such line\n-nor this one\n+changed\n still nothing\n');
      await expect(buildTarget('arm-versatile-3.10-uclibc', { variants: ['patched'], extraPatches: [file] })).rejects.toThrow(
        /uClibc patch 0042-stale\.patch does not apply: libc\/inet\/ifaddrs\.c hunk #1/,
      );
    },
  );
});
