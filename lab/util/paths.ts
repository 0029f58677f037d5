import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where images/, kernels/ and lab/ live). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LabDirs {
  /** Root of everything the lab keeps outside the repo. */
  cache: string;
  /** Upstream archives and Debian packages, pinned by digest. */
  downloads: string;
  /** Drop-in source overrides: <overrides>/<package>/ is used instead of the archive. */
  overrides: string;
  /** Unpacked, patched source trees (content-addressed). */
  sources: string;
  /** Build outputs (content-addressed). */
  store: string;
  /** Long-lived kernel build directories, so an unchanged kernel is never recompiled. */
  work: string;
  /** Logs of every build step. */
  logs: string;
  /** Targets imported from Buildroot outputs: <imported>/<name>.json. */
  imported: string;
}

export interface DirOptions {
  cacheDir?: string | undefined;
  downloadsDir?: string | undefined;
}

/** A time as a file-name-safe stamp (2026-11-22T11-25-44-018Z): run, log and evidence directories are named by it, so name order is time order. */
export function timeStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[:.]/g, '-');
}

/** Cache layout: flag beats environment beats the XDG default. */
export function labDirs(opts: DirOptions = {}, env: NodeJS.ProcessEnv = process.env): LabDirs {
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const cache = path.resolve(opts.cacheDir ?? env.REPROLAB_CACHE ?? path.join(xdg, 'reprolab'));
  const downloads = path.resolve(opts.downloadsDir ?? env.REPROLAB_DOWNLOADS ?? path.join(cache, 'downloads'));
  return {
    cache,
    downloads,
    overrides: path.resolve(env.REPROLAB_OVERRIDES ?? path.join(cache, 'overrides')),
    sources: path.join(cache, 'src'),
    store: path.join(cache, 'store'),
    work: path.join(cache, 'work'),
    logs: path.join(cache, 'logs'),
    imported: path.join(cache, 'imported'),
  };
}

/** Whether absolute path `p` is `root` itself or below it. */
export function isInside(root: string, p: string): boolean {
  const r = path.relative(root, p);
  // "..foo" is a name inside; "..", "../x" and an absolute path (another drive) are not.
  return r !== '..' && !r.startsWith(`..${path.sep}`) && !path.isAbsolute(r);
}
