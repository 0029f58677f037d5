import path from 'node:path';
import { LabError, UsageError } from '../util/errors.ts';
import { BUILTIN_SCENARIO_DIR, loadScenarioDir } from '../catalog/scenario-defs.ts';
import { scenarioFromDefinition } from './from-definition.ts';
import type { Scenario } from './types.ts';
import type { ScenarioProbes } from '../bundle/probes.ts';

/**
 * The scenarios every command sees: the built-in directory (images/scenarios) and the
 * user's (--scenario-dir, REPROLAB_SCENARIOS=DIR1:DIR2), read the same way, once.
 */
let extraDirs: string[] | undefined;
let loaded: Map<string, Scenario> | undefined;

/** --scenario-dir: the CLI sets these before any command looks a scenario up. */
export function useScenarioDirs(dirs: string[]): void {
  extraDirs = dirs.map((d) => path.resolve(d));
  loaded = undefined;
}

export function scenarioDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return extraDirs ?? (env['REPROLAB_SCENARIOS'] ?? '').split(':').filter(Boolean).map((d) => path.resolve(d));
}

function load(): Map<string, Scenario> {
  if (loaded) return loaded;
  const all = new Map<string, Scenario>();
  const from = new Map<string, string>();
  for (const [dir, builtin] of [[BUILTIN_SCENARIO_DIR, true] as const, ...scenarioDirs().map((d) => [d, false] as const)]) {
    try {
      for (const def of loadScenarioDir(dir, builtin)) {
        const seen = from.get(def.name);
        if (seen) throw new UsageError(`${def.file}: scenario "${def.name}" is already defined by ${seen}`, { fix: 'give the scenario (and its folder) another name' });
        from.set(def.name, def.file);
        all.set(def.name, scenarioFromDefinition(def));
      }
    } catch (err) {
      // A user's definition is input like an option: a mistake in it is a usage error (exit 2).
      if (builtin || !(err instanceof LabError) || err instanceof UsageError) throw err;
      throw new UsageError(err.message, err.fix ? { fix: err.fix } : {});
    }
  }
  loaded = all;
  return all;
}

/** Every scenario, built-in first, in directory order. */
export function allScenarios(): Scenario[] {
  return [...load().values()];
}

export function scenarioNames(): string[] {
  return [...load().keys()];
}

export function builtinScenarioNames(): string[] {
  return allScenarios().filter((s) => s.definition?.builtin).map((s) => s.name);
}

/** What buildBundle must build for these scenarios beside the image: the probes of the users' ones. */
export function scenarioProbesOf(scenarios: Scenario[]): ScenarioProbes[] {
  return scenarios.flatMap((s) => (s.definition?.probesDir ? [{ scenario: s.name, dir: s.definition.probesDir }] : []));
}

/** The scenario of that name, or undefined (a report of a run whose user's scenarios are not loaded here). */
export function findScenario(name: string): Scenario | undefined {
  return load().get(name);
}

export function scenarioByName(name: string): Scenario {
  const s = load().get(name);
  if (!s) throw new UsageError(`unknown scenario "${name}"`, { fix: `use one of: ${scenarioNames().join(', ')} (a scenario of your own: --scenario-dir DIR or REPROLAB_SCENARIOS)` });
  return s;
}
