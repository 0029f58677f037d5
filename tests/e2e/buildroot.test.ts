/**
 * End-to-end: a Buildroot-shaped output laid out from the lab's own builds is
 * imported (probes linked by "the product's" toolchain against its staging
 * libc, the lab's pieces added to its rootfs), booted, and runs every scenario
 * with the verdicts of the built-in target it is like. Bad output directories
 * get errors that say what is missing.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMatrixResult } from '../../lab/matrix/result.ts';
import { SCENARIO_NAMES } from '../../lab/scenarios/types.ts';
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

describe('reprolab import-buildroot', () => {
  it('imported Buildroot outputs run every scenario with the verdicts of the built-in target they are like', { timeout: 60 * 60_000 }, async () => {
    const here = LIKE.filter((x) => !skipReasonFor(x.like));
    for (const x of LIKE.filter((y) => skipReasonFor(y.like))) console.log(`${x.like}: ${skipReasonFor(x.like)}`);
    for (const { like, board } of here) {
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
    }
    const names = here.map((x) => `e2e-br-${x.like}`);
    const m = await lab(['matrix', '--targets', names.join(','), '-j', '2', '--no-sweeps', '--no-compare', '--iterations', '500', '--budget-ms', '30000', '--out', path.join(root, 'matrix')]);
    console.log(m.stdout);
    expect(m.exitCode, m.all.slice(-3000)).toBe(0);
    const result = await loadMatrixResult(path.join(root, 'matrix', 'matrix.json'));
    expect(result.cells).toHaveLength(names.length * SCENARIO_NAMES.length);
    for (const c of result.cells) {
      expect(c.status).toBe('ran');
      expect(c.verdict, `${c.target} ${c.scenario}: ${c.summary}`).toBe(c.expected);
      expect(c.uname).toMatch(/^Linux /);
    }

    // validate-patch on an imported uClibc product: the product's libc vs uClibc 0.9.33.2 + the patch, built on its kernel headers.
    const uclibcProduct = here.find((x) => x.like.endsWith('uclibc'));
    if (uclibcProduct) {
      const fix = path.join(repoRoot, 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs-peek-size-netlink-chunks.patch');
      const v = await lab(['validate-patch', fix, '--libc', 'uclibc-0.9.33.2', '--targets', `e2e-br-${uclibcProduct.like}`, '--json', '--out', path.join(root, 'validate')]);
      const findings = (JSON.parse(v.stdout) as { findings: { finding: string; results: { variants: { variant: string; outcome: string }[] }[] }[] }).findings;
      // 4 KiB pages: the product's uClibc passes B1 already, so the patch has nothing to fix there (exit 1: it fixed nothing).
      expect(findings.map((f) => f.finding), v.all).toEqual(['NOTHING_TO_FIX']);
      expect(findings[0]!.results[0]!.variants.map((x) => `${x.variant}=${x.outcome}`)).toEqual(['product=PASS', 'candidate=PASS']);
    }
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
    expect(board.stderr).toMatch(/--board pc: not a board the lab boots\nfix: use one of: versatilepb, malta/);
    const arch = await lab(['import-buildroot', out, '--board', 'malta']);
    expect(arch.stderr).toMatch(/--board malta runs mipsel guests, but .*\.config is a arm build/);

    const builtin = 'mips-malta16k-3.10-uclibc';
    if (!skipReasonFor(builtin)) {
      // malta + 3.10 links the rootfs into the kernel (an -initrd hangs there): nothing to add probes to.
      const malta = path.join(root, 'output-malta-3.10');
      await layOutBuildrootOutput((await buildTarget(builtin)).dir, malta);
      const r = await lab(['import-buildroot', malta, '--board', 'malta']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/CONFIG_INITRAMFS_SOURCE=.*the rootfs is linked into the kernel/);
    }
  });
});

/** A Buildroot source tree put on this machine by hand (never committed): REPROLAB_BUILDROOT or <cache>/overrides/buildroot*. */
async function findBuildrootTree(): Promise<string | undefined> {
  const candidates = [process.env.REPROLAB_BUILDROOT, ...(await fs.readdir(dirs.overrides).catch(() => [] as string[])).filter((n) => n.startsWith('buildroot')).sort().reverse().map((n) => path.join(dirs.overrides, n))];
  for (const c of candidates) if (c && (await fs.access(path.join(c, 'support', 'kconfig')).then(() => true, () => false))) return c;
  return undefined;
}
const brTree = await findBuildrootTree();
const noTree = brTree ? undefined : `skipped: a Buildroot source tree not available (unpack one at ${path.join(dirs.overrides, 'buildroot')}/ or set REPROLAB_BUILDROOT)`;

