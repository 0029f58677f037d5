import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '../../util/errors.ts';
import { exists } from '../../util/fs.ts';
import { runCommand, runLogged } from '../../util/process.ts';
import { parseKconfig, stringOf, type Kconfig } from './kconfig.ts';

/** One package as `make show-info` describes it. */
export interface ShowInfoPackage {
  type: string;
  name?: string;
  version?: string;
  /** Subdirectory of the download directory the package's archives go to. */
  dl_dir?: string;
  downloads?: { source: string; uris?: string[] }[];
}

export type ShowInfo = Record<string, ShowInfoPackage>;

/** A directory that is a Buildroot source tree (not an output). */
export async function assertBuildrootTree(tree: string): Promise<void> {
  for (const f of ['Makefile', 'Config.in', 'package', 'support/kconfig']) {
    if (!(await exists(path.join(tree, f)))) {
      throw new LabError(`${tree} is not a Buildroot source tree (no ${f})`, { fix: 'pass the top directory of a Buildroot checkout or release archive with --buildroot' });
    }
  }
}

/** `make <defconfig>` with the lab's external tree, then `make show-info` (neither downloads anything). */
export async function configureBuildroot(opts: { tree: string; external: string; out: string; defconfig: string; logFile: string }): Promise<{ config: Kconfig; info: ShowInfo }> {
  await assertBuildrootTree(opts.tree);
  await fs.mkdir(opts.out, { recursive: true });
  await runLogged('make', ['-C', opts.tree, `O=${opts.out}`, `BR2_EXTERNAL=${opts.external}`, opts.defconfig], { logFile: opts.logFile });
  const config = parseKconfig(await fs.readFile(path.join(opts.out, '.config'), 'utf8'));
  const r = await runCommand('make', ['-C', opts.tree, `O=${opts.out}`, '-s', 'show-info']);
  if (r.exitCode !== 0) throw new LabError(`make show-info failed in ${opts.out}: ${r.stderr.split('\n').slice(-3).join(' ')}`, { logPath: opts.logFile });
  return { config, info: JSON.parse(r.stdout) as ShowInfo };
}

/** Buildroot's download directory: BR2_DL_DIR from the environment, else the .config's, else <tree>/dl. */
export function downloadDir(tree: string, config: Kconfig, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.BR2_DL_DIR || stringOf(config, 'BR2_DL_DIR') || '$(TOPDIR)/dl';
  return path.resolve(configured.replace('$(TOPDIR)', tree).replace('$(BASE_DIR)', tree));
}

/** Archives the build needs that are in neither <dl>/<package>/ nor <dl>/. */
export async function missingDownloads(info: ShowInfo, dl: string): Promise<{ package: string; archive: string; where: string; uri?: string }[]> {
  const out: { package: string; archive: string; where: string; uri?: string }[] = [];
  const seen = new Set<string>();
  for (const [pkg, p] of Object.entries(info).sort(([a], [b]) => a.localeCompare(b))) {
    for (const d of p.downloads ?? []) {
      const dir = path.join(dl, p.dl_dir ?? pkg);
      // Local packages (SITE_METHOD=local: the lab's own) are copied from the tree, never downloaded.
      if (/^(local|file)\+/.test(d.uris?.[0] ?? '')) continue;
      if (seen.has(path.join(dir, d.source))) continue;
      seen.add(path.join(dir, d.source));
      if ((await exists(path.join(dir, d.source))) || (await exists(path.join(dl, d.source)))) continue;
      out.push({ package: pkg, archive: d.source, where: dir, ...(d.uris?.[0] ? { uri: d.uris[0].replace(/^[a-z|]+\+/, '') } : {}) });
    }
  }
  return out;
}

/** The libc and kernel a configured tree will build, against what the lab's target uses. */
export function resolvedVersions(info: ShowInfo): { libc: string; kernel: string } {
  const libc = info['uclibc'] ? `${info['uclibc'].downloads?.[0]?.source.startsWith('uClibc-ng') ? 'uClibc-ng' : 'uClibc'} ${info['uclibc'].version}` : info['glibc'] ? `glibc ${info['glibc'].version}` : info['musl'] ? `musl ${info['musl'].version}` : 'unknown';
  return { libc, kernel: info['linux']?.version ?? 'none' };
}

export async function buildWithBuildroot(opts: { tree: string; out: string; logFile: string; progress?: (line: string) => void }): Promise<void> {
  opts.progress?.(`make -C ${opts.tree} O=${opts.out} (log: ${opts.logFile})`);
  await runLogged('make', ['-C', opts.tree, `O=${opts.out}`], { logFile: opts.logFile });
}
