/**
 * A cell as `reprolab run` leaves it, without a build or a boot: a fake store holding a bundle
 * (manifest.json, a "kernel", a "rootfs") and a user's scenario's probe builds, and the cell's
 * result.json pointing at them. Tests tamper with one field and pack it through the CLI.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../../lab/util/paths.ts';
import { scenarioByName, useScenarioDirs } from '../../../lab/scenarios/registry.ts';
import { sampleManifest } from '../../helpers.ts';
import { RECIPE_VERSION } from '../../../lab/bundle/bundle.ts';

export const SCENARIO_DIR = path.join(repoRoot, 'tests', 'e2e', 'scenarios');

export interface Cell {
  root: string;
  cache: string;
  store: string;
  bundleDir: string;
  cellDir: string;
  result: Record<string, unknown> & { depends: Record<string, unknown> };
  manifest: Record<string, unknown> & { kernel: Record<string, unknown> };
}

const made: string[] = [];

/** Removes every fixture this file made (afterAll). */
export async function removeCells(): Promise<void> {
  for (const root of made.splice(0)) await fs.rm(root, { recursive: true, force: true });
}

export async function makeCell(): Promise<Cell> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-pack-test-')));
  made.push(root);
  const cache = path.join(root, 'cache');
  const store = path.join(cache, 'store');
  const bundleDir = path.join(store, 'bundle', 'b'.repeat(64));
  await fs.mkdir(path.join(bundleDir, 'images'), { recursive: true });
  await fs.writeFile(path.join(bundleDir, 'images', 'zImage'), 'a kernel\n');
  await fs.writeFile(path.join(bundleDir, 'images', 'rootfs.cpio'), 'a rootfs\n');
  const m = sampleManifest();
  const v = m.libc.variants[0]!;
  const manifest = { ...m, recipeVersion: RECIPE_VERSION, libc: { ...m.libc, variants: [v, { ...v, variant: 'patched' }] } } as unknown as Cell['manifest'];
  const probes = [];
  for (const variant of ['unpatched', 'patched']) {
    const dir = path.join(store, 'probes', `${variant[0]}`.repeat(64));
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'if-nameindex'), `a probe for ${variant}\n`);
    await fs.writeFile(path.join(dir, '.inputs.json'), JSON.stringify({ step: 'probes', inputs: { sources: [], libc: variant } }));
    probes.push({ variant, linkage: 'static', dir });
  }
  useScenarioDirs([SCENARIO_DIR]);
  const def = scenarioByName('if-nameindex').definition!;
  const cellDir = path.join(root, 'run', 'fake-target', 'if-nameindex');
  const variant = (role: string, outcome: string) => ({ variant: role, role, describe: `${role} libc`, outcome, symptom: outcome === 'FAIL' ? 'errno=EBUSY' : 'count 7/7', runs: [] });
  const result = {
    scenario: 'if-nameindex',
    target: 'fake-target',
    verdict: 'CONFIRMED',
    rate: { reproduced: 1, repeats: 1, errors: 0 },
    params: { interfaces: 40 },
    variants: [variant('unpatched', 'FAIL'), variant('patched', 'PASS')],
    depends: { bundleKey: manifest['key'], bundleDir, scenarioDefinition: { file: def.file, sha256: def.sha256 }, scenarioProbes: probes },
  };
  const cell: Cell = { root, cache, store, bundleDir, cellDir, result, manifest };
  await writeCell(cell);
  return cell;
}

/** Writes result.json and the bundle's manifest.json as they are in `cell` (tampered or not). */
export async function writeCell(c: Cell): Promise<void> {
  await fs.mkdir(c.cellDir, { recursive: true });
  await fs.writeFile(path.join(c.cellDir, 'result.json'), JSON.stringify(c.result, null, 2));
  await fs.writeFile(path.join(c.bundleDir, 'manifest.json'), JSON.stringify(c.manifest, null, 2));
}

/** `reprolab repro pack` as a user runs it, with the fixture's cache and scenario folder. */
export function packCli(c: Cell, out: string) {
  const env: Record<string, string | undefined> = { ...process.env, CI: 'true', REPROLAB_CACHE: undefined, REPROLAB_SCENARIOS: undefined };
  return execa(path.join(repoRoot, 'reprolab'), ['--cache-dir', c.cache, '--scenario-dir', SCENARIO_DIR, 'repro', 'pack', c.cellDir, '-o', out], { reject: false, cwd: c.root, env, extendEnv: false });
}

/** Every path under `dir`, relative, sorted (what a run left behind). */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map(String).sort();
}
