import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../util/digest.ts';
import type { LabDirs } from '../util/paths.ts';
import { repoRoot } from '../util/paths.ts';
import { runLogged } from '../util/run.ts';
import { expandRecipe, PROBE_CFLAGS, type CompileRecipe } from './compile.ts';
import { storeEntry } from './store.ts';

export const probesDir = path.join(repoRoot, 'images', 'probes');

export interface ProbeSet {
  variant: string;
  /** Directory with one static binary per probe source. */
  dir: string;
  names: string[];
  hit: boolean;
}

/** Every images/probes/*.c (and the headers they share), as build inputs. */
export async function probeSources(): Promise<{ file: string; sha256: string }[]> {
  const names = (await fs.readdir(probesDir)).filter((n) => n.endsWith('.c') || n.endsWith('.h')).sort();
  return Promise.all(names.map(async (n) => ({ file: n, sha256: await sha256File(path.join(probesDir, n)) })));
}

export async function buildProbes(opts: {
  variant: string;
  recipe: CompileRecipe;
  /** Key of the libc build the recipe points at. */
  libcKey: string;
  toolchain: string;
  dirs: LabDirs;
  logFile: string;
}): Promise<ProbeSet> {
  const sources = await probeSources();
  const programs = sources.filter((s) => s.file.endsWith('.c')).map((s) => s.file.replace(/\.c$/, ''));
  const entry = await storeEntry(
    opts.dirs.store,
    'probes',
    { sources, libc: opts.libcKey, recipe: opts.recipe, cflags: PROBE_CFLAGS, toolchain: opts.toolchain },
    async (out) => {
      const r = await expandRecipe(opts.recipe);
      for (const name of programs) {
        await runLogged(
          r.cc,
          [...r.compile, ...PROBE_CFLAGS, `-I${probesDir}`, ...r.linkBefore, path.join(probesDir, `${name}.c`), '-o', path.join(out, name), ...r.linkAfter],
          { logFile: opts.logFile },
        );
      }
    },
  );
  return { variant: opts.variant, dir: entry.dir, names: programs, hit: entry.hit };
}
