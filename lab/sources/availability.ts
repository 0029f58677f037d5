import fs from 'node:fs/promises';
import path from 'node:path';
import { loadKernelLine } from '../catalog/kernel-line.ts';
import type { Target } from '../model/target.ts';
import { programSource, SOURCE_PROGRAMS } from '../catalog/userland.ts';
import { uclibcDir } from '../catalog/libc.ts';
import { LabError, MissingSourceError } from '../util/errors.ts';
import { resolveSource, type SourceOptions } from './resolve.ts';
import { loadSourceSpec, type SourceSpec } from '../catalog/source-spec.ts';

export interface SourceStatus {
  package: string;
  /** found: usable; missing: nowhere to be had (the target is skipped); wrong: present but unusable (the target fails). */
  state: 'found' | 'missing' | 'wrong';
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

export interface AvailabilityOptions extends SourceOptions {
  /** Fetch missing pinned archives as the download policy allows (the matrix, `sources fetch`); listing never does. */
  fetch?: boolean;
}

export async function targetSources(target: Target): Promise<SourceSpec[]> {
  if (target.imported) return [];
  const specs = [(await loadKernelLine(target.kernel.line)).source];
  if (target.libc.kind === 'uclibc') {
    specs.push(await loadSourceSpec(path.join(uclibcDir, 'source.json')));
    for (const p of SOURCE_PROGRAMS) specs.push(await programSource(p));
  }
  return specs;
}

/**
 * Whether every source a target needs can be had: found now, or (with `fetch`)
 * downloaded as the policy allows. Missing is not wrong: a tampered archive or a
 * bad override is "wrong", and the caller must fail the target, never skip it.
 */
export async function targetAvailability(target: Target, opts: AvailabilityOptions): Promise<TargetAvailability> {
  const sources: SourceStatus[] = [];
  if (target.imported) {
    const manifest = path.join(target.imported.bundleDir, 'manifest.json');
    const found = await fs.access(manifest).then(() => true, () => false);
    sources.push({ package: 'imported bundle', state: found ? 'found' : 'missing', found, origin: 'import', path: target.imported.bundleDir, archive: `the bundle imported from ${target.imported.from}`, ...(found ? {} : { fix: `import it again: reprolab import-buildroot ${target.imported.from} --board ${target.qemu.machine} --name ${target.name}` }) });
  }
  for (const spec of await targetSources(target)) {
    const archive = spec.kind === 'archive' ? spec.archive : spec.kind === 'debian-source' ? spec.dsc : path.basename(spec.path);
    try {
      const r = await resolveSource(spec, opts.fetch ? opts : { ...opts, download: false });
      sources.push({ package: spec.package, state: 'found', found: true, origin: r.origin, path: r.path, archive });
    } catch (err) {
      const state = err instanceof MissingSourceError ? 'missing' : 'wrong';
      const text = err instanceof LabError ? err.describe() : err instanceof Error ? err.message : String(err);
      sources.push({ package: spec.package, state, found: false, archive, fix: text.replace(/\n/g, '; ') });
    }
  }
  return { target: target.name, description: target.description, available: sources.every((s) => s.found), sources };
}

/** Why a target's sources are present but unusable (a digest mismatch, a bad override), else undefined. */
export function sourceProblem(a: TargetAvailability): string | undefined {
  const wrong = a.sources.filter((s) => s.state === 'wrong');
  return wrong.length ? `source error: ${wrong.map((s) => `${s.package}: ${s.fix}`).join('; ')}` : undefined;
}

/** "skipped: <archive>, … not available" when a target's sources are missing (and none is wrong), else undefined. */
export function skipReason(a: TargetAvailability): string | undefined {
  if (sourceProblem(a)) return undefined;
  const missing = a.sources.filter((s) => s.state === 'missing');
  return missing.length ? `skipped: ${missing.map((s) => s.archive).join(', ')} not available` : undefined;
}
