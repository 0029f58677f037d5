import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigSetting } from '../../bundle/config-fragment.ts';
import { LabError } from '../../util/errors.ts';

/** A uClibc .config is a few hundred lines; a product's file is read no further than this. */
const MAX_BYTES = 1024 * 1024;

/**
 * uClibc's Makefiles include .config as make syntax, and its values become install paths and
 * compiler flags: a product's value is taken only in a shape that can be nothing else.
 */
const SAFE_VALUE = /^(y|m|-?\d{1,10}|0x[0-9a-fA-F]{1,16}|"[A-Za-z0-9_.,:/+= -]{0,200}")$/;

/** Options the lab sets itself: where the build installs to, and nothing of the product's host paths or flags. */
const LAB_OWNED: Record<string, string> = {
  RUNTIME_PREFIX: '"/"',
  DEVEL_PREFIX: '"/usr/"',
  UCLIBC_EXTRA_CFLAGS: '""',
};
/** Filled in by compileUclibc from the lab's own headers and compiler. */
const SET_BY_COMPILE = new Set(['KERNEL_HEADERS', 'CROSS_COMPILER_PREFIX']);

/** The product's uClibc config as Buildroot left it: build/uclibc-<version>/.config (or uclibc-custom for an override). */
export async function productUclibcConfig(outputDir: string, version: string): Promise<string> {
  const build = path.join(outputDir, 'build');
  const names = (await fs.readdir(build).catch(() => [] as string[])).filter((n) => n === `uclibc-${version}` || n === 'uclibc-custom').sort();
  for (const n of names) {
    const file = path.join(build, n, '.config');
    const st = await fs.lstat(file).catch(() => undefined);
    if (st?.isFile()) return file;
  }
  throw new LabError(`${build}: no uclibc-${version}/.config or uclibc-custom/.config (the configuration the product's uClibc-ng was built with)`, {
    fix: "validate-patch builds the product's uClibc-ng with its own configuration: import an output whose build folder is kept (Buildroot keeps it unless cleaned)",
  });
}

/** Reads a product's uClibc .config into settings, every value checked; the lab's own options replace the product's. */
export async function productUclibcSettings(file: string): Promise<ConfigSetting[]> {
  const st = await fs.stat(file);
  if (st.size > MAX_BYTES) throw new LabError(`${file}: ${st.size} bytes, more than a uClibc .config (${MAX_BYTES})`);
  const settings: ConfigSetting[] = [];
  (await fs.readFile(file, 'utf8')).split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const origin = `${file}:${i + 1}`;
    const unset = /^# ([A-Za-z0-9_]{1,80}) is not set$/.exec(line);
    if (unset) return void settings.push({ name: unset[1]!, value: 'n', origin });
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9_]{1,80})=(.*)$/.exec(line);
    if (!m) throw new LabError(`${origin}: not a config line`, { fix: 'a uClibc .config holds NAME=value lines and comments' });
    const [, name, value] = m as unknown as [string, string, string];
    if (SET_BY_COMPILE.has(name) || name in LAB_OWNED) return;
    if (!SAFE_VALUE.test(value) || value.includes('..')) throw new LabError(`${origin}: ${name}'s value is not one the lab passes to uClibc's build (y, m, a number, or a plain quoted text)`, { fix: 'import an output whose uClibc .config Buildroot wrote' });
    settings.push({ name, value, origin });
  });
  for (const [name, value] of Object.entries(LAB_OWNED)) settings.push({ name, value, origin: 'lab (install layout, no product flags)' });
  return settings;
}
