/**
 * KCIDB v5.3, KernelCI's common report format, made from matrix results: the sources each target was
 * built from (checkouts), one build per target and libc variant, and one test per target × scenario ×
 * variant plus the paired verdict. Pure: the bundle manifests and build logs that still exist on this
 * machine come in as data (the CLI finds them); without them the same ids come out, with less detail.
 * The status mapping, the ids and what goes under misc: docs/report.md ("KCIDB").
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BundleManifest } from '../model/manifest.ts';
import type { CellVariant, MatrixCellResult, MatrixResult, MatrixTargetResult } from '../model/matrix-result.ts';
import type { Verdict } from '../model/verdict.ts';
import { sha256 } from '../util/digest.ts';
import { UsageError } from '../util/errors.ts';

export const KCIDB_VERSION = { major: 5, minor: 3 } as const;
/** KCIDB's "origin": the name of the submitting CI system, also the prefix of every id. */
export const ORIGIN_PATTERN = /^[a-z0-9_]+$/;
export const DEFAULT_ORIGIN = 'reprolab';

export type KcidbStatus = 'FAIL' | 'ERROR' | 'MISS' | 'PASS' | 'DONE' | 'SKIP';
export interface KcidbResource {
  name: string;
  url: string;
}
export interface KcidbNumber {
  value: number;
  unit?: string;
  prefix?: 'metric' | 'binary';
}
type Misc = Record<string, unknown>;

export interface KcidbCheckout {
  id: string;
  origin: string;
  tree_name?: string;
  patchset_files?: KcidbResource[];
  patchset_hash?: string;
  comment?: string;
  start_time?: string;
  valid?: boolean;
  misc: Misc;
}

export interface KcidbBuild {
  id: string;
  origin: string;
  checkout_id: string;
  comment?: string;
  architecture?: string;
  compiler?: string;
  config_name?: string;
  log_url?: string;
  status: KcidbStatus;
  misc: Misc;
}

export interface KcidbTest {
  id: string;
  origin: string;
  build_id: string;
  path: string;
  status: KcidbStatus;
  comment?: string;
  environment?: { comment?: string; misc?: Misc };
  log_url?: string;
  log_excerpt?: string;
  output_files?: KcidbResource[];
  number?: KcidbNumber;
  duration?: number;
  misc: Misc;
}

export interface KcidbReport {
  version: { major: 5; minor: 3 };
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
}

export interface KcidbOptions {
  origin: string;
  /** Bundle manifests by bundle key (<bundleDir>/manifest.json, while the bundle is in the store): sources, patch series, toolchain. */
  manifests?: ReadonlyMap<string, BundleManifest>;
  /** The build logs that exist, by their directory (<run>/<target>/build-logs): file names. */
  buildLogs?: ReadonlyMap<string, readonly string[]>;
  /** Where a manifest's repository-relative patch files are (the lab's checkout): patchset_files point there. */
  patchRoot?: string;
}

/** The variant names of a reader scenario (scenarios/variants.ts): algorithms linked against the baseline libc, not libc builds. */
const READERS = ['legacy', 'fixed'];
/** A target's one libc build when matrix.json names none (a skipped target, or no libc scenario ran). */
const UNNAMED_LIBC = 'baseline';
/** KCIDB's limit on log_excerpt. */
const EXCERPT_MAX = 16384;

/** The paired verdict as a KCIDB status: the status of the code that would ship (the patched side, or the one libc as shipped). */
export const VERDICT_STATUS: Record<Verdict, KcidbStatus> = {
  CONFIRMED: 'PASS',
  NOT_REPRODUCED: 'PASS',
  FIX_INEFFECTIVE: 'FAIL',
  PATCH_REGRESSION: 'FAIL',
  REPRODUCED: 'FAIL',
  ERROR: 'ERROR',
};

/** A variant's outcome as a KCIDB status: the same word; ERROR (the lab could not judge) is never a FAIL. */
export const OUTCOME_STATUS: Record<string, KcidbStatus> = { PASS: 'PASS', FAIL: 'FAIL', ERROR: 'ERROR' };

