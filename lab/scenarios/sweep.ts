import fs from 'node:fs/promises';
import path from 'node:path';
import { readBundleManifest } from '../model/manifest.ts';
import { startGuest } from '../guest/guest.ts';
import { GuestSession } from '../fabric/session.ts';
import { LabError, UsageError } from '../util/errors.ts';
import type { LabDirs } from '../util/paths.ts';
import { runScenario, type RunGuest } from './runner.ts';
import type { ScenarioProbeBuilds } from '../bundle/probes.ts';
import { type Scenario, type ScenarioParams } from './types.ts';
import { type ScenarioResult } from '../model/scenario-result.ts';
import { type Outcome } from '../model/verdict.ts';

/** The parameter a sweep varies: interfaces (B1), the USB burst's device count (B2), held sockets (B3, B4); a definition's `sweep`. */
export type { SweepAxis } from '../catalog/scenario-defs.ts';
import type { SweepAxis } from '../catalog/scenario-defs.ts';

export interface SweepRange {
  from: number;
  to: number;
  step: number;
}

/** "0..64" or "0..64:4". */
export function parseRange(flag: string, text: string): SweepRange {
  const m = /^(\d+)\.\.(\d+)(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} ${text}: expected FROM..TO or FROM..TO:STEP`, { fix: `e.g. ${flag} 0..64 or ${flag} 0..64:4` });
  const [from, to, step] = [Number(m[1]), Number(m[2]), m[3] ? Number(m[3]) : 1];
  if (to < from || step < 1) throw new UsageError(`${flag} ${text}: TO must be >= FROM and STEP >= 1`);
  if ((to - from) / step > 512) throw new UsageError(`${flag} ${text}: more than 512 points`, { fix: 'use a larger step' });
  return { from, to, step };
}

export function rangeValues(r: SweepRange): number[] {
  const out: number[] = [];
  for (let v = r.from; v <= r.to; v += r.step) out.push(v);
  return out;
}

/** The parameter a scenario's definition sweeps, if any. */
export function sweepAxisOf(s: Scenario): SweepAxis | undefined {
  return s.definition?.sweep;
}

export interface SweepPoint {
  value: number;
  unpatched: Outcome;
  patched?: Outcome;
  unpatchedSymptom: string;
  patchedSymptom?: string;
  key: ScenarioResult['key'];
  evidenceDir: string;
}

export interface SweepResult {
  scenario: string;
  target: string;
  axis: SweepAxis;
  points: SweepPoint[];
  /** Smallest value at which the unpatched variant failed, every smaller value judged; undefined when it never did or an ERROR came first. */
  threshold?: number;
  /** Values at which the patched variant did not pass. */
  patchedFailures: number[];
  errors: number[];
}

export function paramsAt(axis: SweepAxis, value: number, base: ScenarioParams, defaults: ScenarioParams): ScenarioParams {
  if (axis === 'interfaces') return { ...base, interfaces: value };
  if (axis === 'sockets') return { ...base, sockets: value };
  const burst = base.burst ?? defaults.burst;
  if (!burst) throw new LabError('the uevent scenario has no default burst');
  return { ...base, burst: { ...burst, count: value } };
}

/** What a sweep found, in words: the threshold, that none was found, or that an unpatched ERROR came first. */
export function thresholdText(s: { axis: string; threshold?: number; points: { value: number; unpatched: string }[] }): string {
  if (s.threshold !== undefined) return `threshold ${s.axis} = ${s.threshold} (smallest value where the unpatched variant failed)`;
  const first = s.points.find((p) => p.unpatched !== 'PASS');
  if (first) return `threshold unknown: the unpatched variant was not judged at ${s.axis} = ${first.value} (ERROR) before any failure`;
  return `no threshold: the unpatched variant passed at every ${s.axis} value`;
}

export function summarizeSweep(scenario: string, target: string, axis: SweepAxis, points: SweepPoint[]): SweepResult {
  // A threshold is the first failure after points that were all judged: an ERROR below it could hide a smaller one.
  const first = points.find((p) => p.unpatched !== 'PASS');
  const threshold = first?.unpatched === 'FAIL' ? first.value : undefined;
  return {
    scenario,
    target,
    axis,
    points,
    ...(threshold !== undefined ? { threshold } : {}),
    patchedFailures: points.filter((p) => p.patched !== undefined && p.patched !== 'PASS').map((p) => p.value),
    errors: points.filter((p) => p.unpatched === 'ERROR' || p.patched === 'ERROR').map((p) => p.value),
  };
}

/** One boot; at every value the scenario's fabric is rebuilt, both variants run and are judged. */
export async function runSweep(opts: {
  scenario: Scenario;
  bundleDir: string;
  axis: SweepAxis;
  range: SweepRange;
  params: ScenarioParams;
  dirs: LabDirs;
  outDir: string;
  progress?: (line: string) => void;
  /** Reuse a booted guest (the matrix); it is then neither booted nor stopped here. */
  guest?: RunGuest;
  /** A user's scenario: its probes as the bundle built them. */
  scenarioProbes?: ScenarioProbeBuilds;
}): Promise<SweepResult> {
  const manifest = await readBundleManifest(opts.bundleDir);
  await fs.mkdir(opts.outDir, { recursive: true });
  // A guest of its own when none is lent: one session, stopped however the sweep ends.
  await using own = new GuestSession({ bundleDir: opts.bundleDir, dirs: opts.dirs, runDir: opts.outDir, start: startGuest, ...(opts.progress ? { progress: opts.progress } : {}) });
  const guest = opts.guest ?? (await own.guest());
  const points: SweepPoint[] = [];
  {
    for (const value of rangeValues(opts.range)) {
      if (!guest.vm.running) throw new LabError(`the guest stopped during the sweep at ${opts.axis}=${value}`, { logPath: guest.consoleLog });
      const r = await runScenario({
        scenario: opts.scenario,
        bundleDir: opts.bundleDir,
        repeat: 1,
        params: paramsAt(opts.axis, value, opts.params, opts.scenario.defaults),
        dirs: opts.dirs,
        outDir: path.join(opts.outDir, `${opts.axis}-${value}`),
        guest,
        ...(opts.scenarioProbes ? { scenarioProbes: opts.scenarioProbes } : {}),
      });
      const u = r.variants.find((v) => v.role === 'unpatched');
      const p = r.variants.find((v) => v.role === 'patched');
      points.push({
        value,
        unpatched: u?.outcome ?? 'ERROR',
        unpatchedSymptom: r.error ?? u?.symptom ?? '',
        ...(p ? { patched: p.outcome, patchedSymptom: p.symptom } : {}),
        key: r.key,
        evidenceDir: r.evidenceDir,
      });
      opts.progress?.(`${opts.axis}=${value}: unpatched ${u?.outcome} (${u?.symptom})${p ? `, patched ${p.outcome}` : ''}`);
    }
  }
  const result = summarizeSweep(opts.scenario.name, manifest.target, opts.axis, points);
  await fs.writeFile(path.join(opts.outDir, 'sweep.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
