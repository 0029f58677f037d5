import type { Command } from 'commander';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import { targetAvailability, type TargetAvailability } from '../sources/availability.ts';
import type { Dirs } from './guest-commands.ts';

/** A target's state in one word: ready, missing (it will be skipped) or WRONG (it will fail). */
export function sourceState(r: TargetAvailability): string {
  return r.sources.some((s) => s.state === 'wrong') ? 'WRONG' : r.available ? 'ready' : 'missing';
}

/** One line per source: where it was found, or what is missing or wrong and the fix. */
export function sourceLines(r: TargetAvailability): string[] {
  return r.sources.map((s) => `${s.package}: ${s.state === 'found' ? `present: ${s.origin} ${s.path}` : `${s.state === 'missing' ? 'MISSING' : 'WRONG'} — ${s.fix}`}`);
}

function print(rows: TargetAvailability[]): void {
  for (const r of rows) {
    console.log(`${sourceState(r).padEnd(8)} ${r.target}`);
    for (const line of sourceLines(r)) console.log(`         ${line}`);
  }
}

/** Exit 1 when any source is missing or wrong, so a CI cache step notices. */
function settle(rows: TargetAvailability[]): void {
  if (rows.some((r) => !r.available)) process.exitCode = 1;
}

export function registerSourcesCommand(program: Command, getDirs: Dirs): void {
  const cmd = program
    .command('sources')
    .description('what each target needs, what is present (and from where) and what is missing or wrong; `sources fetch` downloads the missing ones ahead of time')
    .argument('[targets...]', 'target names (default: every target)')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], opts: { json?: boolean }) => {
      const { dirs, sources } = getDirs();
      const targets = names.length ? selectTargets(await loadAllTargets(dirs.imported), names) : await loadAllTargets(dirs.imported);
      const rows = await Promise.all(targets.map((t) => targetAvailability(t, { ...sources, download: false })));
      if (opts.json) console.log(JSON.stringify(rows, null, 2));
      else print(rows);
      settle(rows);
    });
  cmd
    .command('fetch')
    .description('download every missing pinned archive of these targets into the download cache (mirrors first; for CI caches)')
    .argument('[targets...]', 'target names (default: every target)')
    .action(async (names: string[]) => {
      const { dirs, sources } = getDirs();
      const targets = names.length ? selectTargets(await loadAllTargets(dirs.imported), names) : await loadAllTargets(dirs.imported);
      // One at a time: targets share archives, and two downloads of one file would race.
      const rows: TargetAvailability[] = [];
      for (const t of targets) rows.push(await targetAvailability(t, { ...sources, fetch: true }));
      print(rows);
      settle(rows);
    });
}
