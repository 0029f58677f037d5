import { type BundleManifest } from '../model/manifest.ts';
import { LabError } from '../util/errors.ts';
import type { Scenario, VariantPlan } from './types.ts';
import { scenarioProbeDir, sharedProbeDir, staticProbeDir } from '../model/guest-layout.ts';


/**
 * Which probe build plays which role. Libc scenarios compare libc builds
 * (unpatched vs `patchedLibc`; a glibc target has one build, "as shipped").
 * The others compare the legacy and fixed reader, linked against the target's
 * baseline libc: the libc plays no part in those bugs.
 */
export function planVariants(scenario: Scenario, manifest: BundleManifest, patchedLibc = 'patched'): VariantPlan[] {
  // The lab's probes are in the image; a user's scenario's are uploaded under its own name.
  const own = scenario.definition?.probesDir ? scenario.name : undefined;
  const dirs: ProbeDirs = own ? { static: (v) => scenarioProbeDir(own, v), shared: (v) => scenarioProbeDir(own, v, 'shared') } : { static: staticProbeDir, shared: sharedProbeDir };
  return libcPlans(scenario, manifest, patchedLibc, dirs.static).map((p) => withShared(p, manifest, dirs.shared));
}

interface ProbeDirs {
  static: (variant: string) => string;
  shared: (variant: string) => string;
}

/** A libc variant with a shared build (uClibc images) also names its dynamically linked probes and libraries. */
function withShared(p: VariantPlan, manifest: BundleManifest, sharedDir: ProbeDirs['shared']): VariantPlan {
  const shared = manifest.libc.variants.find((x) => x.variant === p.variant)?.shared;
  return shared ? { ...p, shared: { probeDir: sharedDir(p.variant), libDir: shared.libDir, imagePrograms: shared.imagePrograms !== false } } : p;
}

function libcPlans(scenario: Scenario, manifest: BundleManifest, patchedLibc: string, dirOf: ProbeDirs['static']): VariantPlan[] {
  const built = manifest.libc.variants.map((v) => v.variant);
  const libcOf = (v: string) => manifest.libc.variants.find((x) => x.variant === v)?.libc ?? v;
  if (scenario.usesLibc) {
    // An imported product's own libc is the baseline when a lab-built candidate sits beside it.
    if (!built.includes('unpatched') && built.includes('product') && built.includes(patchedLibc)) {
      return [
        { variant: 'product', role: 'unpatched', probeDir: dirOf('product'), describe: `${libcOf('product')}` },
        { variant: patchedLibc, role: 'patched', probeDir: dirOf(patchedLibc), describe: `${libcOf(patchedLibc)} + ${patchedLibc} series` },
      ];
    }
    if (!built.includes('unpatched')) {
      return [{ variant: built[0]!, role: 'unpatched', probeDir: dirOf(built[0]!), describe: `${libcOf(built[0]!)} as shipped (no patched build to compare)` }];
    }
    if (!built.includes(patchedLibc)) {
      throw new LabError(`${manifest.target} has no "${patchedLibc}" libc build`, { fix: `build it: reprolab build ${manifest.target} (variants built: ${built.join(', ')})` });
    }
    return [
      { variant: 'unpatched', role: 'unpatched', probeDir: dirOf('unpatched'), describe: `${libcOf('unpatched')}, release + build compat patches` },
      // A uClibc-ng revision is a libc of its own, not a patch series on the release.
      { variant: patchedLibc, role: 'patched', probeDir: dirOf(patchedLibc), describe: libcOf(patchedLibc).startsWith('uClibc-ng') ? libcOf(patchedLibc) : `${libcOf(patchedLibc)} + ${patchedLibc} series` },
    ];
  }
  const base = built.includes('unpatched') ? 'unpatched' : built[0]!;
  return [
    { variant: 'legacy', role: 'unpatched', probeDir: dirOf(base), describe: 'the field code (legacy reader)' },
    { variant: 'fixed', role: 'patched', probeDir: dirOf(base), describe: 'the fixed reader' },
  ];
}

/**
 * Where a variant's probe runs from: a libc scenario on a uClibc image runs the dynamically linked
 * build (it loads the variant's own libc.so, as a product's programs do); everything else the static one.
 */
export function probeDirFor(usesLibc: boolean, v: VariantPlan): string {
  return usesLibc && v.shared ? v.shared.probeDir : v.probeDir;
}
