import path from 'node:path';
import { LabError } from '../util/errors.ts';
import { ending, runCommand } from '../util/process.ts';
import type { LabDirs } from '../util/paths.ts';
import type { Toolchain } from './toolchain.ts';

/**
 * ccache for the uClibc-family builds: a patched variant, a validate-patch
 * candidate or a bisection's neighbouring commit recompiles mostly the same
 * files with the same flags as the build before it, and ccache answers those from
 * <cache>/ccache. Depend mode keys each object on the compiler, its arguments, the
 * source and every header the compiler's own dependency file names (uClibc's rules
 * pass -MD), so what it returns is what the compiler would have written: store keys
 * and outputs do not change. Measured (bench/RESULTS.md): a miss costs what a plain
 * build does, an all-hit build of a neighbouring commit 27 % less (what is left is
 * make's own shell per object). uClibc 0.9.33.2's kconfig stamps the time into
 * .config and from there into uClibc_config.h, which every object includes: the
 * builds run with KCONFIG_NOTIMESTAMP so objects can hit at all.
 * REPROLAB_CCACHE=0 turns it off (a bench of the plain compile).
 */
export interface CompilerCache {
  /** make variables: CC routed through ccache. */
  makeArgs: string[];
  /** ccache's settings for the make. */
  env: Record<string, string>;
  /** Whether CC goes through ccache (off: REPROLAB_CCACHE=0, or a build that does not cache). */
  viaCcache: boolean;
}

/** ccache must be there and work: a missing one would make every make fail as if the revision did not build. */
export async function checkCompilerCache(cache: CompilerCache): Promise<void> {
  if (!cache.viaCcache) return;
  const r = await runCommand('ccache', ['--show-config'], { env: cache.env });
  if (r.exitCode !== 0) throw new LabError(`ccache does not run (${ending(r)}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`, { fix: 'reprolab doctor --install (or REPROLAB_CCACHE=0 to build without it)' });
}

/** `buildRoot` is the build's own scratch folder: paths below it are hashed relative, so builds in different scratch folders share entries. */
export function compilerCache(dirs: LabDirs, tc: Toolchain, buildRoot: string, env: NodeJS.ProcessEnv = process.env): CompilerCache {
  const cc = `${tc.prefix}gcc`;
  if (env.REPROLAB_CCACHE === '0') return { makeArgs: [`CC=${cc}`], env: {}, viaCcache: false };
  const dir = path.join(dirs.cache, 'ccache');
  return {
    makeArgs: [`CC=ccache ${cc}`],
    viaCcache: true,
    env: {
      CCACHE_DIR: dir,
      // Only the lab's settings: no user or system ccache.conf, and none of the user's CCACHE_* that
      // change what a hit returns (a prefix command, ignored headers or options, a remote store).
      CCACHE_CONFIGPATH: path.join(dir, 'reprolab-ccache.conf'),
      CCACHE_COMPILERCHECK: 'mtime',
      CCACHE_PREFIX: '',
      CCACHE_PREFIX_CPP: '',
      CCACHE_IGNOREHEADERS: '',
      CCACHE_IGNOREOPTIONS: '',
      CCACHE_REMOTE_STORAGE: '',
      CCACHE_BASEDIR: buildRoot,
      // The scratch folder's name differs per build; the lab's uClibc-ng config has no -g (DODEBUG off),
      // so the folder is in no output. A config with DODEBUG would need the directory hashed again.
      CCACHE_NOHASHDIR: '1',
      CCACHE_MAXSIZE: '2G',
      // No preprocessor run: the -MD file lists the headers (a miss costs a plain compile and a store).
      CCACHE_DEPEND: '1',
      // Generated headers are written before the compiles that read them and never during one (uClibc-ng
      // generates them first); their contents are hashed, only the too-recent-mtime guard is off.
      CCACHE_SLOPPINESS: 'include_file_mtime,include_file_ctime',
    },
  };
}
