import path from 'node:path';
import type { LabDirs } from '../util/paths.ts';
import type { Toolchain } from './toolchain.ts';

/**
 * ccache for the uClibc-ng builds of a bisection: neighbouring commits recompile
 * mostly the same files with the same flags, and ccache answers those from
 * <cache>/ccache. Depend mode keys each object on the compiler, its arguments, the
 * source and every header the compiler's own dependency file names (uClibc's rules
 * pass -MD), so what it returns is what the compiler would have written: store keys
 * and outputs do not change. Measured (bench/RESULTS.md): a miss costs what a plain
 * build does, an all-hit build of a neighbouring commit 27 % less (what is left is
 * make's own shell per object). Not for uClibc 0.9.33.2: its kconfig stamps the time
 * into uClibc_config.h, which every object includes, so nothing would ever hit.
 * REPROLAB_CCACHE=0 turns it off (a bench of the plain compile).
 */
export interface CompilerCache {
  /** make variables: CC routed through ccache. */
  makeArgs: string[];
  /** ccache's settings for the make. */
  env: Record<string, string>;
}

/** `buildRoot` is the build's own scratch folder: paths below it are hashed relative, so builds in different scratch folders share entries. */
export function compilerCache(dirs: LabDirs, tc: Toolchain, buildRoot: string, env: NodeJS.ProcessEnv = process.env): CompilerCache {
  const cc = `${tc.prefix}gcc`;
  if (env.REPROLAB_CCACHE === '0') return { makeArgs: [`CC=${cc}`], env: {} };
  return {
    makeArgs: [`CC=ccache ${cc}`],
    env: {
      CCACHE_DIR: path.join(dirs.cache, 'ccache'),
      CCACHE_BASEDIR: buildRoot,
      // The scratch folder's name differs per build; with no -g it is not in any output.
      CCACHE_NOHASHDIR: '1',
      CCACHE_MAXSIZE: '2G',
      // No preprocessor run: the -MD file lists the headers (a miss costs a plain compile and a store).
      CCACHE_DEPEND: '1',
      // Generated headers are written just before the compile that reads them; their contents are hashed.
      CCACHE_SLOPPINESS: 'include_file_mtime,include_file_ctime',
    },
  };
}
