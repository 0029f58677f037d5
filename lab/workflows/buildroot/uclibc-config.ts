import fs from 'node:fs/promises';
import path from 'node:path';
import { lastWins, type ConfigSetting } from '../../bundle/config-fragment.ts';
import { LabError } from '../../util/errors.ts';

/** A uClibc .config is a few hundred lines; a product's file is read no further than this. */
const MAX_BYTES = 1024 * 1024;

/** A bool, tristate, int or hex value: nothing make or a compiler could read as more. */
const PLAIN_VALUE = /^(y|m|-?\d{1,10}|0x[0-9a-fA-F]{1,16})$/;

/**
 * uClibc's Makefiles include .config as make syntax, and its text options become install paths,
 * file names and compiler flags. A product's text option is taken only when it is one of these,
 * in this shape (no space, no leading '-', nothing outside the pattern); any other is refused.
 */
const TEXT_OPTIONS: Record<string, RegExp> = {
  TARGET_ARCH: /^"[a-z0-9_]{1,16}"$/,
  TARGET_SUBARCH: /^"[a-z0-9_]{0,16}"$/,
  TARGET_LDSO_NAME: /^"[A-Za-z][A-Za-z0-9_-]{0,31}"$/,
  MULTILIB_DIR: /^"[a-z0-9]{1,16}"$/,
  UCLIBC_TZ_FILE_PATH: /^"\/[A-Za-z0-9_/-]{1,64}"$/,
  LDSO_BASE_FILENAME: /^"[A-Za-z][A-Za-z0-9_-]{0,31}(\.[A-Za-z0-9_-]{1,16}){0,3}"$/,
};

/** Set by the lab, whatever the product says: install prefixes, and no flags of the product's. */
const LAB_OWNED: Record<string, string> = {
  RUNTIME_PREFIX: '"/"',
  DEVEL_PREFIX: '"/usr/"',
  UCLIBC_EXTRA_CFLAGS: '""',
  WARNINGS: '"-Wall"',
};
/** Filled in by compileUclibc from the lab's own headers and compiler. */
const SET_BY_COMPILE = new Set(['KERNEL_HEADERS', 'CROSS_COMPILER_PREFIX']);

/**
 * The product's uClibc config as Buildroot left it: build/uclibc-<version>/.config, or
 * build/uclibc-custom/.config when the product built an override tree. Both present: the product
 * switched sources, and which one built the libc it ships cannot be told.
 */
export async function productUclibcConfig(outputDir: string, version: string): Promise<{ file: string; override: boolean }> {
  const build = path.join(outputDir, 'build');
  const found: { file: string; override: boolean }[] = [];
  for (const n of [`uclibc-${version}`, 'uclibc-custom']) {
    const file = path.join(build, n, '.config');
    if ((await fs.lstat(file).catch(() => undefined))?.isFile()) found.push({ file, override: n === 'uclibc-custom' });
  }
  if (found.length === 1) return found[0]!;
  if (found.length > 1) throw new LabError(`${build}: both uclibc-${version}/.config and uclibc-custom/.config: which one built the product's libc cannot be told`, { fix: `remove the folder of the source the product no longer builds (build/uclibc-${version} when it uses UCLIBC_OVERRIDE_SRCDIR, build/uclibc-custom when it does not), or import a clean output` });
  throw new LabError(`${build}: no uclibc-${version}/.config or uclibc-custom/.config (the configuration the product's uClibc-ng was built with)`, {
    fix: "validate-patch builds the product's uClibc-ng with its own configuration: import an output whose build folder is kept (Buildroot keeps it unless cleaned)",
  });
}

/** One line of the product's .config as a setting; undefined for a comment, a blank line or an option the lab sets. */
function readLine(line: string, origin: string): ConfigSetting | undefined {
  const unset = /^# ([A-Za-z0-9_]{1,80}) is not set$/.exec(line);
  const m = unset ? [line, unset[1]!, 'n'] : /^([A-Za-z0-9_]{1,80})=(.*)$/.exec(line);
  if (!m) {
    if (line === '' || line.startsWith('#')) return undefined;
    throw new LabError(`${origin}: not a config line`, { fix: 'a uClibc .config holds NAME=value lines and comments' });
  }
  const [, name, value] = m as [string, string, string];
  if (SET_BY_COMPILE.has(name) || name in LAB_OWNED) return undefined;
  const shape = TEXT_OPTIONS[name];
  const ok = value === 'n' || (shape ? shape.test(value) : PLAIN_VALUE.test(value));
  if (!ok) {
    const why = shape ? `not in the shape the lab passes for it (${shape.source})` : value.startsWith('"') ? 'a text option the lab does not take from a product' : 'not y, m, n or a number';
    throw new LabError(`${origin}: ${name}'s value is ${why}`, { fix: `import an output whose uClibc .config Buildroot wrote; the lab passes text options only for ${Object.keys(TEXT_OPTIONS).join(', ')}` });
  }
  return { name, value, origin };
}

/** Reads a product's uClibc .config into settings, every value checked (a name given twice: the later wins, as in Kconfig); the lab's own options replace the product's. */
export async function productUclibcSettings(file: string): Promise<ConfigSetting[]> {
  const st = await fs.stat(file);
  if (st.size > MAX_BYTES) throw new LabError(`${file}: ${st.size} bytes, more than a uClibc .config (${MAX_BYTES})`);
  const lines = (await fs.readFile(file, 'utf8')).split('\n');
  const settings = lines.map((raw, i) => readLine(raw.trim(), `${file}:${i + 1}`)).filter((s): s is ConfigSetting => s !== undefined);
  for (const [name, value] of Object.entries(LAB_OWNED)) settings.push({ name, value, origin: 'lab (install layout, no product flags)' });
  return lastWins(settings);
}
