import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCpio, writeCpio, type CpioEntry } from '../../../lab/formats/cpio.ts';
import { inspectBuildrootOutput } from '../../../lab/workflows/buildroot/inspect.ts';
import { parseKconfig } from '../../../lab/workflows/buildroot/kconfig.ts';
import { tempDirs } from '../../helpers.ts';

const TUPLE = 'arm-buildroot-linux-uclibcgnueabi';

/** A minimal output/ as Buildroot leaves it; `drop` leaves parts out. */
async function fakeOutput(over: { config?: string[]; kernelConfig?: string[]; drop?: string[] } = {}): Promise<string> {
  const { root } = await tempDirs();
  const out = path.join(root, 'output');
  const put = async (rel: string, text: string | Buffer, mode = 0o644) => {
    if (over.drop?.some((d) => rel.startsWith(d))) return;
    await fs.mkdir(path.dirname(path.join(out, rel)), { recursive: true });
    await fs.writeFile(path.join(out, rel), text, { mode });
  };
  await put('.config', [...(over.config ?? ['BR2_arm=y', 'BR2_ENDIAN="LITTLE"', 'BR2_LINUX_KERNEL=y', 'BR2_LINUX_KERNEL_VERSION="3.10.108"', 'BR2_UCLIBC_VERSION_STRING="0.9.33.2"']), ''].join('\n'));
  await put('images/zImage', Buffer.alloc(64));
  await put('images/versatile-pb.dtb', Buffer.alloc(8));
  await put('images/rootfs.cpio', writeCpio([{ kind: 'file', path: '/bin/busybox', mode: 0o755, data: Buffer.from('bb') }]));
  await put(`host/bin/${TUPLE}-gcc`, '#!/bin/sh\n', 0o755);
  await put(`host/bin/${TUPLE}-gcc-ar`, '#!/bin/sh\n', 0o755);
  await put(`host/${TUPLE}/sysroot/usr/include/bits/uClibc_config.h`, '#define __UCLIBC_MAJOR__ 0\n#define __UCLIBC_MINOR__ 9\n#define __UCLIBC_SUBLEVEL__ 33\n');
  await put('build/linux-3.10.108/.config', [...(over.kernelConfig ?? ['CONFIG_ARM=y', '# CONFIG_PAGE_SIZE_16KB is not set']), ''].join('\n'));
  await fs.mkdir(path.join(out, 'host', TUPLE, 'sysroot'), { recursive: true });
  if (!over.drop?.includes('staging')) await fs.symlink(path.join('host', TUPLE, 'sysroot'), path.join(out, 'staging'));
  return out;
}

describe('Buildroot outputs', () => {
  it('parses a Kconfig file: y, strings with escapes, numbers, "is not set"', () => {
    const c = parseKconfig('BR2_arm=y\nBR2_ARCH="arm"\n# BR2_mipsel is not set\nBR2_JLEVEL=0\nBR2_X="a \\"q\\" b"\n\n# comment\n');
    expect([...c]).toEqual([['BR2_arm', true], ['BR2_ARCH', 'arm'], ['BR2_mipsel', false], ['BR2_JLEVEL', '0'], ['BR2_X', 'a "q" b']]);
  });

  it('reads arch, toolchain, libc (from the sysroot headers and the .config), kernel and rootfs where Buildroot puts them', async () => {
    const out = await fakeOutput();
    const o = await inspectBuildrootOutput(out);
    expect(o.arch).toBe('arm');
    expect(o.tuple).toBe(TUPLE);
    expect(o.cc).toBe(path.join(out, 'host/bin', `${TUPLE}-gcc`));
    expect(o.sysroot).toBe(await fs.realpath(path.join(out, 'host', TUPLE, 'sysroot')));
    expect(o.libc).toEqual({ kind: 'uclibc', version: '0.9.33.2' });
    expect(o.kernel).toMatchObject({ version: '3.10.108', image: path.join(out, 'images/zImage'), dtb: path.join(out, 'images/versatile-pb.dtb'), pageSizeKiB: 4 });
    expect(o.rootfs).toEqual({ file: path.join(out, 'images/rootfs.cpio'), format: 'cpio' });
  });

  it('reads the page size from the kernel config (malta 16K)', async () => {
    const out = await fakeOutput({ config: ['BR2_mipsel=y', 'BR2_LINUX_KERNEL=y', 'BR2_LINUX_KERNEL_VERSION="3.10.108"'], kernelConfig: ['CONFIG_PAGE_SIZE_16KB=y'] });
    await expect(inspectBuildrootOutput(out)).rejects.toThrow(/a mipsel cross compiler not found: .*host\/bin\/mipsel-\*-linux-\*-gcc/);
    await fs.rename(path.join(out, 'host/bin', `${TUPLE}-gcc`), path.join(out, 'host/bin/mipsel-buildroot-linux-uclibc-gcc'));
    expect((await inspectBuildrootOutput(out)).kernel.pageSizeKiB).toBe(16);
  });

  it('says what is missing and where Buildroot would have put it', async () => {
    await expect(inspectBuildrootOutput(await fakeOutput({ drop: ['.config'] }))).rejects.toThrow(/a Buildroot \.config not found: .*output\/\.config/);
    await expect(inspectBuildrootOutput(await fakeOutput({ drop: ['images/zImage'] }))).rejects.toThrow(/a kernel image QEMU can boot not found: .*images\/zImage \(ARM\) or .*images\/vmlinux \(MIPS\)/);
    await expect(inspectBuildrootOutput(await fakeOutput({ drop: ['images/rootfs.cpio'] }))).rejects.toThrow(/a root filesystem not found: .*rootfs\.cpio, rootfs\.cpio\.gz or rootfs\.ext2/);
    await expect(inspectBuildrootOutput(await fakeOutput({ drop: ['staging'] }))).rejects.toThrow(/the staging sysroot not found/);
    await expect(inspectBuildrootOutput(await fakeOutput({ drop: [`host/${TUPLE}/sysroot/usr`] }))).rejects.toThrow(/a libc not found: .*bits\/uClibc_config\.h or .*features\.h/);
    await expect(inspectBuildrootOutput(await fakeOutput({ config: ['BR2_aarch64=y', 'BR2_ARCH="aarch64"'] }))).rejects.toThrow(/BR2_ARCH="aarch64" is not a guest the lab runs/);
    await expect(inspectBuildrootOutput(await fakeOutput({ config: ['BR2_arm=y'] }))).rejects.toThrow(/BR2_LINUX_KERNEL is not set/);
    await expect(inspectBuildrootOutput(await fakeOutput({ kernelConfig: ['CONFIG_INITRAMFS_SOURCE="rootfs.cpio"'] }))).rejects.toThrow(/the rootfs is linked into the kernel/);
  });

  it('reads back what the cpio writer wrote, and refuses what is not newc', () => {
    const entries: CpioEntry[] = [
      { kind: 'dir', path: '/etc', mode: 0o755 },
      { kind: 'file', path: '/etc/passwd', mode: 0o644, data: Buffer.from('root:x:0:0::/root:/bin/sh\n') },
      { kind: 'file', path: '/bin/su', mode: 0o4755, data: Buffer.from('x') },
      { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
      { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
    ];
    const back = readCpio(writeCpio(entries));
    expect(back.skipped).toEqual([]);
    expect(back.entries.sort((a, b) => a.path.localeCompare(b.path))).toEqual([...entries].sort((a, b) => a.path.localeCompare(b.path)));
    expect(() => readCpio(Buffer.from('not a cpio archive at all, no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no'))).toThrow(/not a newc cpio archive at byte 0/);
  });
});
