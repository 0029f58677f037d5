/**
 * Paths made from what a file says. Every file the lab did not just write is untrusted (a cell handed
 * over, a pack): a name it gives must be one path segment of a known form, and a path made from it
 * must stay inside its root, so a tampered field cannot point a read or a write elsewhere.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Fields } from './fields.ts';
import { isInside } from '../util/paths.ts';

export { isInside };

/** The default form of a segment: letters, digits and . _ + - (never first: a dot, or a dash that reads as an option). */
export const SEGMENT = /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,127}$/;

function isSegment(s: string, pattern: RegExp): boolean {
  return s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0') && pattern.test(s);
}

/** A name the lab joins to a folder: one path segment matching `pattern` (never "", ".", ".." or a "/"). */
export function segmentField(f: Fields, key: string, pattern: RegExp = SEGMENT): string {
  const v = f.string(key);
  if (!isSegment(v, pattern)) f.fail(key, `one path segment matching ${pattern}`, v);
  return v;
}

/** A path relative to a folder its reader knows (a bundle's images/zImage): plain segments only, no "..", not absolute. */
export function relativePathField(f: Fields, key: string): string {
  const v = f.string(key);
  if (!v.split('/').every((s) => isSegment(s, SEGMENT))) f.fail(key, `a relative path inside its folder, each name matching ${SEGMENT}`, v);
  return v;
}

/**
 * `rel` joined to `root`, or undefined when the result would leave `root` (an absolute `rel`, a "..").
 * Lexical only: a caller reading through links on disk checks the real path too (insideReal).
 */
export function resolveInside(root: string, rel: string): string | undefined {
  const base = path.resolve(root);
  const p = path.resolve(base, rel);
  return isInside(base, p) ? p : undefined;
}

/** Whether `p`, every link followed, is inside `root` (its links followed too); false when either does not exist. */
export async function insideReal(root: string, p: string): Promise<boolean> {
  try {
    return isInside(await fs.realpath(root), await fs.realpath(p));
  } catch {
    return false;
  }
}
