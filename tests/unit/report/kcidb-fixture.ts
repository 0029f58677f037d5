/**
 * A matrix run that holds every verdict, a lab ERROR (with variants, and a lost cell without any), a
 * cell skipped on a target that ran, a target skipped for a missing source and one whose build failed.
 * It goes through the lab's own matrix.json reader, so it is a run the lab could have written.
 */
import type { BundleManifest } from '../../../lab/model/manifest.ts';
import { checkMatrixResult, type CellVariant, type MatrixCellResult, type MatrixResult } from '../../../lab/model/matrix-result.ts';
import type { Verdict } from '../../../lab/model/verdict.ts';
import { sampleManifest } from '../../helpers.ts';

export const RUN_DIR = '/runs/2026-12-06T17-34-18-978Z';
const SHA = (c: string) => c.repeat(64);
const QEMU_ARM = 'qemu-system-arm -M versatilepb -cpu arm926 -m 256 -kernel /b/zImage -append \'console=ttyAMA0 panic=1\' -serial stdio';

const v = (variant: string, role: 'unpatched' | 'patched', outcome: 'PASS' | 'FAIL' | 'ERROR', symptom: string, target: string, scenario: string): CellVariant => ({
  variant,
  role,
  outcome,
  symptom,
  evidence: [`${RUN_DIR}/${target}/${scenario}/r1-${role}-${variant}.txt`, `${RUN_DIR}/${target}/${scenario}/r2-${role}-${variant}.txt`],
});

function cell(target: string, scenario: string, verdict: Verdict, variants: CellVariant[], more: Partial<MatrixCellResult> = {}): MatrixCellResult {
  return {
    target,
    scenario,
    bug: 'B1',
    title: `${scenario} on ${target}`,
    status: 'ran',
    verdict,
    expected: 'CONFIRMED',
    expectedNote: 'the field bug',
    asExpected: verdict === 'CONFIRMED',
    summary: variants.map((x) => `${x.role}: ${x.symptom}`).join('; ') || 'the lab lost this cell',
    rate: { reproduced: variants.some((x) => x.role === 'unpatched' && x.outcome === 'FAIL') ? 2 : 0, repeats: 2, errors: verdict === 'ERROR' ? 2 : 0 },
    variants,
    key: {},
    attempts: [{ verdict, repeats: 2, usbStalls: 0, evidenceDir: `${RUN_DIR}/${target}/${scenario}`, durationMs: 1500 }],
    resultFile: `${RUN_DIR}/${target}/${scenario}/result.json`,
    evidenceDir: `${RUN_DIR}/${target}/${scenario}`,
    consoleLog: `${RUN_DIR}/${target}/boot-1/console.log`,
    qemu: QEMU_ARM,
    uname: 'Linux reprolab 3.10.108-reprolab armv5tejl',
    digests: { bundle: 'k-arm', kernelConfig: SHA('c'), kernelSource: SHA('a'), rootfs: SHA('b'), 'libc unpatched source': SHA('d'), 'libc patched source': SHA('d') },
    durationMs: 1500,
    ...more,
  };
}

const GLIBC_DIGESTS = { bundle: 'k-glibc', kernelConfig: SHA('e'), kernelSource: SHA('f'), rootfs: SHA('1') };
const skipped = (target: string, scenario: string, summary: string): MatrixCellResult => ({ target, scenario, bug: 'B2', title: scenario, status: 'skipped', asExpected: false, summary, variants: [], key: {}, attempts: [], durationMs: 0 });
const usbError = 'ERROR: the guest\'s USB stack stalled: 4 of 10 devices never enumerated\nlog: /runs/x/boot-2/console.log';

function cells(): MatrixCellResult[] {
  const a = 'arm-a';
  return [
    cell(a, 'getifaddrs', 'CONFIRMED', [v('unpatched', 'unpatched', 'FAIL', 'lost 3 links', a, 'getifaddrs'), v('patched', 'patched', 'PASS', 'all 44 links', a, 'getifaddrs')], { key: { links: 44, firstLinkChunkBytes: 3220, probeLinkage: 'shared' } }),
    cell(a, 'uevent', 'FIX_INEFFECTIVE', [v('legacy', 'unpatched', 'FAIL', 'ENOBUFS lost=28/126', a, 'uevent'), v('fixed', 'patched', 'FAIL', 'ENOBUFS lost=3/126', a, 'uevent')], {
      key: { uevents: 126, usbSettleMs: 3618, unpatchedLost: 28, unpatchedRcvbuf: 2224, patchedLost: 3, patchedRcvbuf: 8388608 },
    }),
    cell(a, 'dump-read', 'PATCH_REGRESSION', [v('legacy', 'unpatched', 'PASS', 'read all 502', a, 'dump-read'), v('fixed', 'patched', 'FAIL', 'read 40 of 502', a, 'dump-read')], { key: { sockets: 502, legacyMaxChunkBytes: 3840 } }),
    cell(a, 'dump-hang', 'NOT_REPRODUCED', [v('legacy', 'unpatched', 'PASS', 'no hang in 2000 dumps', a, 'dump-hang'), v('fixed', 'patched', 'PASS', 'no hang in 2000 dumps', a, 'dump-hang')], {
      key: { unpatchedIterations: 2000, unpatchedHangs: 0, unpatchedUpperBound95: 0.0015, patchedIterations: 2000, patchedUpperBound95: 0.0015, churnRounds: 78 },
    }),
    cell(a, 'dump-buffer', 'ERROR', [v('legacy', 'unpatched', 'ERROR', usbError, a, 'dump-buffer'), v('fixed', 'patched', 'ERROR', usbError, a, 'dump-buffer')], {
      attempts: [
        { verdict: 'ERROR', error: usbError, repeats: 1, usbStalls: 1, durationMs: 90_000 },
        { verdict: 'ERROR', error: `${usbError} (again)`, repeats: 1, usbStalls: 1, durationMs: 91_000 },
      ],
      retried: 'the first attempt ended in ERROR; retried once on a fresh boot',
    }),
    skipped(a, 'getifaddrs-mechanism', 'not runnable on LAVA: the judge needs host QMP'),
    cell('arm-glibc', 'getifaddrs', 'REPRODUCED', [v('system', 'unpatched', 'FAIL', 'lost 3 links', 'arm-glibc', 'getifaddrs')], { digests: GLIBC_DIGESTS }),
    // The lab lost this cell before any variant ran (the boot failed): no variants, no result.
    cell('arm-glibc', 'uevent', 'ERROR', [], { attempts: [{ verdict: 'ERROR', error: 'boot: no login prompt within 120 s', durationMs: 120_000 }], digests: GLIBC_DIGESTS, qemu: undefined, uname: undefined }),
    skipped('mips-b', 'getifaddrs', 'linux-3.10.108.tar.xz not available'),
    skipped('mips-b', 'uevent', 'linux-3.10.108.tar.xz not available'),
    { ...cell('mips-c', 'getifaddrs', 'ERROR', []), summary: 'build failed: make exited 2', attempts: [], consoleLog: undefined, qemu: undefined, digests: undefined, rate: undefined },
  ];
}

