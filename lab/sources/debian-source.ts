import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DebianSourcePackage } from '../catalog/source-spec.ts';
import type { ResolvedSource } from '../model/source.ts';
import { LabError, MissingSourceError } from '../util/errors.ts';
import { exists, syncTree, tempSibling } from '../util/fs.ts';
import { onAbnormalExit } from '../util/lifetime.ts';
import type { LabDirs } from '../util/paths.ts';
import { runLogged } from '../util/process.ts';
import { withLock } from '../store/lock.ts';
import { memoFileDigest } from './memo-digest.ts';
import { onceInFlight } from './once.ts';

/** The files a .dsc names in its Checksums-Sha256 field, with their digests. */
export function dscFiles(dscText: string): { name: string; sha256: string }[] {
  const block = /^Checksums-Sha256:\s*\n((?:[ \t]+\S.*\n?)+)/m.exec(dscText);
  if (!block) return [];
  return block[1]!
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((parts) => parts.length === 3 && /^[0-9a-f]{64}$/.test(parts[0]!))
    .map(([sha256, , name]) => ({ name: name!, sha256: sha256! }));
}

/**
 * A Debian source package from the download cache, or fetched there with
 * `apt-get source --download-only` (into a scratch folder, moved in whole).
 * The .dsc must match its pin and every file must match the .dsc.
 */
export async function resolveDebianSource(
  spec: DebianSourcePackage,
  dirs: LabDirs,
  /** onWait: another process is fetching the same source package; this one waits for it. */
  opts: { download: boolean; memoDir: string; onWait?: () => void },
): Promise<ResolvedSource> {
  const dir = path.join(dirs.downloads, 'debian-source', spec.debianSource);
  const dsc = path.join(dir, spec.dsc);
  let downloadFailure: string | undefined;
  if (!(await exists(dsc)) && opts.download) {
    // Two targets that need busybox fetch it once.
    downloadFailure = await onceInFlight(dir, () => fetchInto(spec, dir, opts.onWait)).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
  }
  if (!(await exists(dsc))) {
    throw new MissingSourceError(
      spec.dsc,
      `source ${spec.dsc} (Debian source package ${spec.debianSource} ${spec.version}) not available${downloadFailure ? `: ${downloadFailure}` : opts.download ? '' : ' (offline: not downloaded)'}`,
      `reprolab doctor --install (adds a deb-src entry), then run again; or put the .dsc and its files in ${dir}/ ` +
        `(apt-get source --download-only ${spec.debianSource}=${spec.version}; a superseded version stays on snapshot.debian.org); or unpack the tree into ${path.join(dirs.overrides, spec.package)}/`,
    );
  }
  const digest = await memoFileDigest(opts.memoDir, dsc);
  if (digest !== spec.sha256) {
    throw new LabError(`${dsc}: sha256 ${digest} does not match the pinned ${spec.sha256}`, {
      fix: `delete ${dir} and let the lab fetch ${spec.debianSource} ${spec.version} again, or update the pin if Debian published a new revision on purpose`,
    });
  }
  const files = dscFiles(await fs.readFile(dsc, 'utf8'));
  if (files.length === 0) throw new LabError(`${dsc} lists no Checksums-Sha256 files`, { fix: `delete ${dir} and fetch it again` });
  for (const f of files) {
    const file = path.join(dir, f.name);
    if (!(await exists(file))) throw new MissingSourceError(f.name, `${f.name} (named by ${spec.dsc}) is missing from ${dir}`, `apt-get source --download-only ${spec.debianSource}=${spec.version} in ${dir}`);
    const got = await memoFileDigest(opts.memoDir, file);
    if (got !== f.sha256) throw new LabError(`${file}: sha256 ${got} does not match ${spec.dsc} (${f.sha256})`, { fix: `delete ${dir} and let the lab fetch it again` });
  }
  return { package: spec.package, origin: 'debian-source', path: dsc, sha256: digest, pinned: spec.sha256 };
}

/**
 * apt-get source into a scratch folder, moved in whole. One fetch per source
 * package across processes (a lock): a second process waits, then finds it
 * fetched, instead of replacing the folder under the first one's readers.
 */
async function fetchInto(spec: DebianSourcePackage, dir: string, onWait?: () => void): Promise<undefined> {
  const lock = path.join(path.dirname(dir), '.locks', spec.debianSource);
  return withLock(
    lock,
    async () => {
      if (await exists(path.join(dir, spec.dsc))) return undefined;
      const scratch = tempSibling(dir);
      // Ctrl-C mid-fetch: the scratch folder goes too (the finally below never runs after process.exit).
      const forget = onAbnormalExit(() => fsSync.rmSync(scratch, { recursive: true, force: true }));
      try {
        await fs.mkdir(scratch, { recursive: true });
        await runLogged('apt-get', ['source', '--download-only', `${spec.debianSource}=${spec.version}`], { cwd: scratch, logFile: path.join(scratch, '..', `${spec.debianSource}.apt-get.log`) });
        // The .dsc vouches for the files beside it: on disk before the folder takes its name.
        await syncTree(scratch);
        await replaceDir(scratch, dir);
      } catch (err) {
        throw new Error(`apt-get source ${spec.debianSource}=${spec.version} failed (no deb-src entry? no network?): ${(err as Error).message.split('\n')[0]}`);
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
        forget();
      }
      return undefined;
    },
    onWait,
  );
}

/** Under the lock: an incomplete folder (no .dsc) is moved away in one step, then `from` takes its place. */
async function replaceDir(from: string, dir: string): Promise<void> {
  const old = tempSibling(dir);
  await fs.rename(dir, old).catch(() => undefined);
  await fs.rename(from, dir);
  await fs.rm(old, { recursive: true, force: true });
}
