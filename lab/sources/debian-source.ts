import fs from 'node:fs/promises';
import path from 'node:path';
import type { DebianSourcePackage } from '../catalog/source-spec.ts';
import type { ResolvedSource } from '../model/source.ts';
import { LabError, MissingSourceError } from '../util/errors.ts';
import { exists } from '../util/fs.ts';
import type { LabDirs } from '../util/paths.ts';
import { runLogged } from '../util/run.ts';
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
export async function resolveDebianSource(spec: DebianSourcePackage, dirs: LabDirs, opts: { download: boolean; memoDir: string }): Promise<ResolvedSource> {
  const dir = path.join(dirs.downloads, 'debian-source', spec.debianSource);
  const dsc = path.join(dir, spec.dsc);
  let downloadFailure: string | undefined;
  if (!(await exists(dsc)) && opts.download) {
    // Two targets that need busybox fetch it once.
    downloadFailure = await onceInFlight(dir, () => fetchInto(spec, dir)).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
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

async function fetchInto(spec: DebianSourcePackage, dir: string): Promise<undefined> {
  const scratch = `${dir}.tmp-${process.pid}`;
  await fs.rm(scratch, { recursive: true, force: true });
  await fs.mkdir(scratch, { recursive: true });
  try {
    await runLogged('apt-get', ['source', '--download-only', `${spec.debianSource}=${spec.version}`], { cwd: scratch, logFile: path.join(scratch, '..', `${spec.debianSource}.apt-get.log`) });
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(scratch, dir);
  } catch (err) {
    await fs.rm(scratch, { recursive: true, force: true });
    throw new Error(`apt-get source ${spec.debianSource}=${spec.version} failed (no deb-src entry? no network?): ${(err as Error).message.split('\n')[0]}`);
  }
  return undefined;
}