/** A target's status as its builds' KCIDB status: the lab cannot tell a compile error from its own failure, so a failed build is ERROR. */
export const TARGET_BUILD_STATUS: Record<MatrixTargetResult['status'], KcidbStatus> = { ran: 'PASS', 'build-failed': 'ERROR', 'source-error': 'MISS', skipped: 'MISS' };

/** One target of one run, with what is known about it. */
interface TargetRun {
  run: MatrixResult;
  name: string;
  target: MatrixTargetResult;
  cells: MatrixCellResult[];
  manifest: BundleManifest | undefined;
  /** Libc builds, the baseline first (its build carries the reader variants and the verdict). */
  libcs: string[];
  ids: Ids;
}

interface Ids {
  kernelCheckout: string;
  libcCheckout: (libc: string) => string;
  build: (libc: string) => string;
  test: (scenario: string, role: string) => string;
}

/** The whole report: every input's targets, in input order; an object seen twice (the same run given twice) is kept once. */
export function kcidbReport(results: readonly MatrixResult[], o: KcidbOptions): KcidbReport {
  if (!ORIGIN_PATTERN.test(o.origin)) throw new UsageError(`--origin ${o.origin}: KCIDB wants lower-case letters, digits and '_'`, { fix: `e.g. --origin ${DEFAULT_ORIGIN}` });
  const out: KcidbReport = { version: { ...KCIDB_VERSION }, checkouts: [], builds: [], tests: [] };
  for (const run of results) {
    for (const t of targetRuns(run, o)) {
      out.checkouts.push(...checkouts(t, o));
      out.builds.push(...t.libcs.map((libc) => build(t, libc, o)));
      out.tests.push(...t.cells.flatMap((c) => cellTests(t, c, o.origin)));
    }
  }
  return { version: out.version, checkouts: unique(out.checkouts), builds: unique(out.builds), tests: unique(out.tests) };
}

function unique<T extends { id: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((x) => !seen.has(x.id) && !!seen.add(x.id));
}

/**
 * Ids are stable across re-exports of one run: a hash of the run's start time, the target and what the
 * object is (its scenario and role, its libc), never of anything a later export could see differently.
 */
export function kcidbId(origin: string, kind: 'checkout' | 'build' | 'test', parts: string[]): string {
  return `${origin}:${kind}:${sha256(JSON.stringify([kind, ...parts])).slice(0, 32)}`;
}

function targetRuns(run: MatrixResult, o: KcidbOptions): TargetRun[] {
  const names = [...new Set([...run.targets.map((t) => t.target), ...run.cells.map((c) => c.target)])];
  return names.map((name) => {
    const cells = run.cells.filter((c) => c.target === name);
    const target = run.targets.find((t) => t.target === name) ?? { target: name, status: 'ran' as const, boots: 0 };
    const manifest = target.bundleKey ? o.manifests?.get(target.bundleKey) : undefined;
    const at = (...parts: string[]) => [run.startedAt, name, ...parts];
    const ids: Ids = {
      kernelCheckout: kcidbId(o.origin, 'checkout', at('kernel')),
      libcCheckout: (libc) => kcidbId(o.origin, 'checkout', at('libc', libc)),
      build: (libc) => kcidbId(o.origin, 'build', at(libc)),
      test: (scenario, role) => kcidbId(o.origin, 'test', at(scenario, role)),
    };
    return { run, name, target, cells, manifest: manifest?.target === name ? manifest : undefined, libcs: libcBuilds(cells), ids };
  });
}

/**
 * A target's libc builds, from matrix.json alone so the ids do not depend on whether the bundle is
 * still in the store: the libc digests of its cells and the variants of its libc scenarios. The
 * baseline (the build a libc scenario plays as "unpatched") comes first.
 */
