import fs from 'node:fs';
import path from 'node:path';
import type { Arch } from '../model/target.ts';
import { LabError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';

/**
 * The lab's one errno table, images/probes/errno-table.h: the C programs print
 * its names (the compiler checks its numbers against each libc's errno.h); the
 * judges here and in a repro pack decode a bare number with it.
 */
export const ERRNO_TABLE = path.join(repoRoot, 'images', 'probes', 'errno-table.h');

export interface ErrnoEntry {
  name: string;
  arm: number;
  mips: number;
}

/** The ERRNO(name, arm, mips) lines of the table's text. */
export function parseErrnoTable(text: string, file = ERRNO_TABLE): ErrnoEntry[] {
  const entries = [...text.matchAll(/^ERRNO\((\w+), (\d+), (\d+)\)$/gm)].map((m) => ({ name: m[1]!, arm: Number(m[2]), mips: Number(m[3]) }));
  const stray = text.split('\n').filter((l) => l.startsWith('ERRNO(') && !/^ERRNO\(\w+, \d+, \d+\)$/.test(l));
  if (!entries.length || stray.length) throw new LabError(`${file}: ${stray.length ? `a line the lab cannot read: ${stray[0]}` : 'no ERRNO(name, arm, mips) line'}`, { fix: 'one ERRNO(NAME, <ARM number>, <MIPS number>) per line' });
  return entries;
}

let table: ErrnoEntry[] | undefined;

/** number → name on one architecture (MIPS numbers are the same in either byte order). */
export function errnoNames(arch: Arch): Map<number, string> {
  table ??= parseErrnoTable(fs.readFileSync(ERRNO_TABLE, 'utf8'));
  return new Map(table.map((e) => [arch === 'arm' ? e.arm : e.mips, e.name]));
}
