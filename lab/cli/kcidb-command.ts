import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { readBundleManifest, type BundleManifest } from '../model/manifest.ts';
import { loadMatrixResult, type MatrixResult } from '../model/matrix-result.ts';
import { DEFAULT_ORIGIN, kcidbReport, ORIGIN_PATTERN, type KcidbOptions } from '../report/kcidb.ts';
import { LabError, UsageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { isInside, repoRoot } from '../util/paths.ts';
import { terminalText } from '../util/safe-text.ts';
import type { Dirs } from './guest-commands.ts';
import { outFileOption } from './input.ts';

/**
 * What this machine still has of the runs: each target's bundle manifest (its sources, patch series and
 * toolchain), read only from this lab's store, and the build logs in each run directory. Both only add
 * detail to the export: its ids and statuses come from matrix.json alone.
 */
async function knownFiles(results: MatrixResult[], store: string): Promise<Pick<KcidbOptions, 'manifests' | 'buildLogs'>> {
  const manifests = new Map<string, BundleManifest>();
  const buildLogs = new Map<string, string[]>();
  for (const r of results) {
    for (const t of r.targets) {
      const logDir = path.join(r.outDir, t.target, 'build-logs');
      const names = await fs.readdir(logDir).catch(() => [] as string[]);
      if (names.length) buildLogs.set(logDir, names.filter((n) => n.endsWith('.log')));
      if (!t.bundleDir || !t.bundleKey || manifests.has(t.bundleKey) || !isInside(store, path.resolve(t.bundleDir))) continue;
      const m = await readBundleManifest(t.bundleDir).catch((err: unknown) => {
        // A bundle removed from the store since the run is no news; a broken manifest is said once.
        if (err instanceof LabError && !/ENOENT|cannot read/.test(err.message)) console.error(terminalText(`kcidb: leaving out ${t.target}'s sources and patches: ${err.message}`));
        return undefined;
      });
      if (m && m.key === t.bundleKey) manifests.set(m.key, m);
    }
  }
  return { manifests, buildLogs };
}

/** `reprolab report kcidb`: KCIDB v5.3 JSON of one or more runs, to a file (atomically) or to stdout. */
export function registerKcidbCommand(report: Command, getDirs: Dirs): void {
  report
    .command('kcidb')
    .description("KCIDB v5.3 JSON (KernelCI's common format) of one or more runs: checkouts, builds, tests; submit it with kcidb-submit (docs/report.md)")
    .argument('<matrix.json...>', 'the matrix.json of each run (or shard) to export')
    .option('-o, --output <file>', 'write the JSON to this file (default: stdout)')
    .option('--origin <name>', "KCIDB origin: the submitting CI system's name (lower-case letters, digits, '_'), also the prefix of every id", DEFAULT_ORIGIN)
    .action(async (files: string[], opts: { output?: string; origin: string }) => {
      const out = opts.output !== undefined ? outFileOption('--output', opts.output) : undefined;
      if (!ORIGIN_PATTERN.test(opts.origin)) throw new UsageError(`--origin ${opts.origin}: KCIDB wants lower-case letters, digits and '_'`, { fix: `e.g. --origin ${DEFAULT_ORIGIN}` });
      const results = await Promise.all(files.map((f) => loadMatrixResult(path.resolve(f))));
      const known = await knownFiles(results, getDirs().dirs.store);
      // Patch files are named relative to the lab's checkout: patchset_files point at this one's copies.
      const doc = kcidbReport(results, { origin: opts.origin, ...known, patchRoot: repoRoot });
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      if (!out) {
        process.stdout.write(text);
        return;
      }
      await writeFileAtomic(out, text);
      console.error(`kcidb v${doc.version.major}.${doc.version.minor}: ${doc.checkouts.length} checkouts, ${doc.builds.length} builds, ${doc.tests.length} tests from ${results.length} run(s) → ${out}`);
    });
}
