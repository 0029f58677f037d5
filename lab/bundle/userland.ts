import fs from 'node:fs/promises';
import path from 'node:path';
import { Fields, parseJson } from '../model/fields.ts';
import { sha256File } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import type { LabDirs } from '../util/paths.ts';
import { repoRoot } from '../util/paths.ts';
import { capture, runLogged } from '../util/process.ts';
import { storeEntry } from '../store/store.ts';
import { pending, planning } from '../store/plan.ts';

export const userlandFile = path.join(repoRoot, 'images', 'userland', 'debian.json');

export interface DebianPackage {
  name: string;
  file: string;
  sha256: string;
}

export interface Userland {
  /** Extracted tree (busybox, dropbear, shared libraries) ready to go into the rootfs. */
  dir: string;
  packages: DebianPackage[];
  hit: boolean;
}

async function loadUserlandSpec(): Promise<{ packages: string[]; exclude: string[] }> {
  const f = new Fields('images/userland/debian.json', parseJson(userlandFile, await fs.readFile(userlandFile, 'utf8')));
  f.only(['comment', 'packages', 'exclude']);
  return { packages: f.stringList('packages', /^[a-z0-9.+-]+$/), exclude: f.stringList('exclude') };
}

/**
 * Debian binary packages for the guest architecture, downloaded once with
 * apt-get into the download cache; offline, the cached .debs are used.
 */
async function fetchDebs(names: string[], debArch: string, dirs: LabDirs, logFile: string): Promise<DebianPackage[]> {
  const dir = path.join(dirs.downloads, 'debian', debArch);
  if (!planning()) await fs.mkdir(dir, { recursive: true });
  const cached = async () => (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(`_${debArch}.deb`));
  const pick = (files: string[], name: string) => files.filter((f) => f.startsWith(`${name}_`)).sort().pop();
  let files = await cached();
  const missing = names.filter((n) => !pick(files, n));
  // A dry run downloads nothing: the userland waits for the packages.
  if (missing.length > 0 && planning()) return names.map((name) => ({ name, file: path.join(dir, `${name}.deb`), sha256: pending(`the download of ${missing.join(', ')}`) }));
  if (missing.length > 0) {
    try {
      await runLogged('apt-get', ['download', ...missing.map((n) => `${n}:${debArch}`)], { cwd: dir, logFile });
    } catch (err) {
      throw new LabError(`Debian packages for ${debArch} not available: ${missing.join(', ')}`, {
        fix: `dpkg --add-architecture ${debArch} && apt-get update (reprolab doctor --install does both), or put the .deb files in ${dir}/`,
        cause: err,
      });
    }
    files = await cached();
  }
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, pick(files, name)!);
      return { name, file, sha256: await sha256File(file) };
    }),
  );
}

function excluded(rel: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+')}`);
    return re.test(rel);
  });
}

export async function buildUserland(debArch: string, dirs: LabDirs, logFile: string): Promise<Userland> {
  const spec = await loadUserlandSpec();
  const packages = await fetchDebs(spec.packages, debArch, dirs, logFile);
  const entry = await storeEntry(dirs.store, 'userland', { debArch, debs: packages.map((p) => p.sha256), exclude: spec.exclude }, async (out, raw) => {
    for (const p of packages) await runLogged('dpkg-deb', ['-x', p.file, raw], { logFile });
    const listing = await capture('find', [raw, '-mindepth', '1', '(', '-type', 'f', '-o', '-type', 'l', ')', '-printf', '%P\n']);
    for (const rel of listing.split('\n').filter(Boolean)) {
      if (excluded(rel, spec.exclude)) continue;
      await fs.mkdir(path.dirname(path.join(out, rel)), { recursive: true });
      await fs.cp(path.join(raw, rel), path.join(out, rel), { verbatimSymlinks: true });
    }
  });
  return { dir: entry.dir, packages, hit: entry.hit };
}
