import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readElf } from '../../../lab/formats/elf.ts';
import { auditUclibcImage } from '../../../lab/bundle/libc-audit.ts';
import { ccWrapperScript } from '../../../lab/bundle/cc-wrapper.ts';
import { lastWins, replaceSettings } from '../../../lab/bundle/config-fragment.ts';
import { dscFiles } from '../../../lab/sources/debian-source.ts';
import { judgeUdhcpc6 } from '../../../lab/scenarios/judges/getifaddrs.ts';
import type { NetTruth } from '../../../lab/fabric/truth.ts';

/** A minimal 32-bit ELF: one PT_LOAD over the file, optional PT_INTERP, optional PT_DYNAMIC with DT_NEEDED entries. */
function elf32(opts: { big?: boolean; interp?: string; needed?: string[]; body?: string }): Buffer {
  const big = opts.big ?? false;
  const base = 0x400000;
  const phnum = 1 + (opts.interp ? 1 : 0) + (opts.needed ? 1 : 0);
  const phoff = 52;
  let at = phoff + phnum * 32;
  const interpOff = at;
  const interp = opts.interp ? Buffer.from(`${opts.interp}\0`, 'latin1') : Buffer.alloc(0);
  at += interp.length;
  const strtabOff = at;
  const names = opts.needed ?? [];
  const strtab = Buffer.from(`\0${names.map((n) => `${n}\0`).join('')}`, 'latin1');
  at += strtab.length;
  at = (at + 3) & ~3;
  const dynOff = at;
  const dynEntries: [number, number][] = [];
  let nameAt = 1;
  for (const n of names) {
    dynEntries.push([1, nameAt]);
    nameAt += n.length + 1;
  }
  dynEntries.push([5, base + strtabOff], [0, 0]);
  at += opts.needed ? dynEntries.length * 8 : 0;
  const body = Buffer.from(opts.body ?? '', 'latin1');
  const buf = Buffer.alloc(at + body.length);
  const u16 = (o: number, v: number) => (big ? buf.writeUInt16BE(v, o) : buf.writeUInt16LE(v, o));
  const u32 = (o: number, v: number) => (big ? buf.writeUInt32BE(v, o) : buf.writeUInt32LE(v, o));
  buf.write('\x7fELF', 0, 'latin1');
  buf[4] = 1;
  buf[5] = big ? 2 : 1;
  buf[6] = 1;
  u16(0x10, 2);
  u16(0x12, 8);
  u32(0x1c, phoff);
  u16(0x2a, 32);
  u16(0x2c, phnum);
  let ph = phoff;
  const phdr = (type: number, offset: number, size: number) => {
    u32(ph, type);
    u32(ph + 4, offset);
    u32(ph + 8, base + offset);
    u32(ph + 16, size);
    ph += 32;
  };
  phdr(1, 0, buf.length);
  if (opts.interp) phdr(3, interpOff, interp.length);
  if (opts.needed) phdr(2, dynOff, dynEntries.length * 8);
  interp.copy(buf, interpOff);
  strtab.copy(buf, strtabOff);
  if (opts.needed) dynEntries.forEach(([tag, val], i) => (u32(dynOff + i * 8, tag), u32(dynOff + i * 8 + 4, val)));
  body.copy(buf, at);
  return buf;
}

describe('readElf', () => {
  it('reads the loader and NEEDED of little- and big-endian programs', () => {
    for (const big of [false, true]) {
      const info = readElf(elf32({ big, interp: '/lib/ld-uClibc.so.0', needed: ['libm.so.0', 'libc.so.0'] }))!;
      expect(info).toMatchObject({ class: 32, endian: big ? 'big' : 'little', interp: '/lib/ld-uClibc.so.0', needed: ['libm.so.0', 'libc.so.0'], dynamic: true });
    }
  });

  it('says static for a program without PT_INTERP and PT_DYNAMIC, and undefined for a non-ELF file', () => {
    expect(readElf(elf32({}))).toMatchObject({ needed: [], dynamic: false });
    expect(readElf(elf32({}))!.interp).toBeUndefined();
    expect(readElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64, ' ')))).toBeUndefined();
  });
});