export function libcBuilds(cells: MatrixCellResult[]): string[] {
  const names = new Set<string>();
  let baseline: string | undefined;
  for (const c of cells) {
    for (const v of c.variants) {
      if (READERS.includes(v.variant)) continue;
      names.add(v.variant);
      if (v.role === 'unpatched') baseline ??= v.variant;
    }
    for (const k of Object.keys(c.digests ?? {})) {
      const m = /^libc (.+) source$/.exec(k);
      if (m) names.add(m[1]!);
    }
  }
  baseline ??= names.has('unpatched') ? 'unpatched' : [...names].sort()[0];
  if (!baseline) return [UNNAMED_LIBC];
  return [baseline, ...[...names].filter((n) => n !== baseline).sort()];
}

/** The build a test of this variant ran on: its own libc build, or the baseline for a reader and for the verdict. */
function buildOf(t: TargetRun, variant: string | undefined): string {
  return t.ids.build(variant && t.libcs.includes(variant) ? variant : t.libcs[0]!);
}

const noNul = (s: string): string => s.replace(/\0/g, '');
const excerpt = (s: string): string => noNul(s).slice(0, EXCERPT_MAX);
const fileUrl = (p: string): string | undefined => (path.isAbsolute(p) ? pathToFileURL(p).href : undefined);
const resource = (p: string): KcidbResource[] => {
  const url = fileUrl(p);
  return url && path.basename(p) ? [{ name: path.basename(p), url }] : [];
};

/** Drops the keys whose value is undefined: KCIDB allows no null, and a key with nothing in it is no key. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The first cell of the target that recorded digests (they are the bundle's, the same in every cell). */
const digestsOf = (t: TargetRun): Record<string, string> => t.cells.find((c) => c.digests)?.digests ?? {};

/** KCIDB's patchset_hash: sha256 over each patch's sha256 and a newline, in order; "" for no patches. */
export function patchsetHash(patches: { sha256: string }[]): string {
  return patches.length ? sha256(patches.map((p) => `${p.sha256}\n`).join('')) : '';
}

function patchset(patches: { file: string; sha256: string }[] | undefined, o: KcidbOptions): Pick<KcidbCheckout, 'patchset_files' | 'patchset_hash'> {
  if (!patches) return {};
  const files = patches.flatMap((p) => (path.isAbsolute(p.file) ? resource(p.file) : o.patchRoot ? resource(path.join(o.patchRoot, p.file)) : []));
  return { patchset_hash: patchsetHash(patches), ...(files.length === patches.length && files.length ? { patchset_files: files } : {}) };
}

function checkouts(t: TargetRun, o: KcidbOptions): KcidbCheckout[] {
  const m = t.manifest;
  const d = digestsOf(t);
  const base = { origin: o.origin, start_time: t.run.startedAt, ...(t.target.status === 'ran' ? { valid: true } : {}) };
  const kernel: KcidbCheckout = defined({
    id: t.ids.kernelCheckout,
    ...base,
    tree_name: m && noNul(m.kernel.source.package),
    comment: noNul(m ? `Linux ${m.kernel.release} for ${t.name}` : `the kernel of ${t.name}`),
    ...patchset(m?.kernel.patches, o),
    misc: defined({ target: t.name, component: 'kernel', source_sha256: d['kernelSource'] ?? m?.kernel.source.sha256, config_sha256: d['kernelConfig'] ?? m?.kernel.configSha256, source: m?.kernel.source, patches: m?.kernel.patches, target_status: t.target.status }),
  });
  const libcs = t.libcs.map((libc) => {
    const v = m?.libc.variants.find((x) => x.variant === libc);
    return defined<KcidbCheckout>({
      id: t.ids.libcCheckout(libc),
      ...base,
      tree_name: v?.source && noNul(v.source.package),
      comment: noNul(v ? `${v.libc}${v.patches.length ? ` + ${v.patches.length} patch(es)` : ''} (${libc}) for ${t.name}` : `the ${libc} libc of ${t.name}`),
      ...patchset(v?.patches, o),
      misc: defined({ target: t.name, component: 'libc', libc_variant: libc, libc: v?.libc, source_sha256: d[`libc ${libc} source`] ?? v?.source?.sha256, source: v?.source, patches: v?.patches, target_status: t.target.status }),
    });
  });
  return [kernel, ...libcs];
}

