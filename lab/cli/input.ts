import fs from 'node:fs';
import path from 'node:path';
import { LabError, UsageError } from '../util/errors.ts';
import { parseMultiplier, setTimeoutMultiplier } from '../util/timeouts.ts';


/*
 * Command-line values are checked here, before any build or boot: a bad one is a
 * UsageError (exit 2, one line) that names the option and what it must be.
 */

/** Runs a parser on a flag's value; any LabError it raises becomes a usage error naming the flag. */
export function flagged<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (!(err instanceof LabError)) throw err;
    const msg = err.message.startsWith(flag) ? err.message : `${flag} ${value}: ${err.message}`;
    throw new UsageError(msg, err.fix ? { fix: err.fix } : {});
  }
}

/** A directory the lab will create or write into: refused when it, or a folder above it, is a file. */
export function outDirOption(flag: string, value: string): string {
  const dir = path.resolve(value);
  for (let p = dir; ; p = path.dirname(p)) {
    // ENOTDIR reads as "not there": the file further up is found on a later step.
    const st = statOrNothing(p);
    if (st && !st.isDirectory()) throw new UsageError(`${flag} ${value}: ${p} is a file, not a directory`, { fix: `give ${flag} a directory path` });
    if (st || p === path.dirname(p)) return dir;
  }
}

/** "a, b,,c" → ["a", "b", "c"]: an option's comma-separated names. */
export function commaList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** A directory the command fills from scratch: absent or empty, so nothing of an earlier run is read as this one's. */
export function freshDirOption(flag: string, value: string): string {
  const dir = outDirOption(flag, value);
  if (statOrNothing(dir) && fs.readdirSync(dir).length > 0) throw new UsageError(`${flag} ${value}: not empty`, { fix: `give ${flag} a new directory, or remove ${dir} first` });
  return dir;
}

/** stat that says "not there" for a path through a file (ENOTDIR) as for a missing one. */
function statOrNothing(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** A file the command reads: it must exist and be a regular file. */
export function inputFileOption(flag: string, value: string): string {
  const file = path.resolve(value);
  const st = statOrNothing(file);
  if (!st?.isFile()) throw new UsageError(`${flag} ${value}: ${st ? 'not a regular file' : 'no such file'}`);
  return file;
}

/** A file the command writes: its folder must exist, and it must not be a directory. */
export function outFileOption(flag: string, value: string): string {
  const file = path.resolve(value);
  if (statOrNothing(file)?.isDirectory()) throw new UsageError(`${flag} ${value}: is a directory`, { fix: `give ${flag} a file name, e.g. ${path.join(value, 'repro.tar.gz')}` });
  if (!statOrNothing(path.dirname(file))?.isDirectory()) throw new UsageError(`${flag} ${value}: ${path.dirname(file)} is not an existing directory`);
  return file;
}

/** A directory that must already exist. */
export function inputDirOption(flag: string, value: string): string {
  const dir = path.resolve(value);
  if (!statOrNothing(dir)?.isDirectory()) throw new UsageError(`${flag} ${value}: no such directory`);
  return dir;
}

/**
 * The options several commands share, checked by name before any action runs
 * (commander's preAction hook): paths, counts and target names. Each command's
 * own values (bursts, ranges, shards…) are checked at the top of its action.
 */
export async function checkSharedOptions(opts: Record<string, unknown>, targetNames: () => Promise<string[]>): Promise<void> {
  let known: string[] | undefined; // loaded once, and only when a target option is given
  const str = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  for (const [key, flag] of [['cacheDir', '--cache-dir'], ['downloadsDir', '--downloads-dir'], ['out', '--out']] as const) {
    const v = str(key);
    if (v !== undefined) outDirOption(flag, v);
  }
  const compare = str('compare');
  if (compare !== undefined) inputFileOption('--compare', compare);
  if (Array.isArray(opts['patch'])) for (const p of opts['patch'] as string[]) inputFileOption('--patch', p);
  const buildroot = str('buildroot');
  if (buildroot !== undefined) inputDirOption('--buildroot', buildroot);
  const timeout = str('timeout');
  if (timeout !== undefined) whole('--timeout', timeout, 1, 7 * 24 * 3600);
  const multiplier = str('timeoutMultiplier');
  if (multiplier !== undefined) setTimeoutMultiplier(parseMultiplier(multiplier, '--timeout-multiplier'));
  const keepRuns = str('keepRuns');
  if (keepRuns !== undefined) whole('--keep-runs', keepRuns, 1, 1_000_000);
  const maxAge = str('maxAgeDays');
  if (maxAge !== undefined && !(Number(maxAge) > 0)) throw new UsageError(`--max-age-days ${maxAge}: expected a number of days > 0`);
  const name = str('name');
  if (name !== undefined && !/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new UsageError(`--name ${name}: expected lower-case letters, digits, '.', '_' and '-'`);
  for (const [key, flag] of [['target', '--target'], ['like', '--like'], ['targets', '--targets']] as const) {
    const v = str(key);
    if (v === undefined) continue;
    known ??= await targetNames();
    for (const t of v.split(',').map((s) => s.trim())) {
      if (!known.includes(t)) throw new UsageError(`${flag} ${t}: unknown target`, { fix: `use one of: ${known.join(', ')}` });
    }
  }
}

/** A whole-number flag within [min, max], or an error naming the flag. */
export function whole(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${text}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** commander's accumulator for repeatable options (--source, --patch, --mirror…). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * A duration flag such as 90s, 5m, 2h or 1h30m, in milliseconds, within [minS, maxS] seconds; anything
 * else is a usage error naming the flag and the form it takes.
 */
export function durationOption(flag: string, text: string, minS: number, maxS: number): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  const shown = (s: number) => (s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);
  const fix = `give ${flag} whole hours, minutes and seconds from ${shown(minS)} to ${shown(maxS)}, e.g. 90s, 5m, 2h or 1h30m`;
  if (!m || (m[1] ?? m[2] ?? m[3]) === undefined) throw new UsageError(`${flag} ${text}: not a duration`, { fix });
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  if (seconds < minS || seconds > maxS) throw new UsageError(`${flag} ${text}: out of range`, { fix });
  return seconds * 1000;
}
