/**
 * End-to-end: a REAL Buildroot product — Buildroot 2022.11.3 built offline by
 * tests/products/buildroot-versatile/build.sh (internal uClibc-ng 1.0.42 toolchain, gcc 12.2.0,
 * Linux 3.10.108 with the lab's 3.10 patches and fragments, busybox 1.35.0, cpio rootfs) — is
 * imported and judged by the matrix like the built-in target it resembles.
 *
 * Unlike tests/e2e/buildroot.test.ts (a fixture laid out from the lab's own bundles), nothing here
 * was made by the lab: the kernel, the toolchain, the staging libc and the rootfs are Buildroot's.
 * Skipped, with the reason, when that output is not in the cache (docs/products.md builds it).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMatrixResult } from '../../lab/model/matrix-result.ts';
import { builtinScenarioNames } from '../../lab/scenarios/registry.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { exists } from '../../lab/util/fs.ts';
import { openRepo, resolveRev } from '../../lab/sources/git-repo.ts';
import { dirs } from './lab.ts';

const output = path.join(dirs.cache, 'products', 'buildroot-versatile', 'output');
const NEEDED = ['.config', 'images/zImage', 'images/rootfs.cpio', 'host/bin/arm-buildroot-linux-uclibcgnueabi-gcc', 'staging/usr/lib/libc.a'];

async function whyNot(): Promise<string | undefined> {
  for (const f of NEEDED) {
    if (!(await exists(path.join(output, f)))) return `skipped: the Buildroot product is not built (${path.join(output, f)} is missing; docs/products.md builds it)`;
  }
  return undefined;
}
const skip = await whyNot();

// validate-patch --libc uclibc-ng builds the product's release, v1.0.42, from the uClibc-ng clone.
const ngRepoDir = process.env.REPROLAB_UCLIBC_NG_REPO ?? path.join(dirs.overrides, 'uclibc-ng');
const ngRepo = await openRepo(ngRepoDir, 'the uClibc-ng repository').catch(() => undefined);
const ngTag = ngRepo ? await resolveRev(ngRepo, 'v1.0.42', 'the uClibc-ng repository').catch(() => undefined) : undefined;
const skipNg = skip ?? (ngTag ? undefined : `skipped: uclibc-ng git repository with tag v1.0.42 not available (clone https://github.com/wbx-github/uclibc-ng to ${ngRepoDir}, or set REPROLAB_UCLIBC_NG_REPO)`);

/** Written here: a patch to uClibc-ng 1.0.42 that breaks getifaddrs on purpose (B1's symptom), for validate-patch to catch. */
const BREAKS_GETIFADDRS = [
  '--- a/libc/inet/ifaddrs.c',
  '+++ b/libc/inet/ifaddrs.c',
  '@@ -875,6 +875,10 @@ getifaddrs (struct ifaddrs **ifap)',
  ' {',
  '   int res;',
  ' ',
  '+  /* reprolab e2e: a patch that breaks getifaddrs on purpose (B1\'s symptom) */',
  '+  __set_errno (EBUSY);',
  '+  return -1;',
  '+',
  '   do',
  '     res = getifaddrs_internal (ifap);',
  '   while (res == -EAGAIN);',
  '',
].join('\n');

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-product-'));
const lab = (args: string[]) => execa(path.join(repoRoot, 'reprolab'), args, { reject: false, all: true, env: { CI: 'true' } });
const NAME = 'e2e-product-versatile';
afterAll(async () => {
  await fs.rm(path.join(dirs.imported, `${NAME}.json`), { force: true });
});

/** The verdicts the product gives (uClibc-ng 1.0.42 on Linux 3.10.108, 4 KiB pages): those of arm-versatile-3.10-uclibc, its --like. */
const VERDICTS: Record<string, string> = {
  getifaddrs: 'NOT_REPRODUCED',
  'getifaddrs-mechanism': 'NOT_REPRODUCED',
  uevent: 'CONFIRMED',
  'dump-read': 'CONFIRMED',
  'dump-buffer': 'NOT_REPRODUCED',
  'dump-buffer-peek': 'NOT_REPRODUCED',
  'dump-hang': 'NOT_REPRODUCED',
  'dump-hang-enobufs': 'CONFIRMED',
};

