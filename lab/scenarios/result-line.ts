import type { ProbeResult } from '../model/scenario-result.ts';
import type { Arch } from '../model/target.ts';
import { LabError } from '../util/errors.ts';

const MARK = 'REPROLAB-RESULT ';

/** errno values that differ by architecture; the probes print names, this decodes bare numbers. */
const MIPS_ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 24: 'EMFILE', 97: 'EMSGSIZE', 120: 'EPROTONOSUPPORT', 122: 'EOPNOTSUPP', 124: 'EAFNOSUPPORT', 132: 'ENOBUFS', 145: 'ETIMEDOUT' };

const ERRNO: Record<Arch, Record<number, string>> = {
  arm: { 1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 24: 'EMFILE', 90: 'EMSGSIZE', 93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 105: 'ENOBUFS', 110: 'ETIMEDOUT' },
  // errno numbers are the same on MIPS of either byte order.
  mipsel: MIPS_ERRNO,
  mips: MIPS_ERRNO,
};

export function errnoName(arch: Arch, errno: number): string {
  return ERRNO[arch][errno] ?? `errno ${errno}`;
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
