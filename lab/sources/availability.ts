import fs from 'node:fs/promises';
import path from 'node:path';
import { loadKernelLine } from '../catalog/kernel-line.ts';
import type { Target } from '../catalog/target.ts';
import { uclibcDir } from '../build/uclibc.ts';
import { LabError } from '../util/errors.ts';
import { resolveSource, type SourceOptions } from './resolve.ts';
import { loadSourceSpec, type SourceSpec } from './spec.ts';

export interface SourceStatus {
  package: string;
  found: boolean;
  origin?: string;
  path?: string;
  /** What is missing and how to provide it. */
  fix?: string;
  archive?: string;
}

export interface TargetAvailability {
  target: string;
  description: string;
  available: boolean;
  sources: SourceStatus[];
}

export async function targetSources(target: Target): Promise<SourceSpec[]> {
  if (target.imported) return [];
  const specs = [(await loadKernelLine(target.kernel.line)).source];
  if (target.libc.kind === 'uclibc') specs.push(await loadSourceSpec(path.join(uclibcDir, 'source.json')));
  return specs;
}

/** Whether every source a target needs can be found right now (nothing is built or downloaded). */
export async function targetAvailability(target: Target, opts: SourceOptions): Promise<TargetAvailability> {
  const sources: SourceStatus[] = [];
  if (target.imported) {
    const manifest = path.join(target.imported.bundleDir, 'manifest.json');
    const found = await fs.access(manifest).then(() => true, () => false);
    sources.push({ package: 'imported bundle', found, origin: 'import', path: target.imported.bundleDir, archive: `the bundle imported from ${target.imported.from}`, ...(found ? {} : { fix: `import it again: reprolab import-buildroot ${target.imported.from} --board ${target.qemu.machine} --name ${target.name}` }) });
  }
  for (const spec of await targetSources(target)) {
    try {
      const r = await resolveSource(spec, { ...opts, download: false });
      sources.push({ package: spec.package, found: true, origin: r.origin, path: r.path });
    } catch (err) {
      const archive = spec.kind === 'archive' ? spec.archive : path.basename(spec.path);
      sources.push({ package: spec.package, found: false, archive, fix: err instanceof LabError ? err.describe().replace(/\n/g, '; ') : String(err) });
    }
  }
  return { target: target.name, description: target.description, available: sources.every((s) => s.found), sources };
}

/** "skipped: <archive>, … not available" when a target cannot be built here, else undefined. */
export function skipReason(a: TargetAvailability): string | undefined {
  const missing = a.sources.filter((s) => !s.found);
  return missing.length ? `skipped: ${missing.map((s) => s.archive).join(', ')} not available` : undefined;
}
