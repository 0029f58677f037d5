import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Target } from '../../../lab/model/target.ts';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import { LAB_CELL_DEPS, TargetCells, type CellDeps, type CellGuest } from '../../../lab/matrix/target-cells.ts';
import { runScenario, type RunGuest } from '../../../lab/scenarios/runner.ts';
import { type Scenario } from '../../../lab/scenarios/types.ts';
import { type ScenarioResult } from '../../../lab/model/scenario-result.ts';
import { type Verdict } from '../../../lab/model/verdict.ts';
import { sampleManifest, tempDirs, unusedConsole, unusedQmp } from '../../helpers.ts';
import { LabError } from '../../../lab/util/errors.ts';

/*
 * Unit tests of the runner and the per-target matrix logic with a fake guest
 * (the e2e suite drives real ones). The fake answers the two guest commands the
 * fabric needs (the helper's netlink dump, sysfs) and whatever a test adds.
 */

const res = (stdout: string, exitCode = 0, stderr = ''): ExecResult => ({ stdout, stderr, exitCode, signal: null }) as unknown as ExecResult;

const TRUTH_LINE = `REPROLAB-FABRIC ${JSON.stringify({ ok: true, links: [{ index: 1, name: 'lo', kind: 'loopback', up: true }], addrs: [{ index: 1, family: 'inet', address: '127.0.0.1', prefix: 8 }], firstLinkChunkBytes: 900, linkChunks: 1 })}\nREPROLAB-SYSFS\nlo\n`;

function fakeGuest(over: { exec?: (argv: string[]) => ExecResult | Promise<ExecResult>; running?: () => boolean } = {}): CellGuest & { stops: number } {
  const g = {
    stops: 0,
    consoleLog: '/tmp/fake-console.log',
    manifest: sampleManifest(),
    qmp: unusedQmp,
    vm: {
      get running() {
        return over.running ? over.running() : true;
      },
      console: unusedConsole,
      command: { binary: 'qemu-system-fake', args: ['-M', 'fake'] },
    },
    async exec(argv: string[]): Promise<ExecResult> {
      if (over.exec) return over.exec(argv);
      return res(argv[0] === 'uname' ? 'Linux fake 3.10.108\n' : TRUTH_LINE);
    },
    async upload() {
      throw new Error('this fake guest takes no uploads');
    },
    async stop() {
      g.stops++;
    },
  } satisfies CellGuest & { stops: number };
  return g;
}

async function bundle(target = 'fake-target'): Promise<string> {
  const { root } = await tempDirs();
  await fs.writeFile(path.join(root, 'manifest.json'), JSON.stringify(sampleManifest(target)));
  return root;
}

const scenario = (repeat: Scenario['repeat']): Scenario => ({ name: 'dump-read', bug: 'B3', title: 'fake', usesLibc: false, defaults: {}, fabric: () => ({}), repeat });
const passing = scenario(async (ctx) => ({ runs: ctx.variants.map((v) => ({ variant: v.variant, role: v.role, outcome: 'PASS' as const, symptom: 'ok' })), key: {} }));