/** The kernel's ARCH: KCIDB's "architecture" is the kernel's word (mipsel and mips are both mips). */
const kernelArch = (arch: BundleManifest['arch']): string => (arch === 'arm' ? 'arm' : 'mips');

/** A libc build's logs that exist: its own steps (the libc, then its probes), and the target's shared ones (kernel, userland, tools). */
function buildLogs(t: TargetRun, libc: string, o: KcidbOptions): { own: string[]; shared: string[] } {
  const dir = path.join(t.run.outDir, t.name, 'build-logs');
  const names = o.buildLogs?.get(dir) ?? [];
  const own = [`uclibc-${libc}.log`, `probes-${libc}.log`, `probes-${libc}-shared.log`].filter((n) => names.includes(n));
  const others = t.libcs.filter((x) => x !== libc);
  const anothers = (n: string) => others.some((x) => n.includes(`-${x}.`) || n.includes(`-${x}-`));
  const shared = names.filter((n) => !own.includes(n) && !anothers(n)).sort();
  return { own: own.map((n) => path.join(dir, n)), shared: shared.map((n) => path.join(dir, n)) };
}

function build(t: TargetRun, libc: string, o: KcidbOptions): KcidbBuild {
  const m = t.manifest;
  const v = m?.libc.variants.find((x) => x.variant === libc);
  const logs = buildLogs(t, libc, o);
  return defined({
    id: t.ids.build(libc),
    origin: o.origin,
    checkout_id: t.ids.libcCheckout(libc),
    comment: noNul(`${t.name}: ${v ? v.libc : `the ${libc} libc`} (${libc})${t.target.reason ? ` — ${t.target.reason}` : ''}`),
    architecture: m && kernelArch(m.arch),
    compiler: m && noNul(m.toolchain),
    config_name: noNul(t.name),
    // Only a log of this libc's own steps is its log_url; every log, the shared ones too, is under misc.
    log_url: logs.own[0] && fileUrl(logs.own[0]),
    status: TARGET_BUILD_STATUS[t.target.status],
    misc: defined({
      target: t.name,
      libc_variant: libc,
      libc: v?.libc,
      target_status: t.target.status,
      reason: t.target.reason,
      missing_sources: t.target.missingSources,
      kernel_checkout_id: t.ids.kernelCheckout,
      bundle_key: t.target.bundleKey,
      bundle_dir: t.target.bundleDir,
      // One bundle build for every libc of the target, mostly store hits: not this build's own duration.
      bundle_build_seconds: t.target.buildSeconds,
      kernel_release: m?.kernel.release,
      page_size_kib: m?.kernel.pageSizeKiB,
      rootfs_sha256: digestsOf(t)['rootfs'] ?? m?.rootfs.sha256,
      logs: logs.own.length + logs.shared.length ? [...logs.own, ...logs.shared] : undefined,
    }),
  });
}

/** The QEMU machine, CPU and memory of a cell's command line (or the bundle's), and the host it ran on. */
export function qemuEnvironment(qemu: string | undefined, m: BundleManifest | undefined, run: MatrixResult, uname?: string): KcidbTest['environment'] {
  const words = qemu?.split(/\s+/) ?? [];
  const arg = (...flags: string[]) => {
    const i = words.findIndex((w) => flags.includes(w));
    return i >= 0 ? words[i + 1] : undefined;
  };
  const machine = arg('-M', '-machine') ?? m?.qemu.machine;
  const cpu = arg('-cpu') ?? m?.qemu.cpu;
  const memory = arg('-m') ?? m?.qemu.memoryMiB.toString();
  const binary = words[0] ?? m?.qemu.binary;
  if (!machine && !binary) return undefined;
  const comment = `QEMU machine ${machine ?? '?'}, CPU ${cpu ?? '?'}${memory ? `, ${memory} MiB` : ''} (${binary ?? 'qemu'}) on ${run.host.hostname}`;
  return {
    comment: noNul(comment),
    misc: defined({ qemu_binary: binary, machine, cpu, memory_mib: memory && Number.isFinite(Number(memory)) ? Number(memory) : memory, uname, host: run.host, timeout_multiplier: run.timeoutMultiplier ?? 1 }),
  };
}