describe('auditUclibcImage', () => {
  const opts = { loaders: ['/lib/ld-uClibc.so.0', '/opt/reprolab/libc/patched/lib/ld-uClibc.so.0'], sonames: ['libc.so.0', 'libm.so.0', 'ld-uClibc.so.0'] };

  it('accepts programs on a uClibc loader and static programs started by __uClibc_main', () => {
    const audit = auditUclibcImage(
      [
        { path: '/bin/busybox', data: elf32({ interp: '/lib/ld-uClibc.so.0', needed: ['libm.so.0', 'libc.so.0'] }) },
        { path: '/opt/reprolab/probes/patched/shared/ifaddrs-probe', data: elf32({ big: true, interp: '/opt/reprolab/libc/patched/lib/ld-uClibc.so.0', needed: ['libc.so.0'] }) },
        { path: '/opt/reprolab/bin/rl-fabric', data: elf32({ body: 'x__uClibc_main\0' }) },
        { path: '/init', data: Buffer.from('#!/bin/sh\n') },
      ],
      opts,
    );
    expect(audit.violations).toEqual([]);
    expect(audit.elves.map((e) => e.linkage)).toEqual(['dynamic', 'dynamic', 'static']);
  });

  it("reads uClibc-ng's runnable libuClibc-*.so in a variant's lib folder as a library, and the same interpreter elsewhere as a violation", () => {
    const lib = elf32({ interp: '/lib/ld-uClibc.so.1', needed: [] });
    const files = [
      { path: '/opt/reprolab/libc/ng/lib/libuClibc-1.0.57.so', data: lib },
      { path: '/usr/bin/tool', data: lib },
      // Not in a variant's own folder, or not uClibc-ng's library name: the loader rule holds.
      { path: '/lib/libuClibc-1.0.57.so', data: lib },
      { path: '/opt/reprolab/libc/ng/lib/libfoo.so', data: lib },
    ];
    const audit = auditUclibcImage(files, { ...opts, libDirs: ['/lib/', '/opt/reprolab/libc/ng/lib/'] });
    expect(audit.elves.map((e) => e.linkage)).toEqual(['library', 'dynamic', 'dynamic', 'dynamic']);
    expect(audit.violations).toEqual(['/usr/bin/tool', '/lib/libuClibc-1.0.57.so', '/opt/reprolab/libc/ng/lib/libfoo.so'].map((f) => `${f}: loads /lib/ld-uClibc.so.1, not a uClibc loader (${opts.loaders.join(', ')})`));
  });

  it('names every glibc file, foreign loader, foreign library and glibc-static program', () => {
    const audit = auditUclibcImage(
      [
        { path: '/lib/mipsel-linux-gnu/libc.so.6', data: Buffer.from('not elf') },
        { path: '/usr/sbin/dropbear', data: elf32({ interp: '/lib/ld.so.1', needed: ['libc.so.6'] }) },
        { path: '/bin/busybox', data: elf32({ body: '__libc_start_main\0' }) },
        { path: '/opt/reprolab/bin/stripped', data: elf32({}) },
      ],
      opts,
    );
    expect(audit.violations).toEqual([
      '/lib/mipsel-linux-gnu/libc.so.6: a glibc file name',
      '/usr/sbin/dropbear: loads /lib/ld.so.1, not a uClibc loader (/lib/ld-uClibc.so.0, /opt/reprolab/libc/patched/lib/ld-uClibc.so.0)',
      '/usr/sbin/dropbear: needs libc.so.6, which uClibc does not ship',
      "/bin/busybox: static, but glibc's __libc_start_main is in it",
      '/opt/reprolab/bin/stripped: static, but no __uClibc_main in it (stripped, or another libc)',
    ]);
  });
});

describe('dscFiles', () => {
  it("reads a .dsc's Checksums-Sha256 list", () => {
    const dsc = `Format: 3.0 (quilt)\nSource: busybox\nChecksums-Sha1:\n ${'a'.repeat(40)} 10 x.tar.bz2\nChecksums-Sha256:\n ${'b'.repeat(64)} 2480624 busybox_1.35.0.orig.tar.bz2\n ${'c'.repeat(64)} 68028 busybox_1.35.0-4+deb12u1.debian.tar.xz\nFiles:\n ${'d'.repeat(32)} 10 x\n`;
    expect(dscFiles(dsc)).toEqual([
      { name: 'busybox_1.35.0.orig.tar.bz2', sha256: 'b'.repeat(64) },
      { name: 'busybox_1.35.0-4+deb12u1.debian.tar.xz', sha256: 'c'.repeat(64) },
    ]);
    expect(dscFiles('Source: x\n')).toEqual([]);
  });
});

describe('lastWins', () => {
  it("keeps one setting per name, the target's over the board's", () => {
    const s = lastWins([
      { name: 'CONFIG_CPU_LITTLE_ENDIAN', value: 'y', origin: 'board' },
      { name: 'CONFIG_PCI', value: 'y', origin: 'board' },
      { name: 'CONFIG_CPU_LITTLE_ENDIAN', value: 'n', origin: 'target' },
    ]);
    expect(s.map((x) => `${x.name}=${x.value} (${x.origin})`)).toEqual(['CONFIG_PCI=y (board)', 'CONFIG_CPU_LITTLE_ENDIAN=n (target)']);
  });
});

describe('replaceSettings', () => {
  it("replaces a .config's own lines for the same names (busybox keeps the first of two)", () => {
    const config = 'CONFIG_STATIC=y\nCONFIG_NSLOOKUP=y\n# CONFIG_PIE is not set\nCONFIG_NSLOOKUP_BIG=y\n';
    const out = replaceSettings(config, [
      { name: 'CONFIG_NSLOOKUP', value: 'n', origin: 'f:1' },
      { name: 'CONFIG_PIE', value: 'n', origin: 'f:2' },
    ]);
    expect(out).toBe('CONFIG_STATIC=y\nCONFIG_NSLOOKUP_BIG=y\n# CONFIG_NSLOOKUP is not set\n# CONFIG_PIE is not set\n');
  });
});

