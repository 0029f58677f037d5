/**
 * End-to-end: a Buildroot-SHAPED output laid out from the lab's own builds
 * (tests/fixtures/buildroot-layout.ts) is imported (probes linked by "the product's" toolchain against its staging
 * libc, the lab's pieces added to its rootfs), booted, and runs every scenario
 * with the verdicts of the built-in target it is like. Bad output directories
 * get errors that say what is missing.
 *
 * What this proves: the importer reads Buildroot's layout and the lab runs what it
 * made. What it does not: that a product built by a real Buildroot tree imports —
 * this fixture is the lab's own output laid out like one, so it agrees with the
 * lab by construction (see docs/buildroot.md for what was tried). A real product is imported in
 * product.test.ts; this fixture stays for what no real product built here covers: glibc and malta
 * layouts, validate-patch on an imported uClibc 0.9.33 product, and the errors for missing parts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMatrixResult } from '../../lab/model/matrix-result.ts';
import { builtinScenarioNames } from '../../lab/scenarios/registry.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { layOutBuildrootOutput } from '../fixtures/buildroot-layout.ts';
import { buildTarget, dirs, skipReasonFor } from './lab.ts';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-buildroot-'));
const lab = (args: string[]) => execa(path.join(repoRoot, 'reprolab'), args, { reject: false, all: true, env: { CI: 'true' } });
const imported: string[] = [];
afterAll(async () => {
  for (const name of imported) await fs.rm(path.join(dirs.imported, `${name}.json`), { force: true });
});

/** Built-in targets whose kernels take the rootfs as -initrd, as a Buildroot cpio build does. */
const LIKE = [
  { like: 'arm-versatile-3.10-uclibc', board: 'versatilepb' },
  { like: 'arm-versatile-6.1-glibc', board: 'versatilepb' },
  { like: 'mips-malta16k-6.1-glibc', board: 'malta' },
];

/** Imports one built-in target's bundle, laid out as a Buildroot output; each test asks for what it needs (no test depends on another). */
const importedProducts = new Map<string, Promise<string>>();
function importLike(like: string, board: string): Promise<string> {
  if (!importedProducts.has(like)) {
    importedProducts.set(like, (async () => {
      const bundle = await buildTarget(like);
      const out = path.join(root, `output-${like}`);
      await layOutBuildrootOutput(bundle.dir, out);
      const name = `e2e-br-${like}`;
      const r = await lab(['import-buildroot', out, '--board', board, '--like', like, '--name', name, '--json']);
      expect(r.exitCode, r.all).toBe(0);
      imported.push(name);
      const info = JSON.parse(r.stdout) as { target: { name: string; libc: { kind: string }; imported: { bundleDir: string } }; replaced: string[] };
      expect(info.target.libc.kind).toBe(bundle.manifest.libc.kind);
      const manifest = JSON.parse(await fs.readFile(path.join(info.target.imported.bundleDir, 'manifest.json'), 'utf8')) as { libc: { variants: { variant: string; probes: string[] }[] } };
      expect(manifest.libc.variants.map((v) => v.variant)).toEqual(['product']);
      expect(manifest.libc.variants[0]!.probes).toContain('ifaddrs-probe');
      return name;
    })());
  }
  return importedProducts.get(like)!;
}

const ARM_UCLIBC = LIKE[0]!;
const MALTA_310 = 'mips-malta16k-3.10-uclibc';