/** A KCIDB path segment: letters, digits, '_' and '-' (anything else becomes '_'). */
const segment = (s: string): string => s.replace(/[^a-zA-Z0-9_-]/g, '_') || '_';
export const testPath = (scenario: string, role?: string): string => `reprolab.${segment(scenario)}${role ? `.${segment(role)}` : ''}`;

/** One cell: a test per variant (PASS/FAIL/ERROR as the variant's outcome), then the paired verdict. */
function cellTests(t: TargetRun, c: MatrixCellResult, origin: string): KcidbTest[] {
  const env = qemuEnvironment(c.qemu, t.manifest, t.run, c.uname);
  const verdictId = t.ids.test(c.scenario, 'verdict');
  const variants = c.variants.map((v) => variantTest(t, c, v, { origin, env, verdictId }));
  return [...variants, verdictTest(t, c, { origin, env, verdictId })];
}

interface TestContext {
  origin: string;
  env: KcidbTest['environment'];
  verdictId: string;
}

function variantTest(t: TargetRun, c: MatrixCellResult, v: CellVariant, x: TestContext): KcidbTest {
  const evidence = v.evidence ?? [];
  const own = ownKeys(c.key, [v.role, v.variant]);
  const main = mainNumber(own);
  const error = v.outcome === 'ERROR' ? v.symptom : undefined;
  return defined({
    id: t.ids.test(c.scenario, v.role),
    origin: x.origin,
    build_id: buildOf(t, v.variant),
    path: testPath(c.scenario, v.role),
    // matrix.json's reader admits only these three; anything else would be an outcome the lab could not judge.
    status: OUTCOME_STATUS[v.outcome] ?? 'ERROR',
    comment: noNul(`${c.scenario} ${v.variant} (${v.role}) on ${t.name}: ${v.symptom}`),
    environment: x.env,
    log_url: evidence[0] && fileUrl(evidence[0]),
    log_excerpt: v.outcome === 'PASS' || !v.symptom ? undefined : excerpt(v.symptom),
    output_files: evidence.length > 1 ? evidence.slice(1).flatMap(resource) : undefined,
    number: main?.number,
    misc: defined({
      target: t.name,
      scenario: c.scenario,
      bug: c.bug,
      variant: v.variant,
      role: v.role,
      outcome: v.outcome,
      symptom: v.symptom,
      error,
      key: Object.keys(own).length ? own : undefined,
      number_key: main?.key,
      evidence: evidence.length ? evidence : undefined,
      verdict_test_id: x.verdictId,
      run_started_at: t.run.startedAt,
    }),
  });
}

/** A skipped cell: SKIP when its target ran (the scenario does not apply there), MISS when the target could not run at all. */
function cellStatus(t: TargetRun, c: MatrixCellResult): KcidbStatus {
  if (c.status === 'skipped' || !c.verdict) return t.target.status === 'ran' ? 'SKIP' : 'MISS';
  return VERDICT_STATUS[c.verdict];
}

