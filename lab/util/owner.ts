import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Who holds something across processes (a store lock, a run in progress): the
 * pid, and the process's start time and the boot it started in. A pid alone is
 * reused after its owner dies; pid + start time + boot id is not.
 * Written as two files in the owner's folder: `pid` (what older labs read) and `start`.
 */
export interface Owner {
  pid: number;
  /** "<boot id> <start time in clock ticks>"; absent in a record an older lab wrote. */
  start?: string;
}

let bootIdCache: string | undefined;
function bootId(): string {
  bootIdCache ??= fsSync.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootIdCache;
}

/** A running process's identity (undefined when it is gone or a zombie). */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": field 3 (state) is index 0, field 22 (starttime) index 19; comm may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X' || !fields[19]) return undefined;
    return `${bootId()} ${fields[19]}`;
  } catch {
    return undefined;
  }
}

/** Writes this process's owner record into `dir` (a folder nobody else sees yet). */
export async function writeOwner(dir: string): Promise<void> {
  const start = processStart(process.pid);
  await fs.writeFile(path.join(dir, 'pid'), String(process.pid));
  if (start) await fs.writeFile(path.join(dir, 'start'), start);
}

/** The record in `dir`; undefined when there is none or it is half-written (an older lab writes the pid after creating the folder). */
export async function readOwner(dir: string): Promise<Owner | undefined> {
  const pidText = await fs.readFile(path.join(dir, 'pid'), 'utf8').catch(() => '');
  if (!/^\d+$/.test(pidText.trim()) || Number(pidText) <= 0) return undefined;
  const start = (await fs.readFile(path.join(dir, 'start'), 'utf8').catch(() => '')).trim();
  return { pid: Number(pidText), ...(start ? { start } : {}) };
}

/** Is the process that wrote the record still the one running under that pid? */
export function ownerAlive(owner: Owner): boolean {
  if (owner.start !== undefined) return processStart(owner.pid) === owner.start;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
