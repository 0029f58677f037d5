import path from 'node:path';
import { readElf } from '../formats/elf.ts';

/** One file of an image as the audit sees it. */
export interface ImageFile {
  path: string;
  data: Buffer;
}

export interface AuditedElf {
  path: string;
  linkage: 'dynamic' | 'static' | 'library';
  interp?: string;
  needed: string[];
}

export interface LibcAudit {
  elves: AuditedElf[];
  /** One line per file that breaks the rule, naming the file and what is wrong. */
  violations: string[];
}

/** File names only glibc installs. */
const GLIBC_NAME = /(^|\/)(ld-linux[^/]*\.so[^/]*|libc\.so\.6|libc-2\.[0-9]+\.so|ld\.so\.1)$|\/[a-z0-9_]+-linux-gnu[a-z0-9_]*\//;

/**
 * A uClibc image holds no glibc: no glibc file by name, and every ELF either
 * loads a uClibc loader (one of `loaders`) and only libraries uClibc ships
 * (`sonames`), or is static and linked against uClibc (its startup is
 * __uClibc_main, not glibc's __libc_start_main).
 */
export function auditUclibcImage(files: ImageFile[], opts: { loaders: string[]; sonames: string[]; libDirs?: string[] }): LibcAudit {
  const loaders = new Set(opts.loaders);
  const sonames = new Set(opts.sonames);
  const elves: AuditedElf[] = [];
  const violations: string[] = [];
  for (const f of files) {
    if (GLIBC_NAME.test(f.path)) violations.push(`${f.path}: a glibc file name`);
    const elf = readElf(f.data);
    if (!elf) continue;
    const foreign = elf.needed.filter((n) => !sonames.has(n));
    if (elf.interp !== undefined && isRunnableUclibcLibrary(f.path, elf.interp, opts.libDirs ?? [])) {
      // uClibc-ng's libuClibc-*.so names its loader so it can be run to print its version; it is a library.
      elves.push({ path: f.path, linkage: 'library', interp: elf.interp, needed: elf.needed });
    } else if (elf.interp !== undefined) {
      elves.push({ path: f.path, linkage: 'dynamic', interp: elf.interp, needed: elf.needed });
      if (!loaders.has(elf.interp)) violations.push(`${f.path}: loads ${elf.interp}, not a uClibc loader (${[...loaders].join(', ')})`);
    } else if (elf.dynamic) {
      elves.push({ path: f.path, linkage: 'library', needed: elf.needed });
    } else {
      elves.push({ path: f.path, linkage: 'static', needed: [] });
      const uclibc = f.data.includes('__uClibc_main');
      const glibc = f.data.includes('__libc_start_main');
      if (glibc || !uclibc) violations.push(`${f.path}: static, but ${glibc ? "glibc's __libc_start_main is in it" : 'no __uClibc_main in it (stripped, or another libc)'}`);
    }
    if (foreign.length) violations.push(`${f.path}: needs ${foreign.join(', ')}, which uClibc does not ship`);
  }
  return { elves, violations };
}

/** uClibc-ng's libuClibc-<version>.so in a variant's own lib folder (never the image's /lib), naming /lib/ld-uClibc.so.N. */
function isRunnableUclibcLibrary(file: string, interp: string, libDirs: string[]): boolean {
  const inVariant = libDirs.some((d) => d !== '/lib/' && path.dirname(file) === d.replace(/\/$/, ''));
  return inVariant && /^libuClibc-[0-9][0-9A-Za-z.-]*\.so$/.test(path.basename(file)) && /^\/lib\/ld-uClibc\.so\.[0-9]+$/.test(interp);
}

/** The sonames of a uClibc install's lib/ folder (its symlinks named *.so.N). */
export function uclibcSonames(libFiles: string[]): string[] {
  return [...new Set(libFiles.map((f) => path.basename(f)).filter((n) => /\.so\.[0-9]+$/.test(n)))];
}
