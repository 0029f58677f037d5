import path from 'node:path';
import { buildBundle } from '../bundle/bundle.ts';
import { CANDIDATE_LIBCS, importedCandidateBundle, type CandidateLibc } from './candidate.ts';
import { CANDIDATE_VARIANT } from '../bundle/uclibc.ts';
import type { Target } from '../model/target.ts';
import type { SourceOptions } from '../sources/resolve.ts';
import { describeError, LabError } from '../util/errors.ts';
import type { LabDirs } from '../util/paths.ts';
import { allScenarios, scenarioProbesOf } from '../scenarios/registry.ts';
import type { ScenarioProbeBuilds } from '../bundle/probes.ts';
import { runScenario } from '../scenarios/runner.ts';
import { type ScenarioParams } from '../scenarios/types.ts';
import { type ScenarioResult } from '../model/scenario-result.ts';

/** What a patch did on one target, in one word a person can act on, with the results behind it. */
export type PatchFinding = 'FIXES' | 'DOES_NOT_FIX' | 'REGRESSION' | 'NOTHING_TO_FIX' | 'DOES_NOT_APPLY' | 'DOES_NOT_BUILD' | 'ERROR';

export interface TargetValidation {
  target: string;
  finding: PatchFinding;
  detail: string;
  results: ScenarioResult[];
}

export const SUPPORTED_LIBCS = Object.keys(CANDIDATE_LIBCS) as CandidateLibc[];

export function findingOf(results: ScenarioResult[]): { finding: PatchFinding; detail: string } {
  const line = (r: ScenarioResult) => `${r.scenario}: ${r.verdict} — ${r.variants.map((v) => `${v.variant} ${v.outcome} ${v.symptom}`).join('; ')}`;
  const detail = results.map(line).join('\n');
  if (results.some((r) => r.verdict === 'ERROR')) return { finding: 'ERROR', detail };
  if (results.some((r) => r.verdict === 'PATCH_REGRESSION')) return { finding: 'REGRESSION', detail };
  if (results.some((r) => r.verdict === 'FIX_INEFFECTIVE')) return { finding: 'DOES_NOT_FIX', detail };
  if (results.some((r) => r.verdict === 'CONFIRMED')) return { finding: 'FIXES', detail };
  return { finding: 'NOTHING_TO_FIX', detail };
}

/** A patch that does not apply, or a build that ran and failed, is the patch's finding; anything else the lab could not judge. */
export function buildFailureFinding(err: unknown): PatchFinding {
  const kind = err instanceof LabError ? err.kind : 'lab';
  return kind === 'patch' ? 'DOES_NOT_APPLY' : kind === 'command' || kind === 'config' ? 'DOES_NOT_BUILD' : 'ERROR';
}

/**
 * Builds the libc with the user's patches on the unpatched release (variant
 * "candidate"), relinks the probes, and runs every libc scenario with
 * unpatched vs candidate. A patch that does not apply or build is a finding
 * for that target, named with the patch and the step.
 */
export async function validatePatch(opts: {
  patches: string[];
  /** Which libc the patches are for: uClibc 0.9.33.2 (built-in targets, products with it) or a product's uClibc-ng release. */
  libc?: CandidateLibc;
  targets: Target[];
  dirs: LabDirs;
  sources: SourceOptions;
  params: ScenarioParams;
  outDir: string;
  progress?: (line: string) => void;
  /** The built-in targets (imported products borrow their board's QEMU settings). */
  builtins?: Target[];
}): Promise<TargetValidation[]> {
  const say = opts.progress ?? (() => undefined);
  const libc = opts.libc ?? 'uclibc-0.9.33.2';
  const out: TargetValidation[] = [];
  for (const target of opts.targets) {
    if (!target.imported && libc !== 'uclibc-0.9.33.2') {
      // The CLI never picks one; said here too, so no caller gets a 0.9.33.2 result for a uClibc-ng question.
      out.push({ target: target.name, finding: 'ERROR', detail: `--libc ${libc} is validated on imported products only: ${target.name} ships uClibc 0.9.33.2`, results: [] });
      continue;
    }
    say(`${target.name}: building ${libc === 'uclibc-ng' ? 'uClibc-ng' : 'uClibc'} with ${opts.patches.map((p) => path.basename(p)).join(', ')}`);
    let bundleDir: string;
    let scenarioProbes: ScenarioProbeBuilds = { sets: [], failed: [] };
    // An imported product has no lab toolchain to build a user's probes: those scenarios are not run on it.
    const scenarios = allScenarios().filter((s) => s.usesLibc && !(target.imported && s.definition?.probesDir));
    try {
      const logDir = path.join(opts.outDir, target.name, 'build');
      bundleDir = target.imported
        ? await importedCandidateBundle({ target, libc, patches: opts.patches, builtins: opts.builtins ?? [], dirs: opts.dirs, sources: opts.sources, logFile: path.join(logDir, 'candidate.log'), progress: (s) => say(`${target.name}: ${s}`) })
        : await buildBundle({
            target,
            variants: ['unpatched', CANDIDATE_VARIANT],
            extraPatches: opts.patches,
            dirs: opts.dirs,
            sources: opts.sources,
            logDir,
            progress: (s) => say(`${target.name}: build ${s}`),
            scenarioProbes: scenarioProbesOf(scenarios),
          }).then((b) => {
            scenarioProbes = b.scenarioProbes;
            return b.dir;
          });
    } catch (err) {
      out.push({ target: target.name, finding: buildFailureFinding(err), detail: describeError(err), results: [] });
      continue;
    }
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      say(`${target.name}: ${scenario.name}`);
      results.push(
        await runScenario({
          scenario,
          bundleDir,
          repeat: 1,
          params: opts.params,
          dirs: opts.dirs,
          outDir: path.join(opts.outDir, target.name, scenario.name),
          patchedLibc: CANDIDATE_VARIANT,
          scenarioProbes,
          progress: (l) => say(`${target.name}: ${scenario.name}: ${l}`),
        }),
      );
    }
    out.push({ target: target.name, ...findingOf(results), results });
  }
  return out;
}