export function everyVerdictRun(startedAt = '2026-12-06T17:34:19.000Z'): MatrixResult {
  const doc = {
    schema: 1,
    kind: 'reprolab-matrix',
    plan: { targets: ['arm-a', 'arm-glibc', 'mips-b', 'mips-c'], scenarios: ['getifaddrs', 'uevent', 'dump-read', 'dump-hang', 'dump-buffer', 'getifaddrs-mechanism'], sweeps: [], repeat: 2, params: {} },
    shards: [{ index: 1, count: 1 }],
    startedAt,
    finishedAt: '2026-12-06T17:40:34.073Z',
    durationMs: 375_073,
    jobs: 2,
    timeoutMultiplier: 1,
    host: { hostname: 'vm', cpus: 2, memGiB: 24 },
    outDir: RUN_DIR,
    targets: [
      { target: 'arm-a', status: 'ran', bundleDir: '/store/bundle/arm-a', bundleKey: 'k-arm', buildSeconds: 168.9, boots: 2 },
      { target: 'arm-glibc', status: 'ran', bundleDir: '/store/bundle/arm-glibc', bundleKey: 'k-glibc', buildSeconds: 2.1, boots: 1 },
      { target: 'mips-b', status: 'skipped', reason: 'linux-3.10.108.tar.xz not available', missingSources: [{ archive: 'linux-3.10.108.tar.xz', package: 'linux-3.10.108', fix: 'put it in ~/dl' }], boots: 0 },
      { target: 'mips-c', status: 'build-failed', reason: 'build failed: make exited 2', buildSeconds: 12, boots: 0 },
    ],
    // JSON drops the undefined fields a cell above clears, as matrix.json would not have them.
    cells: JSON.parse(JSON.stringify(cells())) as MatrixCellResult[],
    sweeps: [],
    comparison: {
      previous: { file: '/runs/before/matrix.json', startedAt: '2026-12-05T17:34:19.000Z' },
      regressions: [{ target: 'arm-a', scenario: 'dump-read', before: 'NOT_REPRODUCED', after: 'PATCH_REGRESSION', nowExpected: false, detail: 'arm-a dump-read: NOT_REPRODUCED → PATCH_REGRESSION' }],
      recovered: [],
      dropped: [],
      added: [],
      unchanged: 5,
    },
  };
  return checkMatrixResult('kcidb-fixture/matrix.json', doc);
}

/** arm-a's bundle manifest, as a lab-built uClibc bundle records it: the kernel's and each libc's patch series. */
export function armManifest(): BundleManifest {
  const m = sampleManifest('arm-a');
  const src = { package: 'uClibc-0.9.33.2', origin: 'archive' as const, path: '/dl/uClibc-0.9.33.2.tar.xz', sha256: SHA('d') };
  const compat = [{ file: 'images/libc/uclibc-0.9.33.2/compat/0001-kernel-types.patch', sha256: SHA('2') }];
  return {
    ...m,
    key: 'k-arm',
    kernel: { ...m.kernel, patches: [{ file: 'kernels/3.10/patches/0001-arm.patch', sha256: SHA('3') }, { file: 'kernels/3.10/patches/0002-kbuild.patch', sha256: SHA('4') }] },
    libc: {
      kind: 'uclibc',
      variants: [
        { variant: 'unpatched', libc: 'uClibc 0.9.33.2', source: src, patches: compat, sysroot: '/s/u', cc: 'host/bin/cc-u', probes: ['ifaddrs-probe'] },
        { variant: 'patched', libc: 'uClibc 0.9.33.2', source: src, patches: [...compat, { file: 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs.patch', sha256: SHA('5') }], sysroot: '/s/p', cc: 'host/bin/cc-p', probes: ['ifaddrs-probe'] },
      ],
    },
  };
}
