import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '../util/errors.ts';
import { parseResult } from './result-line.ts';
import { type ProbeResult } from '../model/scenario-result.ts';
import type { ScenarioContext, VariantPlan } from './types.ts';
import type { GuestShell } from '../guest/guest.ts';

/** What running a command in the guest and keeping its evidence needs of a scenario's context. */
export type ExecContext = Pick<ScenarioContext, 'evidenceDir' | 'repeat' | 'manifest'> & { guest: GuestShell };
import { timeout } from '../util/timeouts.ts';

export interface ProbeRun {
  result: ProbeResult;
  exitCode: number | null;
  evidence: string;
  ms: number;
}

/** Keeps a probe's full output as r<repeat>-<role>-<variant>-<probe>.txt in the evidence directory; returns its path. */
export async function writeEvidence(ctx: ExecContext, v: VariantPlan, probe: string, text: string): Promise<string> {
  const file = path.join(ctx.evidenceDir, `r${ctx.repeat}-${v.role}-${v.variant}-${probe}.txt`);
  await fs.mkdir(ctx.evidenceDir, { recursive: true });
  await fs.writeFile(file, text);
  return file;
}

/** Runs a command of the image (not a lab probe) in the guest and keeps its full output as evidence. */
export async function runCommand(ctx: ExecContext, v: VariantPlan, name: string, argv: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; exitCode: number; evidence: string }> {
  const t0 = Date.now();
  const r = await ctx.guest.exec(argv, { timeoutMs: opts.timeoutMs ?? timeout('probe') });
  const evidence = await writeEvidence(ctx, v, name, `$ ${argv.join(' ')}\n# exit ${r.exitCode ?? r.signal}, ${Date.now() - t0} ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  if (r.exitCode === null) throw new LabError(`${name} (${v.variant}) was killed by ${r.signal ?? 'a signal'} in the guest`, { logPath: evidence });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, evidence };
}

/** Runs one probe in the guest, keeps its full output as evidence, and parses its result line. */
export async function runProbe(ctx: ExecContext, v: VariantPlan, probe: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<ProbeRun> {
  return runProbeArgv(ctx, v, probe, [`${v.probeDir}/${probe}`, ...args], opts);
}

/** runProbe with the whole command line given (a run plan's probe step). */
export async function runProbeArgv(ctx: ExecContext, v: VariantPlan, probe: string, argv: string[], opts: { timeoutMs?: number } = {}): Promise<ProbeRun> {
  const t0 = Date.now();
  const r = await runCommand(ctx, v, probe, argv, opts);
  if (r.exitCode > 1) throw new LabError(`${probe} (${v.variant}) exited ${r.exitCode}: ${r.stderr.trim().slice(0, 300)}`, { logPath: r.evidence });
  return { result: parseResult(r.stdout, ctx.manifest.arch, `${probe} (${v.variant})`), exitCode: r.exitCode, evidence: r.evidence, ms: Date.now() - t0 };
}
