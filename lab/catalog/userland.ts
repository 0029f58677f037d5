import path from 'node:path';
import { loadSourceSpec, type SourceSpec } from './source-spec.ts';
import { repoRoot } from '../util/paths.ts';

/** images/userland: what runs in a guest besides the lab's probes. */
export const userlandDir = path.join(repoRoot, 'images', 'userland');

/** The programs a uClibc image builds from source against its own uClibc, in build order. */
export const SOURCE_PROGRAMS = ['busybox', 'dropbear'] as const;
export type SourceProgram = (typeof SOURCE_PROGRAMS)[number];

/** images/userland/<program>: its pinned source (source.json) and its build choices. */
export function programDir(name: SourceProgram): string {
  return path.join(userlandDir, name);
}

export function programSource(name: SourceProgram): Promise<SourceSpec> {
  return loadSourceSpec(path.join(programDir(name), 'source.json'));
}
