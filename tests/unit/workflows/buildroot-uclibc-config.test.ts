import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { productUclibcConfig, productUclibcSettings } from '../../../lab/workflows/buildroot/uclibc-config.ts';
import { tempDirs } from '../../helpers.ts';

async function outputWith(config: string, folder = 'uclibc-custom'): Promise<{ output: string; file: string }> {
  const { root } = await tempDirs();
  await fs.mkdir(path.join(root, 'build', folder), { recursive: true });
  const file = path.join(root, 'build', folder, '.config');
  await fs.writeFile(file, config);
  return { output: root, file };
}

const BUILDROOT = [
  '#',
  '# Automatically generated make config: don\'t edit',
  '#',
  'TARGET_arm=y',
  'CONFIG_ARM_EABI=y',
  'KERNEL_HEADERS="/home/b/output/build/linux-headers-custom/usr/include"',
  'CROSS_COMPILER_PREFIX="/home/b/output/host/bin/arm-buildroot-linux-uclibcgnueabi-"',
  'RUNTIME_PREFIX="/"',
  'DEVEL_PREFIX="/usr"',
  'UCLIBC_EXTRA_CFLAGS="-fplugin=/tmp/x.so"',
  'UCLIBC_HAS_RESOLVER_SUPPORT=y',
  '# UCLIBC_HAS_LOCALE is not set',
  'UCLIBC_PWD_BUFFER_SIZE=256',
  'MULTILIB_DIR="lib"',
  '',
].join('\n');

describe("a product's uClibc config, for validate-patch's candidate", () => {
  it("is found in Buildroot's build folder, by version or as an override's uclibc-custom", async () => {
    const a = await outputWith(BUILDROOT);
    expect(await productUclibcConfig(a.output, '1.0.42')).toBe(a.file);
    const b = await outputWith(BUILDROOT, 'uclibc-1.0.42');
    expect(await productUclibcConfig(b.output, '1.0.42')).toBe(b.file);
    await expect(productUclibcConfig(b.output, '1.0.43')).rejects.toThrow(/no uclibc-1\.0\.43\/\.config or uclibc-custom\/\.config/);
  });

  it("keeps the product's options; its host paths, prefixes and extra flags are the lab's", async () => {
    const s = await productUclibcSettings((await outputWith(BUILDROOT)).file);
    const byName = Object.fromEntries(s.map((x) => [x.name, x.value]));
    expect(byName).toEqual({
      TARGET_arm: 'y', CONFIG_ARM_EABI: 'y', UCLIBC_HAS_RESOLVER_SUPPORT: 'y', UCLIBC_HAS_LOCALE: 'n', UCLIBC_PWD_BUFFER_SIZE: '256', MULTILIB_DIR: '"lib"',
      RUNTIME_PREFIX: '"/"', DEVEL_PREFIX: '"/usr/"', UCLIBC_EXTRA_CFLAGS: '""',
    });
    expect(s.find((x) => x.name === 'UCLIBC_HAS_RESOLVER_SUPPORT')!.origin).toMatch(/uclibc-custom\/\.config:11$/);
  });

  it('refuses a value that make or the shell could read as more than a value, naming the file, line and option', async () => {
    for (const [line, bad] of [['MULTILIB_DIR="$(shell id)"', 'MULTILIB_DIR'], ['MULTILIB_DIR="../../etc"', 'MULTILIB_DIR'], ['UCLIBC_FOO=`id`', 'UCLIBC_FOO'], ['UCLIBC_FOO="a;b"', 'UCLIBC_FOO']] as const) {
      const { file } = await outputWith(`${BUILDROOT}${line}\n`);
      await expect(productUclibcSettings(file), line).rejects.toThrow(new RegExp(`\\.config:15: ${bad}'s value is not one the lab passes`));
    }
    const { file } = await outputWith(`${BUILDROOT}export X=1\n`);
    await expect(productUclibcSettings(file)).rejects.toThrow(/\.config:15: not a config line/);
  });
});