describe('reprolab import-buildroot', () => {
  it('Buildroot-shaped outputs of the 6.1 glibc targets (laid out from the lab\'s own bundles) run every scenario with the verdicts of the built-in target they are like', { timeout: 60 * 60_000 }, async () => {
    // arm 3.10 with uClibc is judged as a REAL product in product.test.ts; the fixture keeps what no real product here covers (glibc, malta).
    const inMatrix = LIKE.filter((x) => x.like !== ARM_UCLIBC.like);
    const here = inMatrix.filter((x) => !skipReasonFor(x.like));
    for (const x of inMatrix.filter((y) => skipReasonFor(y.like))) console.log(`${x.like}: ${skipReasonFor(x.like)}`);
    expect(here.length, 'the 6.1 targets build from Debian sources on every machine').toBeGreaterThan(0);
    const names = [];
    for (const { like, board } of here) names.push(await importLike(like, board));
    const m = await lab(['matrix', '--targets', names.join(','), '-j', '2', '--no-sweeps', '--no-compare', '--iterations', '500', '--budget-ms', '30000', '--out', path.join(root, 'matrix')]);
    console.log(m.stdout);
    expect(m.exitCode, m.all.slice(-3000)).toBe(0);
    const result = await loadMatrixResult(path.join(root, 'matrix', 'matrix.json'));
    expect(result.cells).toHaveLength(names.length * builtinScenarioNames().length);
    for (const c of result.cells) {
      expect(c.status).toBe('ran');
      expect(c.verdict, `${c.target} ${c.scenario}: ${c.summary}`).toBe(c.expected);
      expect(c.uname).toMatch(/^Linux /);
    }
  });

  const noArmUclibc = skipReasonFor(ARM_UCLIBC.like);
  it.skipIf(!!noArmUclibc)(noArmUclibc ?? 'validate-patch on an imported uClibc product: its libc vs uClibc 0.9.33.2 + the patch, built on its kernel headers', { timeout: 30 * 60_000 }, async () => {
    const name = await importLike(ARM_UCLIBC.like, ARM_UCLIBC.board);
    const fix = path.join(repoRoot, 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs-peek-size-netlink-chunks.patch');
    const v = await lab(['validate-patch', fix, '--libc', 'uclibc-0.9.33.2', '--targets', name, '--json', '--out', path.join(root, 'validate')]);
    const findings = (JSON.parse(v.stdout) as { findings: { finding: string; results: { variants: { variant: string; outcome: string }[] }[] }[] }).findings;
    // 4 KiB pages: the product's uClibc passes B1 already, so the patch has nothing to fix there (exit 1: it fixed nothing).
    expect(findings.map((f) => f.finding), v.all).toEqual(['NOTHING_TO_FIX']);
    expect(findings[0]!.results[0]!.variants.map((x) => `${x.variant}=${x.outcome}`)).toEqual(['product=PASS', 'candidate=PASS']);
  });

  it('an incomplete or foreign output directory is refused with what is missing and where Buildroot puts it', { timeout: 10 * 60_000 }, async () => {
    const empty = path.join(root, 'empty');
    await fs.mkdir(empty, { recursive: true });
    const noConfig = await lab(['import-buildroot', empty, '--board', 'versatilepb']);
    expect(noConfig.exitCode).toBe(1);
    expect(noConfig.stderr).toMatch(/a Buildroot \.config not found: .*empty\/\.config/);

    const anyArm = LIKE.find((x) => x.board === 'versatilepb' && !skipReasonFor(x.like))!;
    const out = path.join(root, 'output-for-errors');
    await layOutBuildrootOutput((await buildTarget(anyArm.like)).dir, out);
    const board = await lab(['import-buildroot', out, '--board', 'pc']);
    expect(board.exitCode).toBe(2);
    expect(board.stderr.trim()).toBe('reprolab: --board pc: not a board the lab boots (use one of: versatilepb, malta)');
    const arch = await lab(['import-buildroot', out, '--board', 'malta']);
    expect(arch.stderr).toMatch(/--board malta runs mipsel guests, but .*\.config is a arm build/);
  });

  const noMalta310 = skipReasonFor(MALTA_310);
  it.skipIf(!!noMalta310)(noMalta310 ?? 'a malta 3.10 output (rootfs linked into the kernel) is refused: there is no rootfs to add the probes to', { timeout: 20 * 60_000 }, async () => {
    const malta = path.join(root, 'output-malta-3.10');
    await layOutBuildrootOutput((await buildTarget(MALTA_310)).dir, malta);
    const r = await lab(['import-buildroot', malta, '--board', 'malta']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/CONFIG_INITRAMFS_SOURCE=.*the rootfs is linked into the kernel/);
  });
});
