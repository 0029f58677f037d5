/**
 * Bisect benchmark: the whole B1 walk on a real uClibc-ng clone, v1.0.0 (EBUSY
 * on 16 KiB pages) → v1.0.57, release tags first. Prints the step log, the
 * number of builds, the wall time and the time per step (build vs run).
 * A cold cache builds every step; a second run shows the store's effect.
 * Usage: npm run bench:bisect -- [--repo DIR] [--old REV] [--new REV] [--repeat N] [--target T]
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import { loadTargets, selectTargets } from '../lab/catalog/targets.ts';
import { printBisect } from '../lab/cli/bisect-command.ts';
import { scenarioByName } from '../lab/scenarios/registry.ts';
import { openRepo, resolveRev } from '../lab/sources/git-repo.ts';
import { installExitHandlers } from '../lab/util/lifetime.ts';
import { labDirs } from '../lab/util/paths.ts';
import { runBisect } from '../lab/workflows/bisect/bisect.ts';

installExitHandlers();
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const dirs = labDirs();
const repo = await openRepo(opt('repo', process.env.REPROLAB_UCLIBC_NG_REPO ?? path.join(dirs.overrides, 'uclibc-ng')), '--repo');
const [target] = selectTargets(await loadTargets(), [opt('target', 'mips-malta16k-3.10-uclibc')]);
const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-bisect-'));
const t0 = Date.now();
const r = await runBisect({
  scenario: scenarioByName('getifaddrs'),
  target: target!,
  repo,
  ends: { givenAs: 'old/new', old: await resolveRev(repo, opt('old', 'v1.0.0'), '--old'), new: await resolveRev(repo, opt('new', 'v1.0.57'), '--new') },
  repeat: (() => {
    const n = Number(opt('repeat', '3'));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--repeat ${opt('repeat', '3')}: expected a whole number >= 1`);
    return n;
  })(),
  releases: true,
  validate: false,
  params: {},
  dirs,
  sources: { dirs },
  outDir,
  progress: (l) => console.error(`bisect: ${l}`),
});
printBisect(r, (l) => console.log(l));
const built = r.steps.filter((s) => s.builtNow && s.built);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length / 1000 : 0);
console.log(`\nfigures: wall ${((Date.now() - t0) / 1000).toFixed(0)} s; ${r.steps.length} steps; ${built.length} built now (mean build ${mean(built.map((s) => s.buildMs)).toFixed(0)} s), ${r.builds.fromStore} from the store, ${r.builds.failed} did not build; mean run per step ${mean(r.steps.map((s) => s.runMs)).toFixed(0)} s; ${r.boots} boot(s)`);