describe('a real Buildroot product', () => {
  it.skipIf(!!skip)(skip ?? 'imports (its toolchain, uClibc-ng and kernel read from the output) and gives the verdicts of the target it is like', { timeout: 30 * 60_000 }, async () => {
    const imp = await lab(['import-buildroot', output, '--board', 'versatilepb', '--like', 'arm-versatile-3.10-uclibc', '--name', NAME, '--json']);
    expect(imp.exitCode, imp.all).toBe(0);
    const info = JSON.parse(imp.stdout) as { target: { libc: { kind: string } }; output: { tuple: string; libc: { kind: string; version: string }; kernel: { version: string; pageSizeKiB: number }; rootfs: { format: string } } };
    expect(info.output.tuple).toBe('arm-buildroot-linux-uclibcgnueabi');
    expect(info.output.libc).toEqual({ kind: 'uclibc-ng', version: '1.0.42' });
    expect(info.output.kernel).toMatchObject({ version: '3.10.108', pageSizeKiB: 4 });
    expect(info.output.rootfs.format).toBe('cpio');

    const out = path.join(root, 'matrix');
    const m = await lab(['matrix', '--targets', NAME, '--no-sweeps', '--no-compare', '--iterations', '2000', '--budget-ms', '30000', '--out', out]);
    console.log(m.stdout);
    expect(m.exitCode, m.all.slice(-3000)).toBe(0);
    const result = await loadMatrixResult(path.join(out, 'matrix.json'));
    expect(result.cells).toHaveLength(builtinScenarioNames().length);
    expect(Object.fromEntries(result.cells.map((c) => [c.scenario, c.verdict]))).toEqual(VERDICTS);
    for (const c of result.cells) expect(c.uname).toMatch(/^Linux .* 3\.10\.108/);
  });

  it.skipIf(!!skipNg)(skipNg ?? "validate-patch --libc uclibc-ng builds the product's own release (v1.0.42) with a patch and catches the regression it brings", { timeout: 30 * 60_000 }, async () => {
    const imp = await lab(['import-buildroot', output, '--board', 'versatilepb', '--like', 'arm-versatile-3.10-uclibc', '--name', NAME]);
    expect(imp.exitCode, imp.all).toBe(0);
    expect(imp.stdout).toContain(`a libc patch: reprolab validate-patch FILE.patch --libc uclibc-ng --targets ${NAME}`);
    const patch = path.join(root, 'breaks-getifaddrs.patch');
    await fs.writeFile(patch, BREAKS_GETIFADDRS);
    const v = await lab(['validate-patch', patch, '--libc', 'uclibc-ng', '--targets', NAME, '--json', '--out', path.join(root, 'validate')]);
    console.log(v.stdout);
    // Exit 1: the patch fixes nothing and breaks something.
    expect(v.exitCode, v.all.slice(-3000)).toBe(1);
    const { findings } = JSON.parse(v.stdout) as { findings: { target: string; finding: string; results: { scenario: string; verdict: string; variants: { variant: string; outcome: string; symptom: string; libc?: string }[] }[] }[] };
    expect(findings.map((f) => [f.target, f.finding])).toEqual([[NAME, 'REGRESSION']]);
    const g = findings[0]!.results.find((r) => r.scenario === 'getifaddrs')!;
    expect(g.verdict).toBe('PATCH_REGRESSION');
    // The product's own uClibc-ng returned every address; the candidate, built from the tag with the patch, failed as the patch says.
    expect(g.variants.map((x) => [x.variant, x.outcome])).toEqual([['product', 'PASS'], ['candidate', 'FAIL']]);
    expect(g.variants[1]!.symptom).toMatch(/EBUSY/);
    const manifest = JSON.parse(await fs.readFile(path.join(root, 'validate', NAME, 'getifaddrs', 'result.json'), 'utf8')) as { depends: { libc: { variant: string; libc: string; patches: { file: string; sha256: string }[] }[] } };
    const candidate = manifest.depends.libc.find((l) => l.variant === 'candidate')!;
    // build.sh builds uClibc-ng from an override tree (uclibc-custom): the candidate says its source is the tag.
    expect(candidate.libc).toBe(`uClibc-ng 1.0.42 (v1.0.42 = ${ngTag}, configured as ${path.join(output, 'build', 'uclibc-custom', '.config')}; the product built an override tree, the candidate is the release tag)`);
    // Recorded by content (a bundle built before from the same patch keeps the path it was first given).
    expect(candidate.patches.map((p) => p.sha256)).toContain(createHash('sha256').update(BREAKS_GETIFADDRS).digest('hex'));
  });
});
