import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError, UsageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { repoRoot } from '../util/paths.ts';
import { readQemuSpec, type Arch, type KernelLine, type Target } from '../model/target.ts';
import { Fields, parseJson } from '../model/fields.ts';

export const targetsDir = path.join(repoRoot, 'images', 'targets');

const ARCHES: readonly Arch[] = ['arm', 'mipsel', 'mips'];
const LINES: readonly KernelLine[] = ['3.10', '6.1'];
const NAME = /^[a-z0-9][a-z0-9.-]*$/;

/**
 * `libc.uclibcNg`: which variants are uClibc-ng revisions, e.g. {"ng-1.0.57": "v1.0.57"}. Each is one
 * of the variants; the baseline ("unpatched", the image's /lib that its programs are linked against) never is.
 */
function uclibcNgVariants(f: Fields, variants: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of f.keys()) {
    if (!variants.includes(name)) f.fail(name, `one of libc.variants (${variants.join(', ')})`, name, `add "${name}" to libc.variants or remove it from libc.uclibcNg`);
    if (name === 'unpatched') f.fail(name, 'absent: "unpatched" is the image\'s own uClibc 0.9.33.2', name);
    out[name] = f.string(name, /^[A-Za-z0-9._\/~^-]+$/);
  }
  return out;
}

/** Parses and validates one target definition; errors name the file and the field. */
export function parseTarget(file: string, text: string): Target {
  const top = new Fields(file, parseJson(file, text));
  top.only(['name', 'description', 'arch', 'qemu', 'kernel', 'libc', 'default']);
  const name = top.string('name', NAME);
  const expectedName = path.basename(file, '.json');
  if (name !== expectedName) {
    top.fail('name', `the file's base name "${expectedName}"`, name, `rename ${file} to ${name}.json or set "name": "${expectedName}"`);
  }
  const qemu = top.object('qemu');
  const kernel = top.object('kernel');
  kernel.only(['line', 'board', 'pageSizeKiB', 'initramfs', 'cmdline']);
  const libc = top.object('libc');
  libc.only(['kind', 'variants', 'uclibcNg']);
  const kind = libc.oneOf('kind', ['uclibc', 'glibc'] as const);
  const variants = kind === 'glibc' ? ['system'] : libc.stringList('variants', NAME);
  if (kind === 'uclibc' && !variants.includes('unpatched')) {
    libc.fail('variants', 'a list that includes "unpatched" (the baseline every verdict compares against)', variants);
  }
  const uclibcNg = kind === 'uclibc' && libc.has('uclibcNg') ? uclibcNgVariants(libc.object('uclibcNg'), variants) : undefined;
  return {
    name,
    description: top.string('description'),
    arch: top.oneOf('arch', ARCHES),
    qemu: readQemuSpec(qemu),
    kernel: {
      line: kernel.oneOf('line', LINES),
      board: kernel.string('board', NAME),
      pageSizeKiB: kernel.oneOf('pageSizeKiB', [4, 16] as const),
      initramfs: kernel.oneOf('initramfs', ['external', 'builtin'] as const),
      cmdline: kernel.string('cmdline'),
    },
    libc: { kind, variants, ...(uclibcNg ? { uclibcNg } : {}) },
    default: top.boolean('default', true),
    file,
  };
}

export async function loadTargets(dir: string = targetsDir): Promise<Target[]> {
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const targets: Target[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    targets.push(parseTarget(path.relative(process.cwd(), file) || file, await fs.readFile(file, 'utf8')));
  }
  return targets;
}

/**
 * One imported target file (<cache>/imported/<name>.json, written by import-buildroot through
 * writeImportedTarget): every field checked, so an older or hand-edited file names its field.
 */
export function parseImportedTarget(file: string, text: string): Target {
  try {
    return readImportedTarget(file, text);
  } catch (err) {
    throw err instanceof LabError ? new LabError(err.message, { kind: err.kind, fix: `re-import it with reprolab import-buildroot, or remove ${file}` }) : err;
  }
}

function readImportedTarget(file: string, text: string): Target {
  const top = new Fields(file, parseJson(file, text));
  top.only(['name', 'description', 'arch', 'qemu', 'kernel', 'libc', 'default', 'imported']);
  const kernel = top.object('kernel');
  kernel.only(['line', 'board', 'pageSizeKiB', 'initramfs', 'cmdline']);
  const libc = top.object('libc');
  libc.only(['kind', 'variants']);
  const imported = top.object('imported');
  imported.only(['from', 'bundleDir', 'like']);
  return {
    name: top.string('name', NAME),
    description: top.string('description'),
    arch: top.oneOf('arch', ARCHES),
    qemu: readQemuSpec(top.object('qemu')),
    kernel: {
      line: kernel.oneOf('line', ['imported'] as const),
      board: kernel.string('board'),
      pageSizeKiB: kernel.oneOf('pageSizeKiB', [4, 16, 64] as const),
      initramfs: kernel.oneOf('initramfs', ['external', 'builtin'] as const),
      cmdline: kernel.string('cmdline'),
    },
    libc: { kind: libc.oneOf('kind', ['uclibc', 'glibc', 'uclibc-ng', 'musl'] as const), variants: libc.stringList('variants', NAME) },
    default: top.boolean('default', false),
    file,
    imported: { from: imported.string('from'), bundleDir: imported.string('bundleDir'), ...(imported.has('like') ? { like: imported.string('like') } : {}) },
  };
}

/** The writer of imported target files: what parseImportedTarget reads back. */
export async function writeImportedTarget(target: Target): Promise<void> {
  const { file, ...saved } = target;
  const text = `${JSON.stringify(saved, null, 2)}\n`;
  parseImportedTarget(file, text);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text);
}

/** Targets imported from Buildroot outputs (written by reprolab import-buildroot into <cache>/imported/). */
export async function loadImportedTargets(dir: string): Promise<Target[]> {
  const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  const out: Target[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    out.push(parseImportedTarget(file, await fs.readFile(file, 'utf8')));
  }
  return out;
}

/** The repository's targets and the ones imported into this cache. */
export async function loadAllTargets(importedDir: string): Promise<Target[]> {
  const builtins = await loadTargets();
  const imported = await loadImportedTargets(importedDir);
  for (const t of imported) {
    if (builtins.some((b) => b.name === t.name)) throw new LabError(`${t.file}: "${t.name}" is also a built-in target`, { fix: `remove ${t.file} and import again with another --name` });
  }
  return [...builtins, ...imported];
}

/** Picks targets by name; an unknown name lists the known ones. */
export function selectTargets(all: Target[], names: string[]): Target[] {
  if (names.length === 0) return all.filter((t) => t.default);
  return names.map((name) => {
    const t = all.find((x) => x.name === name);
    if (!t) {
      throw new UsageError(`unknown target "${name}"`, { fix: `use one of: ${all.map((x) => x.name).join(', ')} (reprolab targets)` });
    }
    return t;
  });
}
