import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../util/digest.ts';
import type { LabDirs } from '../util/paths.ts';
import { repoRoot } from '../util/paths.ts';
import { runLogged } from '../util/process.ts';
import { expandRecipe, glibcRecipe, PROBE_CFLAGS, type CompileRecipe } from './compile.ts';
import { crossGlibcVersion, toolchainVersion, type Toolchain } from './toolchain.ts';
import { storeEntry } from '../store/store.ts';
import { LabError } from '../util/errors.ts';

/** Probes: the code under test, linked against each libc variant. */
export const probesDir = path.join(repoRoot, 'images', 'probes');
/** The lab's own guest helpers, linked against the toolchain's glibc so they never depend on the libc under test. */
export const toolsDir = path.join(repoRoot, 'images', 'tools');

export interface ProbeSet {
  variant: string;
  /** static: linked against the variant's libc.a; shared: loads the variant's ld-uClibc.so.0 and libc.so.0. */
  linkage: 'static' | 'shared';
  /** Directory with one binary per probe source. */
  dir: string;
  names: string[];
  hit: boolean;
}

/**
 * Every *.c (and the headers they share) of a source directory, as build inputs. A user's folder
 * is untrusted: a name that is not a readable regular file (a dangling link, a folder, a FIFO that
 * would block the read) is an error naming it, which fails that scenario only.
 */
async function cSources(dir: string): Promise<{ file: string; sha256: string }[]> {
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.c') || n.endsWith('.h')).sort();
  return Promise.all(
    names.map(async (n) => {
      const file = path.join(dir, n);
      const stat = await fs.stat(file).catch(() => undefined);
      const hash = stat?.isFile() ? await sha256File(file).catch(() => undefined) : undefined;
      if (hash === undefined) {
        throw new LabError(`${file}: ${stat ? 'not a regular file' : 'cannot be read (a dangling link?)'}`, { fix: 'make each probes/*.c and *.h a readable file, or remove it' });
      }
      return { file: n, sha256: hash };
    }),
  );
}

/** Compiles each C file of `srcDir` into one program, held to PROBE_CFLAGS; a user's probes also see the lab's result-line helpers. */
async function buildPrograms(opts: {
  step: 'probes' | 'tools';
  linkage: ProbeSet['linkage'];
  srcDir: string;
  variant: string;
  recipe: CompileRecipe;
  /** Key of the libc build the recipe points at. */
  libcKey: string;
  toolchain: string;
  dirs: LabDirs;
  logFile: string;
}): Promise<ProbeSet> {
  const sources = await cSources(opts.srcDir);
  const programs = sources.filter((s) => s.file.endsWith('.c')).map((s) => s.file.replace(/\.c$/, ''));
  const own = path.resolve(opts.srcDir) === path.resolve(probesDir) || opts.step === 'tools';
  // Programs outside images/probes (rl-fabric, a user's probes) include its headers: the result-line
  // helpers and the errno table. They are inputs of the build.
  const sharesHeaders = path.resolve(opts.srcDir) !== path.resolve(probesDir);
  const helpers = sharesHeaders ? (await cSources(probesDir)).filter((s) => s.file.endsWith('.h')) : [];
  const entry = await storeEntry(
    opts.dirs.store,
    opts.step,
    { sources, ...(helpers.length ? { helpers } : {}), libc: opts.libcKey, recipe: opts.recipe, cflags: PROBE_CFLAGS, toolchain: opts.toolchain },
    async (out) => {
      const r = await expandRecipe(opts.recipe);
      const include = [`-I${opts.srcDir}`, ...(sharesHeaders ? [`-I${probesDir}`] : [])];
      for (const name of programs) {
        const file = path.join(opts.srcDir, `${name}.c`);
        try {
          await runLogged(r.cc, [...r.compile, ...PROBE_CFLAGS, ...include, ...r.linkBefore, file, '-o', path.join(out, name), ...r.linkAfter], { logFile: opts.logFile });
        } catch (err) {
          // Only the compiler's own refusal is the probe's; a signal or a missing compiler stays the lab's.
          if (own || !(err instanceof LabError) || err.kind !== 'command') throw err;
          // A user's probe: the message names their file, not the compiler's argument list.
          const first = err.firstError;
          throw new LabError(`${file} does not compile for ${opts.variant} (${opts.linkage})${first ? `: ${first}` : ''}`, { kind: err.kind, ...(err.command ? { command: err.command } : {}), ...(first ? { firstError: first } : {}), logPath: opts.logFile, fix: `fix the probe (it is built with ${PROBE_CFLAGS.join(' ')}); the compiler's output is in ${opts.logFile}` });
        }
      }
    },
  );
  return { variant: opts.variant, linkage: opts.linkage, dir: entry.dir, names: programs, hit: entry.hit };
}

/** The lab's probes (images/probes), or a user's scenario's (`srcDir`), linked against one libc variant. */
export function buildProbes(opts: { variant: string; linkage?: ProbeSet['linkage']; recipe: CompileRecipe; libcKey: string; toolchain: string; dirs: LabDirs; logFile: string; srcDir?: string }): Promise<ProbeSet> {
  return buildPrograms({ ...opts, linkage: opts.linkage ?? 'static', step: 'probes', srcDir: opts.srcDir ?? probesDir });
}

/** A user's scenario whose probes a bundle builds beside its own (not in the image: uploaded when it runs). */
export interface ScenarioProbes {
  scenario: string;
  dir: string;
}

export interface ScenarioProbeSet extends ProbeSet {
  scenario: string;
}

/** What a bundle built of the users' scenarios' probes: a probe that does not compile fails its own scenario, not the image. */
export interface ScenarioProbeBuilds {
  sets: ScenarioProbeSet[];
  failed: { scenario: string; message: string; logPath?: string }[];
}

/**
 * The lab's own guest tools (rl-fabric), statically linked against the image's
 * baseline libc (never a variant under test): the toolchain's glibc on a glibc
 * target, the shipped uClibc's libc.a on a uClibc one, so no glibc file enters a uClibc image.
 */
export async function buildTools(opts: { tc: Toolchain; baseline?: { recipe: CompileRecipe; key: string }; dirs: LabDirs; logFile: string }): Promise<ProbeSet> {
  const { tc } = opts;
  return buildPrograms({
    step: 'tools',
    linkage: 'static',
    srcDir: toolsDir,
    variant: 'tools',
    recipe: opts.baseline?.recipe ?? glibcRecipe(tc.prefix),
    libcKey: opts.baseline?.key ?? `glibc-cross ${tc.debianArch} ${await crossGlibcVersion(tc)}`,
    toolchain: await toolchainVersion(tc),
    dirs: opts.dirs,
    logFile: opts.logFile,
  });
}