describe('reprolab buildroot-external', () => {
  it.skipIf(!!noTree)(noTree ?? "a real Buildroot tree lists the lab's defconfigs and resolves the lab's packages from them", { timeout: 20 * 60_000 }, async () => {
    const tree = brTree!;
    const version = (await execa('make', ['-C', tree, '-s', 'print-version'], { reject: false })).stdout.trim();
    console.log(`Buildroot ${version} at ${tree}`);
    const ext = path.join(root, 'external');
    const w = await lab(['buildroot-external', ext]);
    expect(w.exitCode, w.all).toBe(0);
    const defconfigs = [...w.stdout.matchAll(/configs\/(reprolab_\S+_defconfig)/g)].map((m) => m[1]!);
    expect(defconfigs).toEqual(['reprolab_arm_versatile_3_10_uclibc_defconfig', 'reprolab_mips_malta_3_10_uclibc_defconfig', 'reprolab_mips_malta16k_3_10_uclibc_defconfig']);

    const listed = await execa('make', ['-C', tree, `BR2_EXTERNAL=${ext}`, 'list-defconfigs']);
    for (const d of defconfigs) expect(listed.stdout).toContain(d);

    for (const d of defconfigs) {
      const out = path.join(root, `br-${d}`);
      await execa('make', ['-C', tree, `O=${out}`, `BR2_EXTERNAL=${ext}`, d]);
      const info = JSON.parse((await execa('make', ['-C', tree, `O=${out}`, '-s', 'show-info'])).stdout) as Record<string, { version?: string }>;
      expect(info['reprolab-probes']?.version).toBe('reprolab');
      expect(info['reprolab-fabric']?.version).toBe('reprolab');
      expect(info['linux']?.version).toBe('3.10.108');
      expect(info['dropbear']).toBeDefined();
      expect(info['uclibc']).toBeDefined();
      const config = await fs.readFile(path.join(out, '.config'), 'utf8');
      expect(config).toMatch(/^BR2_TOOLCHAIN_BUILDROOT_UCLIBC=y$/m);
      expect(config).toMatch(/^BR2_PACKAGE_HOST_LINUX_HEADERS_CUSTOM_3_10=y$/m);
      expect(config).toMatch(d.includes('malta16k') ? /page-16k\.config"$/m : /page-4k\.config"$/m);
    }

    // Offline: it configures, then says which archives its download directory needs instead of building.
    const dl = path.join(root, 'empty-dl');
    await fs.mkdir(dl, { recursive: true });
    const built = await execa(path.join(repoRoot, 'reprolab'), ['buildroot-external', ext, '--buildroot', tree, '--out', path.join(root, 'br-build')], { reject: false, all: true, env: { CI: 'true', BR2_DL_DIR: dl } });
    expect(built.exitCode, built.all).toBe(1);
    expect(built.stdout).toMatch(/kernel 3\.10\.108, uClibc/);
    expect(built.stdout).toMatch(new RegExp(`missing from its download directory ${dl}`));
    expect(built.stdout).toContain(`${dl}/linux/linux-3.10.108.tar.xz`);
    expect(built.stdout).toMatch(/nothing was built/);
  });
});