function verdictTest(t: TargetRun, c: MatrixCellResult, x: TestContext): KcidbTest {
  const status = cellStatus(t, c);
  const ran = c.status === 'ran' && !!c.verdict;
  const error = c.verdict === 'ERROR' ? (c.attempts.at(-1)?.error ?? c.summary) : undefined;
  const regression = t.run.comparison?.regressions.find((r) => r.target === c.target && r.scenario === c.scenario);
  const said = ran ? `${c.verdict}${c.expected ? ` (expected ${c.expected})` : ' (no expectation recorded)'}` : 'not run';
  return defined({
    id: x.verdictId,
    origin: x.origin,
    build_id: buildOf(t, undefined),
    path: testPath(c.scenario),
    status,
    comment: noNul(`${c.bug} ${c.scenario} on ${t.name}: ${said}: ${c.summary}`),
    environment: x.env,
    log_url: c.consoleLog && fileUrl(c.consoleLog),
    log_excerpt: error !== undefined ? excerpt(error) : undefined,
    output_files: c.resultFile ? resource(c.resultFile) : undefined,
    number: ran && c.verdict !== 'ERROR' ? rateNumber(c.rate) : undefined,
    duration: ran ? c.durationMs / 1000 : undefined,
    misc: verdictMisc(t, c, { error, regression: regression && { before: regression.before, after: regression.after, detail: regression.detail } }),
  });
}

function verdictMisc(t: TargetRun, c: MatrixCellResult, extra: { error: string | undefined; regression: Misc | undefined }): Misc {
  return defined({
    target: t.name,
    scenario: c.scenario,
    bug: c.bug,
    title: c.title,
    verdict: c.status === 'ran' ? c.verdict : 'SKIPPED',
    expected: c.expected,
    expected_note: c.expectedNote,
    as_expected: c.asExpected,
    summary: c.summary,
    error: extra.error,
    skip_reason: c.status === 'skipped' ? c.summary : undefined,
    target_status: t.target.status,
    regression: extra.regression,
    rate: c.rate,
    key: Object.keys(c.key).length ? c.key : undefined,
    retried: c.retried,
    attempts: c.attempts.length ? c.attempts.map((a) => defined({ verdict: a.verdict, error: a.error, repeats: a.repeats, usb_stalls: a.usbStalls, evidence_dir: a.evidenceDir, duration_ms: a.durationMs })) : undefined,
    builds: c.variants.length ? [...new Set(c.variants.map((v) => buildOf(t, v.variant)))] : undefined,
    result_file: c.resultFile,
    evidence_dir: c.evidenceDir,
    qemu: c.qemu,
    digests: c.digests,
    run_started_at: t.run.startedAt,
    run_dir: t.run.outDir,
  });
}

/** The verdict's number: the reproduction rate k/R as a percentage. */
function rateNumber(rate: MatrixCellResult['rate']): KcidbNumber | undefined {
  return rate && rate.repeats > 0 ? { value: (100 * rate.reproduced) / rate.repeats, unit: '%' } : undefined;
}

/** The key numbers a variant reported itself: named after its role or variant ("unpatchedLost", "legacyMaxChunkBytes"). */
export function ownKeys(key: MatrixCellResult['key'], prefixes: string[]): MatrixCellResult['key'] {
  return Object.fromEntries(Object.entries(key).filter(([k]) => prefixes.some((p) => k.length > p.length && k.startsWith(p) && /[A-Z0-9]/.test(k[p.length]!))));
}

/**
 * The one number KCIDB holds per test: B5's bound on the hang rate when there is one, else the
 * variant's first number. Its unit from its name: …Bytes and …Rcvbuf are bytes, …Ms milliseconds (as
 * seconds), …KiB kibibytes (as bytes); the rest are counts or ratios (no unit: dimensionless).
 */
export function mainNumber(own: MatrixCellResult['key']): { key: string; number: KcidbNumber } | undefined {
  const numeric = Object.entries(own).filter((e): e is [string, number] => typeof e[1] === 'number');
  const [key, value] = numeric.find(([k]) => k.endsWith('UpperBound95')) ?? numeric[0] ?? [];
  if (key === undefined || value === undefined) return undefined;
  return { key, number: withUnit(key, value) };
}

function withUnit(name: string, value: number): KcidbNumber {
  if (/(Bytes|Rcvbuf)$/.test(name)) return { value, unit: 'B', prefix: 'binary' };
  if (name.endsWith('KiB')) return { value: value * 1024, unit: 'B', prefix: 'binary' };
  if (name.endsWith('Ms')) return { value: value / 1000, unit: 's', prefix: 'metric' };
  return { value };
}
