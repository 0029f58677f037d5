import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { productUclibcConfig, productUclibcSettings } from '../../../lab/workflows/buildroot/uclibc-config.ts';
import { tempDirs } from '../../helpers.ts';

async function outputWith(config: string, folders = ['uclibc-custom']): Promise<{ output: string; file: string }> {
  const { root } = await tempDirs();
  for (const folder of folders) {
    await fs.mkdir(path.join(root, 'build', folder), { recursive: true });
    await fs.writeFile(path.join(root, 'build', folder, '.config'), config);
  }
  return { output: root, file: path.join(root, 'build', folders[0]!, '.config') };
}

/** The shape of the real product's build/uclibc-custom/.config (Buildroot 2022.11.3, uClibc-ng 1.0.42), cut down. */
const BUILDROOT = [
  '#',
  '# Automatically generated file; DO NOT EDIT.',
  '#',
  'TARGET_arm=y',
  'TARGET_ARCH="arm"',
  'TARGET_SUBARCH=""',
  'KERNEL_HEADERS="/home/b/output/build/linux-headers-custom/usr/include"',
  'CROSS_COMPILER_PREFIX="/home/b/output/host/bin/arm-buildroot-linux-uclibcgnueabi-"',
  'RUNTIME_PREFIX="/"',
  'DEVEL_PREFIX="/usr"',
  'UCLIBC_EXTRA_CFLAGS="-fplugin=/tmp/x.so"',
  'WARNINGS="-Wall -wrapper /bin/rm,-rf,/tmp/victim"',
  'UCLIBC_HAS_RESOLVER_SUPPORT=y',
  '# UCLIBC_HAS_LOCALE is not set',
  'UCLIBC_PWD_BUFFER_SIZE=256',
  'MULTILIB_DIR="lib"',
  'UCLIBC_TZ_FILE_PATH="/etc/TZ"',
  '',
].join('\n');
const LINES = BUILDROOT.split('\n').length; // an appended line is line LINES

describe("a product's uClibc config, for validate-patch's candidate", () => {
  it("is found in Buildroot's build folder, by version or as an override's uclibc-custom; both at once are refused", async () => {
    const a = await outputWith(BUILDROOT);
    expect(await productUclibcConfig(a.output, '1.0.42')).toEqual({ file: a.file, override: true });
    const b = await outputWith(BUILDROOT, ['uclibc-1.0.42']);
    expect(await productUclibcConfig(b.output, '1.0.42')).toEqual({ file: b.file, override: false });
    await expect(productUclibcConfig(b.output, '1.0.43')).rejects.toThrow(/no uclibc-1\.0\.43\/\.config or uclibc-custom\/\.config/);
    const both = await outputWith(BUILDROOT, ['uclibc-1.0.42', 'uclibc-custom']);
    await expect(productUclibcConfig(both.output, '1.0.42')).rejects.toThrow(/both uclibc-1\.0\.42\/\.config and uclibc-custom\/\.config/);
  });

  it("keeps the product's options; its host paths, prefixes and flags are the lab's", async () => {
    const s = await productUclibcSettings((await outputWith(BUILDROOT)).file);
    const byName = Object.fromEntries(s.map((x) => [x.name, x.value]));
    expect(byName).toEqual({
      TARGET_arm: 'y', TARGET_ARCH: '"arm"', TARGET_SUBARCH: '""', UCLIBC_HAS_RESOLVER_SUPPORT: 'y', UCLIBC_HAS_LOCALE: 'n', UCLIBC_PWD_BUFFER_SIZE: '256', MULTILIB_DIR: '"lib"', UCLIBC_TZ_FILE_PATH: '"/etc/TZ"',
      RUNTIME_PREFIX: '"/"', DEVEL_PREFIX: '"/usr/"', UCLIBC_EXTRA_CFLAGS: '""', WARNINGS: '"-Wall"',
    });
    expect(s.find((x) => x.name === 'UCLIBC_HAS_RESOLVER_SUPPORT')!.origin).toMatch(/uclibc-custom\/\.config:13$/);
  });

  it('an option the lab sets stays the lab\'s even when the product unsets it; a name given twice: the later wins', async () => {
    const s = await productUclibcSettings((await outputWith(`${BUILDROOT}# CROSS_COMPILER_PREFIX is not set\n# RUNTIME_PREFIX is not set\nUCLIBC_PWD_BUFFER_SIZE=512\n`)).file);
    expect(s.filter((x) => x.name === 'CROSS_COMPILER_PREFIX')).toEqual([]);
    expect(s.filter((x) => x.name === 'RUNTIME_PREFIX').map((x) => x.value)).toEqual(['"/"']);
    expect(s.filter((x) => x.name === 'UCLIBC_PWD_BUFFER_SIZE').map((x) => x.value)).toEqual(['512']);
  });

  it('refuses a value make, the compiler or the shell could read as more than a value, naming the file, line and option', async () => {
    const cases: [string, RegExp][] = [
      ['MULTILIB_DIR="$(shell id)"', /MULTILIB_DIR's value is not in the shape/],
      ['MULTILIB_DIR="lib /etc"', /MULTILIB_DIR's value is not in the shape/],
      ['MULTILIB_DIR="../../etc"', /MULTILIB_DIR's value is not in the shape/],
      ['UCLIBC_TZ_FILE_PATH="/etc/../../x"', /UCLIBC_TZ_FILE_PATH's value is not in the shape/],
      ['TARGET_LDSO_NAME="-ld"', /TARGET_LDSO_NAME's value is not in the shape/],
      ['UCLIBC_EXTRA_LDFLAGS="-Wl,--plugin=/x"', /UCLIBC_EXTRA_LDFLAGS's value is a text option the lab does not take from a product/],
      ['UCLIBC_FOO=`id`', /UCLIBC_FOO's value is not y, m, n or a number/],
    ];
    for (const [line, want] of cases) {
      const { file } = await outputWith(`${BUILDROOT}${line}\n`);
      const err = await productUclibcSettings(file).then(() => undefined, (e: Error) => e);
      expect(err?.message, line).toMatch(new RegExp(`\\.config:${LINES}: ${want.source}`));
    }
    const { file } = await outputWith(`${BUILDROOT}export X=1\n`);
    await expect(productUclibcSettings(file)).rejects.toThrow(new RegExp(`\\.config:${LINES}: not a config line`));
  });
});