describe('ccWrapperScript', () => {
  it('compiles, partially links, and links dynamic or static as the arguments ask', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-cc-'));
    const fakeCc = path.join(dir, 'fake-gcc');
    await fs.writeFile(fakeCc, '#!/bin/sh\necho "$*"\n', { mode: 0o755 });
    const recipe = (tag: string) => ({ cc: fakeCc, compile: ['-nostdinc', '-isystem', '/s/usr/include'], linkBefore: [`${tag}-before`, '/s/usr/lib/crt1.o'], linkAfter: [`${tag}-after`, '/s/usr/lib/crtn.o'] });
    const cc = path.join(dir, 'cc');
    await fs.writeFile(cc, ccWrapperScript({ static: recipe('static'), shared: recipe('shared') }, '/s/usr/lib', 'test'), { mode: 0o755 });
    const run = async (...args: string[]) => (await execa(cc, args)).stdout;
    expect(await run('-c', 'a.c', '-o', 'a.o')).toBe('-nostdinc -isystem /s/usr/include -c a.c -o a.o');
    expect(await run('-M', 'a.c')).toBe('-nostdinc -isystem /s/usr/include -M a.c');
    expect(await run('-r', 'a.o', 'b.o', '-o', 'ab.o')).toBe('-nostdinc -isystem /s/usr/include -no-pie -nostdlib -r a.o b.o -o ab.o');
    expect(await run('-o', 'prog', 'a.o', '-lm')).toBe('-nostdinc -isystem /s/usr/include shared-before /s/usr/lib/crt1.o -o prog a.o -lm shared-after /s/usr/lib/crtn.o');
    expect(await run('-static', '-o', 'prog', 'a.o')).toBe('-nostdinc -isystem /s/usr/include static-before /s/usr/lib/crt1.o -L/s/usr/lib -static -o prog a.o static-after /s/usr/lib/crtn.o');
    // The users' cc in a bundle's host/bin: no shared recipe, so a program link is static; a compile is still only a compile.
    await fs.writeFile(cc, ccWrapperScript({ static: recipe('static') }, undefined, 'users'), { mode: 0o755 });
    expect(await run('-c', 'a.c', '-o', 'a.o')).toBe('-nostdinc -isystem /s/usr/include -c a.c -o a.o');
    expect(await run('-o', 'prog', 'a.c')).toBe('-nostdinc -isystem /s/usr/include static-before /s/usr/lib/crt1.o -o prog a.c static-after /s/usr/lib/crtn.o');
    await fs.rm(dir, { recursive: true, force: true });
  });
});

describe('judgeUdhcpc6', () => {
  const truth = (linkLocal: boolean): NetTruth => ({
    links: [{ index: 2, name: 'eth0', kind: 'ether', up: true }],
    addrs: [{ index: 2, family: 'inet', address: '10.0.2.15', prefix: 24 }, ...(linkLocal ? [{ index: 2, family: 'inet6' as const, address: 'fe80::5054:ff:fe12:3456', prefix: 64 }] : [])],
    sysfs: ['eth0'],
    mismatch: [],
    firstLinkChunkBytes: 7660,
    linkChunks: 3,
  });

  it("FAILs on busybox's message, PASSes when it sent a solicit, and cannot judge without a link-local address or either line", () => {
    const lib = '/opt/reprolab/libc/patched/lib';
    const trace = `\tlibc.so.0 => ${lib}/libc.so.0 (0x77344000)\n`;
    expect(judgeUdhcpc6(`${trace}udhcpc6: sending discover\n`, truth(true), 'eth0', '/lib')).toMatchObject({ outcome: 'ERROR', symptom: expect.stringContaining('did not load /lib/libc.so.0') });
    expect(judgeUdhcpc6(`${trace}udhcpc6: can't get link-local IPv6 address\n`, truth(true), 'eth0', lib)).toEqual({ outcome: 'FAIL', symptom: "udhcpc6: can't get link-local IPv6 address (eth0 has fe80::5054:ff:fe12:3456)" });
    expect(judgeUdhcpc6(`${trace}udhcpc6: started, v1.35.0\nudhcpc6: sending discover\nudhcpc6: no lease, failing\n`, truth(true), 'eth0', lib).outcome).toBe('PASS');
    expect(judgeUdhcpc6(`${trace}udhcpc6: sending discover\n`, truth(false), 'eth0', lib).outcome).toBe('ERROR');
    expect(judgeUdhcpc6(`${trace}udhcpc6: applet not found\n`, truth(true), 'eth0', lib)).toMatchObject({ outcome: 'ERROR', symptom: expect.stringContaining('cannot judge') });
  });
});