describe('runScenario: an error in any phase is an ERROR with its cause, never a throw', () => {
  it('an unreadable manifest', async () => {
    const { root, dirs } = await tempDirs();
    const r = await runScenario({ scenario: passing, bundleDir: path.join(root, 'no-such-bundle'), repeat: 1, params: {}, dirs, outDir: path.join(root, 'out'), guest: fakeGuest() });
    expect(r.verdict).toBe('ERROR');
    expect(r.error).toMatch(/^reading the bundle manifest: .*cannot read the bundle manifest/);
  });

  it('the variant plan, uname, the fabric, and a repeat', async () => {
    const { root, dirs } = await tempDirs();
    const dir = await bundle();
    const run = (s: Scenario, guest: RunGuest, name: string) => runScenario({ scenario: s, bundleDir: dir, repeat: 2, params: {}, dirs, outDir: path.join(root, name), guest });
    const libc = { ...passing, usesLibc: true };
    expect((await run(libc, fakeGuest(), 'plan')).error).toMatch(/^planning the variants: .*no "patched" libc build/);
    const noSsh = fakeGuest({ exec: () => Promise.reject(new Error('SSH channel closed')) });
    expect((await run(passing, noSsh, 'uname')).error).toMatch(/^reading uname: .*SSH channel closed/);
    const noHelper = fakeGuest({ exec: (argv) => (argv[0] === 'uname' ? res('Linux\n') : res('', 127, 'not found')) });
    expect((await run(passing, noHelper, 'fabric')).error).toMatch(/^building the fabric: reading interfaces failed in the guest/);
    const throwing = scenario(async () => {
      throw new Error('probe vanished');
    });
    const r = await run(throwing, fakeGuest(), 'repeat');
    expect(r.verdict).toBe('ERROR');
    expect(r.rate).toEqual({ reproduced: 0, repeats: 2, errors: 2 });
    expect(r.variants.map((v) => v.symptom)).toEqual([expect.stringContaining('probe vanished'), expect.stringContaining('probe vanished')]);
    // And the good path, for contrast: the same fake judged by the scenario.
    expect((await run(passing, fakeGuest(), 'ok')).verdict).toBe('NOT_REPRODUCED');
  });

  it("a repeat's LabError keeps its kind on every variant's run (the matrix counts USB stalls by it)", async () => {
    const { root, dirs } = await tempDirs();
    const dir = await bundle();
    const stalled = scenario(async () => {
      throw new LabError('the USB stack stalled', { kind: 'usb-stall' });
    });
    const r = await runScenario({ scenario: stalled, bundleDir: dir, repeat: 1, params: {}, dirs, outDir: path.join(root, 'stall'), guest: fakeGuest() });
    expect(new Set(r.variants.flatMap((v) => v.runs.map((x) => x.errorKind)))).toEqual(new Set(['usb-stall']));
    const plain = scenario(async () => {
      throw new Error('not a LabError');
    });
    const p = await runScenario({ scenario: plain, bundleDir: dir, repeat: 1, params: {}, dirs, outDir: path.join(root, 'plain'), guest: fakeGuest() });
    expect(new Set(p.variants.flatMap((v) => v.runs.map((x) => x.errorKind)))).toEqual(new Set([undefined]));
  });
});

describe("runScenario: a kernel without the scenario's options", () => {
  it('is an ERROR naming the option and the config file, before anything boots', async () => {
    const { root, dirs } = await tempDirs();
    const dir = await bundle();
    await fs.mkdir(path.join(dir, 'images'));
    await fs.writeFile(path.join(dir, 'images', 'kernel.config'), 'CONFIG_FAILSLAB=m\n');
    const needs = { ...passing, definition: { kernelOptions: ['CONFIG_FAILSLAB'] } } as unknown as Scenario;
    const r = await runScenario({ scenario: needs, bundleDir: dir, repeat: 1, params: {}, dirs, outDir: path.join(root, 'out') });
    expect(r.verdict).toBe('ERROR');
    expect(r.error).toBe(`checking the kernel's options: dump-read needs CONFIG_FAILSLAB=y in the kernel; the kernel of fake-target does not set CONFIG_FAILSLAB (${path.join(dir, 'images', 'kernel.config')})`);
    expect(r.depends.qemu).toBe('(not started)');
  });
});

