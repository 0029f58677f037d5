import type { ResolvedSource } from '../model/source.ts';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError, MissingSourceError } from '../util/errors.ts';
import { exists } from '../util/fs.ts';
import { downloadArchive, type DownloadProgress, type DownloadTuning } from './download.ts';
import type { LabDirs } from '../util/paths.ts';
import { memoFileDigest, memoTreeDigest } from './memo-digest.ts';
import { resolveDebianSource } from './debian-source.ts';
import { onceInFlight } from './once.ts';
import type { ArchiveSource, DebianFileSource, SourceSpec } from '../catalog/source-spec.ts';

export interface SourceOptions {
  dirs: LabDirs;
  /** Per-package override directories from the command line (`--source pkg=DIR`). */
  overrides?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** Download a missing pinned archive; default: yes unless REPROLAB_OFFLINE=1 (see downloadAllowed). */
  download?: boolean;
  /** Mirror base URLs tried before upstream. */
  mirrors?: string[];
  downloadTuning?: Partial<DownloadTuning>;
  progress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** The one download policy: missing pinned archives are fetched unless the run is offline (--offline, REPROLAB_OFFLINE=1). */
export function downloadAllowed(opts: Pick<SourceOptions, 'download' | 'env'>): boolean {
  if (opts.download !== undefined) return opts.download;
  return !/^(1|true|yes)$/i.test((opts.env ?? process.env).REPROLAB_OFFLINE ?? '');
}

/** The environment variable that overrides a package: REPROLAB_SOURCE_LINUX_3_10_108, … */
export function overrideEnvName(pkg: string): string {
  return `REPROLAB_SOURCE_${pkg.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

function memoDir(dirs: LabDirs): string {
  return path.join(dirs.cache, 'digests');
}

async function findOverride(spec: SourceSpec, opts: SourceOptions): Promise<{ dir: string; from: string } | undefined> {
  const env = opts.env ?? process.env;
  const explicit = opts.overrides?.[spec.package];
  if (explicit) return { dir: explicit, from: `--source ${spec.package}=${explicit}` };
  const fromEnv = env[overrideEnvName(spec.package)];
  if (fromEnv) return { dir: fromEnv, from: `${overrideEnvName(spec.package)}=${fromEnv}` };
  const dropIn = path.join(opts.dirs.overrides, spec.package);
  if (await exists(dropIn)) return { dir: dropIn, from: dropIn };
  return undefined;
}

export async function resolveSource(spec: SourceSpec, opts: SourceOptions): Promise<ResolvedSource> {
  const override = await findOverride(spec, opts);
  if (override) {
    const stat = await fs.stat(override.dir).catch(() => undefined);
    if (!stat?.isDirectory()) {
      throw new LabError(`source override for ${spec.package} is not a directory: ${override.dir} (from ${override.from})`, {
        fix: `point it at the unpacked ${spec.package} tree (the folder holding its top-level Makefile)`,
      });
    }
    // The tree itself: a symlinked override is recorded (and keyed) by where its files are.
    const dir = await fs.realpath(override.dir);
    // Every tree the lab builds has a top-level Makefile (Linux, uClibc, busybox) or configure (dropbear): without one it is the wrong folder.
    if (!(await exists(path.join(dir, 'Makefile'))) && !(await exists(path.join(dir, 'configure')))) {
      throw new LabError(`source override for ${spec.package} has no top-level Makefile or configure: ${dir} (from ${override.from})`, {
        fix: `point it at the unpacked ${spec.package} tree itself, not a folder above or inside it`,
      });
    }
    return { package: spec.package, origin: 'override', path: dir, sha256: await memoTreeDigest(memoDir(opts.dirs), dir) };
  }
  if (spec.kind === 'debian-source') return resolveDebianSource(spec, opts.dirs, { download: downloadAllowed(opts), memoDir: memoDir(opts.dirs) });
  return spec.kind === 'archive' ? resolveArchive(spec, opts) : resolveDebianFile(spec, opts);
}

async function resolveArchive(spec: ArchiveSource, opts: SourceOptions): Promise<ResolvedSource> {
  const file = path.join(opts.dirs.downloads, spec.archive);
  let downloadFailure: string | undefined;
  if (!(await exists(file)) && downloadAllowed(opts)) {
    try {
      // Targets that share an archive (the 3.10 ones) fetch it once.
      await onceInFlight(file, () => downloadArchive(spec, file, { mirrors: opts.mirrors ?? [], ...(opts.downloadTuning ? { tuning: opts.downloadTuning } : {}), ...(opts.progress ? { progress: opts.progress } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }));
    } catch (err) {
      downloadFailure = err instanceof Error ? err.message : String(err);
    }
  }
  if (await exists(file)) {
    const digest = await memoFileDigest(memoDir(opts.dirs), file);
    if (digest !== spec.sha256) {
      throw new LabError(`${file}: sha256 ${digest} does not match the pinned ${spec.sha256}`, {
        fix: `replace it with the genuine ${spec.archive} from ${spec.url}, or delete it and use an override directory (${overrideEnvName(spec.package)}=DIR)`,
      });
    }
    return { package: spec.package, origin: 'archive', path: file, sha256: digest, pinned: spec.sha256 };
  }
  throw new MissingSourceError(
    spec.archive,
    `source ${spec.archive} not available (sha256 ${spec.sha256})${downloadFailure ? `; ${downloadFailure}` : downloadAllowed(opts) ? '' : ' (offline: not downloaded)'}`,
    `put ${spec.archive} (from ${spec.url}) in ${opts.dirs.downloads}/, ` +
      `or unpack the ${spec.package} tree into ${path.join(opts.dirs.overrides, spec.package)}/, ` +
      `or point ${overrideEnvName(spec.package)} (or --source ${spec.package}=DIR) at an unpacked tree`,
  );
}


async function resolveDebianFile(spec: DebianFileSource, opts: SourceOptions): Promise<ResolvedSource> {
  if (!(await exists(spec.path))) {
    throw new MissingSourceError(
      path.basename(spec.path),
      `source ${spec.path} not available (installed by the Debian package ${spec.debianPackage})`,
      `apt-get install ${spec.debianPackage} (or: reprolab doctor --install)`,
    );
  }
  return { package: spec.package, origin: 'debian-file', path: spec.path, sha256: await memoFileDigest(memoDir(opts.dirs), spec.path) };
}
