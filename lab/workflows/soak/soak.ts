import fs from 'node:fs/promises';
import path from 'node:path';
import type { ScenarioProbeBuilds } from '../../bundle/probes.ts';
import type { FabricGuest } from '../../fabric/fabric.ts';
import { GuestSession, type SessionGuest, type StartGuest } from '../../fabric/session.ts';
import { startGuest, type Guest } from '../../guest/guest.ts';
import type { BundleManifest } from '../../model/manifest.ts';
import { installScenarioProbes } from '../../scenarios/runner.ts';
import { describeError } from '../../util/errors.ts';
import type { LabDirs } from '../../util/paths.ts';
import { soakReader, type SoakPlan } from './plan.ts';
import { appendRound, progressPath, type SoakRound } from './progress.ts';
import { runRound, type RoundContext } from './round.ts';
import { soakTotals, totalsLine, type SoakTotals } from './tally.ts';

/** The shortest round a soak runs (its last one included): a few seconds of dumps must see the churn. */
export const MIN_ROUND_MS = 5_000;

/** What a soak's guest must offer: the fabric's needs, uploads (a user's probes), a VM that can stop. */
export type SoakGuest = FabricGuest & SessionGuest & Pick<Guest, 'upload'>;

export interface SoakOptions {
  plan: SoakPlan;
  bundleDir: string;
  manifest: BundleManifest;
  dirs: LabDirs;
  /** The soak's folder: progress.jsonl (its header already written), rounds/, session-<n>/. */
  outDir: string;
  /** Soak until the measured rounds' seconds reach this. */
  durationMs: number;
  roundMs: number;
  /** The rounds already in progress.jsonl (a resumed soak); new rounds are numbered after them. */
  previous: SoakRound[];
  scenarioProbes?: ScenarioProbeBuilds;
  progress: (line: string) => void;
  /** How the guest boots (the lab's startGuest; tests give their own). */
  start?: StartGuest<SoakGuest>;
}

export interface SoakResult {
  /** Every round of the soak, the previous ones included. */
  rounds: SoakRound[];
  totals: SoakTotals;
  /** Why the soak stopped before its duration (an ERROR round, a boot or fabric that failed). */
  error?: string;
  /** This invocation's boots and console logs. */
  sessionDir: string;
  /** The console log of the guest the rounds ran on (once it booted). */
  consoleLog?: string;
}

/** The next round's budget: the round length, or what is left of the duration (never under MIN_ROUND_MS). */
export function nextBudgetMs(leftMs: number, roundMs: number): number {
  return Math.ceil(Math.min(roundMs, Math.max(leftMs, MIN_ROUND_MS)));
}

/** This invocation's folder: session-<n>, n one more than the sessions before it (a resume never writes over their console logs). */
async function newSessionDir(outDir: string): Promise<string> {
  const names = await fs.readdir(outDir).catch(() => [] as string[]);
  const used = names.map((n) => /^session-(\d+)$/.exec(n)?.[1]).filter((n): n is string => n !== undefined).map(Number);
  const dir = path.join(outDir, `session-${Math.max(0, ...used) + 1}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** Rounds until the duration is soaked, each appended to the progress file as it ends; returns an ERROR round's error. */
export async function soakRounds(opts: SoakOptions, ctx: RoundContext, rounds: SoakRound[]): Promise<string | undefined> {
  const file = progressPath(opts.outDir);
  for (let left = opts.durationMs - soakTotals(rounds).seconds * 1000; left > 0; left = opts.durationMs - soakTotals(rounds).seconds * 1000) {
    const n = rounds.length + 1;
    const budget = nextBudgetMs(left, opts.roundMs);
    opts.progress(`round ${n}: ${(budget / 1000).toFixed(0)} s of dumps under churn`);
    const r = await runRound(opts.plan, ctx, n, budget);
    await appendRound(file, r);
    rounds.push(r);
    if (r.outcome === 'ERROR') {
      opts.progress(`round ${n} ERROR (not counted): ${r.error}`);
      return `round ${n}: ${r.error}`;
    }
    opts.progress(`round ${n} ${r.outcome === 'FAIL' ? `HANG (${r.hangs})` : 'ok'}: ${totalsLine(soakTotals(rounds))}`);
  }
  return undefined;
}

/**
 * A soak: one guest booted (its console log under session-<n>/), the user's probes uploaded, the
 * scenario's fabric (held sockets) built, then rounds of the unpatched reader under the churn until
 * the duration is soaked. Never throws for what happens in the guest: a boot, fabric or round that
 * failed ends the soak with its error, the rounds before it kept. The guest is stopped however it ends
 * (Ctrl-C: by the lab's exit handlers, which kill QEMU).
 */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const rounds = [...opts.previous];
  const sessionDir = await newSessionDir(opts.outDir);
  await using session = new GuestSession<SoakGuest>({ bundleDir: opts.bundleDir, dirs: opts.dirs, runDir: sessionDir, start: opts.start ?? startGuest, progress: opts.progress });
  let phase = 'booting';
  let error: string | undefined;
  let consoleLog: string | undefined;
  try {
    const booted = await session.guest();
    consoleLog = booted.consoleLog;
    phase = "installing the scenario's probes";
    const sets = (opts.scenarioProbes?.sets ?? []).filter((p) => p.scenario === opts.plan.scenario.name);
    await installScenarioProbes({ scenario: opts.plan.scenario, outDir: sessionDir, ...(opts.scenarioProbes ? { scenarioProbes: opts.scenarioProbes } : {}) }, sets, booted);
    phase = 'building the fabric';
    opts.progress(phase);
    const { guest } = await session.withFabric(opts.plan.scenario.fabric(opts.plan.params));
    const ctx: RoundContext = { guest, manifest: opts.manifest, reader: soakReader(opts.plan, opts.manifest), outDir: opts.outDir, evidenceDir: path.join(opts.outDir, 'rounds'), consoleLog: guest.consoleLog };
    phase = 'soaking';
    error = await soakRounds(opts, ctx, rounds);
  } catch (err) {
    error = `${phase}: ${describeError(err)}`;
  }
  return { rounds, totals: soakTotals(rounds), ...(error ? { error } : {}), sessionDir, ...(consoleLog ? { consoleLog } : {}) };
}
