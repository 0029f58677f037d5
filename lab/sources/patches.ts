import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import { exists } from '../util/fs.ts';
import { ending, runCommand } from '../util/process.ts';

export interface Patch {
  /** Where the patch came from, as shown to the user. */
  file: string;
  sha256: string;
}

/** The *.patch files of a series directory in name order (absent directory: no patches). */
export async function loadSeries(dir: string): Promise<Patch[]> {
  if (!(await exists(dir))) return [];
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.patch')).sort();
  return Promise.all(names.map((n) => describePatch(path.join(dir, n))));
}

export async function describePatch(file: string): Promise<Patch> {
  if (!(await exists(file))) {
    throw new LabError(`patch not found: ${file}`, { fix: 'check the path given to --patch' });
  }
  return { file, sha256: await sha256File(file) };
}

export interface HunkFailure {
  file: string;
  hunk: number;
  line?: number;
}

/** Reads GNU patch's report into the files and hunks that failed. */
export function parsePatchFailures(output: string): HunkFailure[] {
  const failures: HunkFailure[] = [];
  let current = '?';
  for (const line of output.split('\n')) {
    const file = /^(?:checking|patching) file '?([^']+?)'?$/.exec(line.trim());
    if (file) current = file[1]!;
    const hunk = /^Hunk #(\d+) FAILED(?: at (\d+))?/.exec(line.trim());
    if (hunk) failures.push({ file: current, hunk: Number(hunk[1]), ...(hunk[2] ? { line: Number(hunk[2]) } : {}) });
    const missing = /^can't find file to patch at input line (\d+)/.exec(line.trim());
    if (missing) failures.push({ file: '(file named in the patch does not exist)', hunk: 0 });
  }
  return failures;
}

/**
 * Applies patches in order. Each is dry-run first, so a patch that does not
 * apply leaves the tree untouched, and the error names the patch, file and hunk.
 */
export async function applySeries(tree: string, patches: Patch[], what: string): Promise<void> {
  for (const p of patches) {
    const args = ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-r', '-', '-i', p.file, '-d', tree];
    const dry = await runCommand('patch', ['--dry-run', ...args]);
    // patch exits 1 when hunks do not apply; 2 ("trouble"), not found or killed is the lab's failure.
    if (dry.exitCode !== 0 && dry.exitCode !== 1) throw new LabError(`${what}: patch --dry-run of ${path.basename(p.file)} failed (${ending(dry)}): ${dry.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    if (dry.exitCode !== 0) {
      const failures = parsePatchFailures(`${dry.stdout}\n${dry.stderr}`);
      const where = failures.length
        ? failures.map((f) => `${f.file} hunk #${f.hunk}${f.line ? ` (at line ${f.line})` : ''}`).join(', ')
        : dry.stderr.trim() || dry.stdout.trim().split('\n').slice(-2).join(' ');
      throw new LabError(`${what} patch ${path.basename(p.file)} does not apply: ${where}`, {
        kind: 'patch',
        fix: `rebase ${p.file} onto the ${what} source, or drop it from the series`,
      });
    }
    const real = await runCommand('patch', args);
    if (real.exitCode !== 0) throw new LabError(`${what} patch ${path.basename(p.file)} failed after a clean dry run: ${real.stdout}`);
  }
}
