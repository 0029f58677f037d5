import type { ProbeResult } from '../model/scenario-result.ts';
import type { Arch } from '../model/target.ts';
import { LabError } from '../util/errors.ts';
import { errnoNames } from '../catalog/errno-table.ts';

const MARK = 'REPROLAB-RESULT ';

/** A bare errno number by name, for the guest's arch (images/probes/errno-table.h); the lab's probes print names themselves. */
export function errnoName(arch: Arch, errno: number): string {
  return errnoNames(arch).get(errno) ?? `errno ${errno}`;
}

/** The one REPROLAB-RESULT line of a probe's output, with the error named for the guest's arch. */
export function parseResult(stdout: string, arch: Arch, what: string): ProbeResult {
  const lines = stdout.split('\n').filter((l) => l.startsWith(MARK));
  if (lines.length !== 1) {
    throw new LabError(`${what}: expected one ${MARK.trim()} line, got ${lines.length}`, { fix: `probe output: ${stdout.slice(0, 400) || '(empty)'}` });
  }
  let result: ProbeResult;
  try {
    result = JSON.parse(lines[0]!.slice(MARK.length)) as ProbeResult;
  } catch {
    throw new LabError(`${what}: broken result line: ${lines[0]!.slice(0, 300)}`);
  }
  if (typeof result.ok !== 'boolean' || typeof result.probe !== 'string') throw new LabError(`${what}: result line lacks "probe" or "ok": ${lines[0]}`);
  if (typeof result.errno === 'number' && (!result.error || result.error === 'EOTHER')) result.error = errnoName(arch, result.errno);
  return result;
}
