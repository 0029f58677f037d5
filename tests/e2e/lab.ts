/**
 * What the end-to-end tests share: the real lab cache, the targets, which of
 * them can be built here, and building one (a cache hit when nothing changed).
 */
import path from 'node:path';
import { buildBundle, type Bundle } from '../../lab/bundle/bundle.ts';
import { loadTargets } from '../../lab/catalog/targets.ts';
import { skipReason, targetAvailability, type TargetAvailability } from '../../lab/sources/availability.ts';
import { progressPrinter } from '../../lab/sources/download.ts';
import { labDirs, timeStamp } from '../../lab/util/paths.ts';

export const dirs = labDirs();
export const targets = await loadTargets();
export const availability: TargetAvailability[] = await Promise.all(targets.map((t) => targetAvailability(t, { dirs, fetch: true, progress: progressPrinter() })));
const stamp = timeStamp();

/** "skipped: <archive> not available" for a target whose sources are absent, else undefined. */
export function skipReasonFor(name: string): string | undefined {
  return skipReason(availability.find((a) => a.target === name)!);
}

export function buildTarget(name: string, extra: { variants?: string[]; extraPatches?: string[] } = {}): Promise<Bundle> {
  const target = targets.find((t) => t.name === name)!;
  return buildBundle({
    target,
    extraPatches: extra.extraPatches ?? [],
    ...(extra.variants ? { variants: extra.variants } : {}),
    dirs,
    sources: { dirs },
    logDir: path.join(dirs.logs, `e2e-${name}-${stamp}`),
  });
}
