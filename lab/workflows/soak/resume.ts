import path from 'node:path';
import { withLock } from '../../store/lock.ts';
import { asUsageError, UsageError } from '../../util/errors.ts';
import { exists } from '../../util/fs.ts';
import { createProgress, dropTornLine, readProgress, type ProgressRead, type SoakHeader, type SoakRound } from './progress.ts';

/** What the soak asked for, that a resumed progress file must have been started with. */
export interface SoakAsked {
  scenario: string;
  target: string;
}

function mustMatch(file: string, key: keyof SoakHeader, recorded: string, asked: string, how: string): void {
  if (recorded === asked) return;
  throw new UsageError(`--resume: ${file}: the header's ${key} is ${recorded}, not ${asked} (${how})`, { fix: `resume that soak as it was started, or soak into another --out` });
}

/**
 * Before anything builds: the progress file of this --out. Without --resume there must be none (a
 * soak is never appended to by mistake); with it, there must be one, read back as untrusted input
 * (a malformed line: a usage error naming the file, the line and the field) and started for the same
 * scenario and target. A torn last line is reported on `warn` (it is cut off by beginProgress).
 */
export async function loadPrevious(file: string, resume: boolean, asked: SoakAsked, warn: (line: string) => void): Promise<ProgressRead | undefined> {
  const present = await exists(file);
  if (!resume) {
    if (present) throw new UsageError(`${file} exists: a soak was already started in ${path.dirname(file)}`, { fix: 'pass --resume to continue it, or --out DIR for a new soak' });
    return undefined;
  }
  if (!present) throw new UsageError(`--resume: there is no soak to resume in ${path.dirname(file)} (no ${path.basename(file)})`, { fix: 'start the soak without --resume' });
  const read = await readProgress(file).catch((err: unknown) => asUsageError(err, () => `restore ${file} as the soak wrote it, or soak into another --out`));
  mustMatch(file, 'scenario', read.header.scenario, asked.scenario, 'the scenario asked for');
  mustMatch(file, 'target', read.header.target, asked.target, 'the --target asked for');
  if (read.torn) warn(read.torn.warning);
  return read;
}

/**
 * Once the bundle is built: a new soak's header written, or a resumed one's checked against the image
 * and reader of this run (rounds of another image are not one measurement) and its torn line cut off.
 * Returns the rounds already soaked.
 */
export async function beginProgress(file: string, previous: ProgressRead | undefined, header: SoakHeader): Promise<SoakRound[]> {
  if (!previous) {
    await createProgress(file, header);
    return [];
  }
  mustMatch(file, 'bundle', previous.header.bundle, header.bundle, `this build of ${header.target}: the image changed since the soak started`);
  mustMatch(file, 'reader', previous.header.reader, header.reader, 'the reader this scenario soaks now');
  if (previous.torn) await dropTornLine(file, previous.keptBytes);
  return previous.rounds;
}

/** One soak per folder at a time: a second one is refused at once (never two writers of one progress file). */
export function withSoakLock<T>(outDir: string, fn: () => Promise<T>): Promise<T> {
  return withLock(path.join(outDir, 'soak.lock'), fn, () => {
    throw new UsageError(`another reprolab soak is running in ${outDir}`, { fix: 'wait for it to end, or give this one another --out' });
  });
}
