import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../util/errors.ts';
import { anySignal, labSignal } from '../../util/lifetime.ts';
import { runCommand } from '../../util/process.ts';
import { timeout } from '../../util/timeouts.ts';
import { readJob } from './job.ts';
import { parseDispatcherLog } from './results.ts';
import { checkDeviceType, deviceDictionary, deviceTypesDir, dispatcherVersion, renderDevice } from './device-types.ts';

export interface JobValidation {
  job: string;
  deviceType: string;
  ok: boolean;
  /** The dispatcher's own words when it refused the job. */
  problem?: string;
}

/** Every job an export wrote: <dir>/<target>/jobs/<scenario>.yaml, plain files inside dir. */
async function jobFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!t.isDirectory()) continue;
    const jobs = path.join(dir, t.name, 'jobs');
    // Plain folders and files only: a link would hand a file from outside DIR to the dispatcher, as root.
    if (!(await fs.lstat(jobs).then((st) => st.isDirectory(), () => false))) continue;
    for (const j of await fs.readdir(jobs, { withFileTypes: true })) if (j.isFile() && j.name.endsWith('.yaml')) out.push(path.join(jobs, j.name));
  }
  if (!out.length) throw new UsageError(`${dir}: no LAVA jobs in it (<target>/jobs/<scenario>.yaml)`, { fix: 'pass the --out directory of reprolab lava export' });
  return out.sort();
}

/** Why the dispatcher refused a job: its job case's class and message, else its last error line. */
function refusal(output: string): string {
  const job = parseDispatcherLog(output).job;
  if (job?.errorMessage) return `${job.errorType ?? 'unknown'} error: ${job.errorMessage}`.slice(0, 400);
  const lines = output.split('\n').filter((l) => /"lvl": "(error|exception)"/.test(l) || /^(Invalid|ERROR|error)/.test(l));
  return (lines.at(-1) ?? output.trim().split('\n').at(-1) ?? 'no message').slice(0, 400);
}

/** `reprolab lava validate DIR`: the real dispatcher's `lava-run --validate` on each job against its device type's rendered dictionary. */
export async function validateJobs(o: { dir: string; cache: string; progress?: (l: string) => void }): Promise<JobValidation[]> {
  if (process.getuid?.() !== 0) throw new UsageError('reprolab lava validate drives lava-run, which must run as root', { fix: 'run it as root (sudo -E keeps your cache)' });
  const types = await deviceTypesDir(o.cache, await dispatcherVersion(), o.progress);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-lava-validate-'));
  try {
    const out: JobValidation[] = [];
    for (const [i, job] of (await jobFiles(o.dir)).entries()) {
      const { deviceType, memory } = await readJob(job);
      await checkDeviceType(types, deviceType, `${job}: device_type`);
      const device = path.join(work, `device-${i}.yaml`);
      await renderDevice({ dictionary: deviceDictionary(deviceType, memory), types, job, out: device });
      const bound = timeout('lavaValidate');
      const r = await runCommand('lava-run', ['--validate', '--job-id', String(i + 1), '--output-dir', path.join(work, `out-${i}`), '--device', device, job], { signal: anySignal(labSignal, AbortSignal.timeout(bound)) });
      // The dispatcher asks every artifact URL whether it is there, and retries one that does not answer.
      const problem = r.exitCode === undefined ? `lava-run --validate did not finish in ${bound / 1000} s (${r.signal ?? 'stopped'}): does every URL in the job answer from this machine?` : refusal(`${r.stdout}\n${r.stderr}`);
      out.push({ job: path.relative(o.dir, job), deviceType, ok: r.exitCode === 0, ...(r.exitCode === 0 ? {} : { problem }) });
    }
    return out;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