describe('TargetCells: an ERROR is retried once on a fresh boot; a verdict never is', () => {
  const target = (bundleDir: string): Target => ({ name: 'fake-target', imported: { from: '/out', bundleDir } }) as unknown as Target;

  /** A target's cells on fakes: a cached build, fake guests, and scenario runs that give `verdicts` in turn (or `runScenario`'s results). */
  async function targetRun(verdicts: (Verdict | Error)[], runScenario?: CellDeps['runScenario'], over: { target?: (dir: string) => Target; kernelConfig?: string } = {}) {
    const { root, dirs } = await tempDirs();
    const dir = await bundle();
    if (over.kernelConfig !== undefined) {
      await fs.mkdir(path.join(dir, 'images'));
      await fs.writeFile(path.join(dir, 'images', 'kernel.config'), over.kernelConfig);
    }
    const guests: (CellGuest & { stops: number })[] = [];
    const outDirs: string[] = [];
    const deps: CellDeps = {
      build: async () => ({ dir, manifest: sampleManifest('fake-target'), scenarioProbes: { sets: [], failed: [] } }),
      start: async () => {
        const g = fakeGuest();
        guests.push(g);
        return g;
      },
      runScenario:
        runScenario ??
        (async (o) => {
          outDirs.push(o.outDir);
          const v = verdicts.shift()!;
          if (v instanceof Error) throw v;
          return { verdict: v, variants: [], rate: { reproduced: 0, repeats: 1, errors: v === 'ERROR' ? 1 : 0 }, key: {}, evidenceDir: o.outDir, depends: { qemu: 'q' }, durationMs: 5, ...(v === 'ERROR' ? { error: 'SSH timed out' } : {}) } as unknown as ScenarioResult;
        }),
    };
    const run = new TargetCells({ target: (over.target ?? target)(dir), dirs, sources: { dirs, download: false }, outDir: path.join(root, 'run'), repeat: 1, params: {}, expectations: new Map(), deps });
    expect(await run.prepare(() => undefined)).toBeUndefined();
    return { run, guests, outDirs };
  }

  const needsFailslab = { ...passing, definition: { kernelOptions: ['CONFIG_FAILSLAB', 'CONFIG_FAULT_INJECTION_DEBUG_FS'] } } as unknown as Scenario;
  const withoutFailslab = 'CONFIG_FAULT_INJECTION=y\n# CONFIG_FAILSLAB is not set\nCONFIG_FAULT_INJECTION_DEBUG_FS=y\n';

  it("a scenario whose kernel options a product's kernel lacks does not apply there: skipped, saying which, nothing booted", async () => {
    const { run, guests, outDirs } = await targetRun(['CONFIRMED'], undefined, { kernelConfig: withoutFailslab });
    const c = await run.cell(needsFailslab, () => undefined);
    expect(c).toMatchObject({ status: 'skipped', asExpected: false });
    expect(c.summary).toMatch(/^does not apply to this product: dump-read needs CONFIG_FAILSLAB=y, CONFIG_FAULT_INJECTION_DEBUG_FS=y in the kernel; the kernel of fake-target does not set CONFIG_FAILSLAB \(.*images\/kernel\.config\)$/);
    expect(guests).toHaveLength(0);
    expect(outDirs).toHaveLength(0);
  });

  it("on the lab's own target the same lack is the lab's ERROR (its kernel config is wrong), not retried, nothing booted", async () => {
    // A 6.1 glibc target's one source is Debian's linux-source-6.1 (installed by doctor): prepare finds it.
    const own = (): Target => ({ name: 'own-target', kernel: { line: '6.1' }, libc: { kind: 'glibc' } }) as unknown as Target;
    const { run, guests } = await targetRun(['CONFIRMED'], undefined, { target: own, kernelConfig: withoutFailslab });
    const c = await run.cell(needsFailslab, () => undefined);
    expect(c).toMatchObject({ status: 'ran', verdict: 'ERROR', asExpected: false });
    expect(c.summary).toMatch(/the kernel of own-target does not set CONFIG_FAILSLAB .*: the lab's kernel config for own-target must set them \(kernels\/6\.1\/\)$/);
    expect(c.attempts).toHaveLength(1);
    expect(guests).toHaveLength(0);
  });

  it('a kernel that sets them, or an image without a kernel config (cannot tell), runs the cell', async () => {
    for (const kernelConfig of ['CONFIG_FAILSLAB=y\nCONFIG_FAULT_INJECTION_DEBUG_FS=y\n', undefined]) {
      const { run, guests } = await targetRun(['CONFIRMED'], undefined, kernelConfig === undefined ? {} : { kernelConfig });
      const c = await run.cell(needsFailslab, () => undefined);
      expect(c.verdict, String(kernelConfig)).toBe('CONFIRMED');
      expect(guests).toHaveLength(1);
    }
  });

  it('retries an ERROR on a fresh boot and keeps both attempts', async () => {
    const { run, guests, outDirs } = await targetRun(['ERROR', 'CONFIRMED']);
    const c = await run.cell(passing, () => undefined);
    expect(c.verdict).toBe('CONFIRMED');
    expect(c.attempts.map((a) => a.verdict)).toEqual(['ERROR', 'CONFIRMED']);
    expect(c.retried).toMatch(/SSH timed out.*retried once on a fresh boot/);
    expect(guests).toHaveLength(2);
    expect(guests[0]!.stops).toBe(1);
    expect(run.info.boots).toBe(2);
    expect(outDirs[1]).toMatch(/\.retry$/);
  });

  it('never retries a verdict, not even an unexpected one', async () => {
    const { run, guests } = await targetRun(['FIX_INEFFECTIVE']);
    const c = await run.cell(passing, () => undefined);
    expect(c.attempts).toHaveLength(1);
    expect(c.retried).toBeUndefined();
    expect(guests).toHaveLength(1);
  });

  it('an ERROR twice stays an ERROR', async () => {
    const { run } = await targetRun(['ERROR', 'ERROR']);
    const c = await run.cell(passing, () => undefined);
    expect(c.verdict).toBe('ERROR');
    expect(c.asExpected).toBe(false);
  });

  it('counts USB stalls per repeat by the error kind the scenario recorded, not by the first error or the words', async () => {
    const stalled = "ERROR: the guest's USB stack stalled: 9 of 10 devices never enumerated while held (+enum)";
    const { run } = await targetRun([], async (o) =>
      ({
        verdict: 'ERROR',
        variants: [{ variant: 'legacy', role: 'unpatched', outcome: 'ERROR', symptom: 'x', runs: [{ outcome: 'ERROR', symptom: 'ERROR: SSH timed out' }, { outcome: 'ERROR', symptom: stalled, errorKind: 'usb-stall' }, { outcome: 'ERROR', symptom: `${stalled} (a probe's own words)`, errorKind: 'lab' }, { outcome: 'PASS', symptom: 'ok' }] }],
        rate: { reproduced: 0, repeats: 4, errors: 3 },
        key: {},
        evidenceDir: o.outDir,
        depends: { qemu: 'q' },
        durationMs: 5,
      }) as unknown as ScenarioResult);
    const c = await run.cell(passing, () => undefined);
    expect(c.attempts[0]).toMatchObject({ verdict: 'ERROR', error: 'ERROR: SSH timed out', repeats: 4, usbStalls: 1 });
  });

  it('a target whose sources are missing is skipped with one short reason and each missing archive listed once', async () => {
    const { loadTargets } = await import('../../../lab/catalog/targets.ts');
    const { root, dirs } = await tempDirs();
    const target = (await loadTargets()).find((t) => t.name === 'mips-malta-3.10-uclibc')!;
    const run = new TargetCells({ target, dirs, sources: { dirs, env: {}, download: false }, outDir: path.join(root, 'run'), repeat: 1, params: {}, expectations: new Map(), deps: LAB_CELL_DEPS });
    expect(await run.prepare(() => undefined)).toBe('skipped: linux-3.10.108.tar.xz, uClibc-0.9.33.2.tar.xz, busybox_1.35.0-4+deb12u1.dsc, dropbear_2022.83-1+deb12u3.dsc not available');
    expect(run.info).toMatchObject({ status: 'skipped', reason: 'skipped: linux-3.10.108.tar.xz, uClibc-0.9.33.2.tar.xz, busybox_1.35.0-4+deb12u1.dsc, dropbear_2022.83-1+deb12u3.dsc not available' });
    expect(run.info.missingSources!.map((m) => m.archive)).toEqual(['linux-3.10.108.tar.xz', 'uClibc-0.9.33.2.tar.xz', 'busybox_1.35.0-4+deb12u1.dsc', 'dropbear_2022.83-1+deb12u3.dsc']);
    expect(run.info.missingSources![0]!.fix).toContain(path.join(dirs.downloads));
    const c = await run.cell(passing, () => undefined);
    expect(c).toMatchObject({ status: 'skipped', summary: 'skipped: linux-3.10.108.tar.xz, uClibc-0.9.33.2.tar.xz, busybox_1.35.0-4+deb12u1.dsc, dropbear_2022.83-1+deb12u3.dsc not available' });
  });

  it('a run that throws is a lost cell (ERROR with the cause), not an escape that drops it from matrix.json', async () => {
    const { run } = await targetRun([new Error('EACCES writing evidence'), new Error('EACCES again')]);
    const c = await run.cell(passing, () => undefined);
    expect(c).toMatchObject({ status: 'ran', verdict: 'ERROR', asExpected: false });
    expect(c.summary).toMatch(/EACCES/);
  });
});
