import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BundleManifest } from '../../../lab/model/manifest.ts';
import { kcidbReport, libcBuilds, type KcidbOptions, type KcidbReport, type KcidbTest } from '../../../lab/report/kcidb.ts';
import { armManifest, everyVerdictRun, RUN_DIR } from './kcidb-fixture.ts';

/*
 * The rules below are taken by hand from the documentation of KCIDB v5.3 (kcidb-io's
 * kcidb_io/schema/v05_03.py and the versions it builds on). The schema itself is GPL and stays out of
 * this repository; kcidb-schema.test.ts checks real output against it when it is in the cache.
 * - The top level holds only version, checkouts, builds, tests, issues and incidents; version.major is 5,
 *   version.minor at most 3.
 * - Every object has additionalProperties false: only the properties the schema lists (KNOWN).
 * - Required: a checkout's id and origin; a build's checkout_id, id and origin; a test's build_id, id, origin.
 * - origin matches ^[a-z0-9_]+$; every id and *_id ^[a-z0-9_]+:[^\0]*$ ("the origin, a colon, then
 *   anything that identifies the object among those of the same type from that origin").
 * - A test path matches ^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$ (dot-separated; "" is the root).
 * - A status is one of FAIL ERROR MISS PASS DONE SKIP.
 * - A resource is {name, url}, name ^[^/\0]+$ (a file name, no directories), url a URI.
 * - patchset_hash matches ^$|^[0-9a-f]{64}$: sha256 over each patch's sha256 and a newline, "" for none.
 * - number is {value, unit?, prefix?} with prefix metric or binary; environment {compatible?, comment?, misc?}.
 * - architecture matches ^[a-z0-9_]*$; log_excerpt is at most 16384 characters; text has no NUL.
 * - No property may be null.
 */
const KNOWN = {
  top: ['version', 'checkouts', 'builds', 'tests', 'issues', 'incidents'],
  version: ['major', 'minor'],
  checkout: [
    '_timestamp', 'id', 'origin', 'tree_name', 'git_repository_url', 'git_commit_hash', 'git_commit_name', 'git_commit_tags', 'git_commit_message', 'git_repository_branch',
    'git_repository_branch_tip', 'patchset_files', 'patchset_hash', 'message_id', 'comment', 'start_time', 'origin_builds_finish_time', 'origin_tests_finish_time', 'log_url',
    'log_excerpt', 'valid', 'misc',
  ],
  build: [
    '_timestamp', 'checkout_id', 'id', 'origin', 'comment', 'start_time', 'duration', 'architecture', 'command', 'compiler', 'input_files', 'output_files', 'config_name',
    'config_url', 'log_url', 'log_excerpt', 'status', 'misc',
  ],
  test: ['_timestamp', 'build_id', 'id', 'origin', 'environment', 'path', 'comment', 'log_url', 'log_excerpt', 'status', 'number', 'start_time', 'duration', 'input_files', 'output_files', 'misc'],
  environment: ['compatible', 'comment', 'misc'],
  number: ['value', 'unit', 'prefix'],
  resource: ['name', 'url'],
};
const REQUIRED = { checkout: ['id', 'origin'], build: ['checkout_id', 'id', 'origin'], test: ['build_id', 'id', 'origin'] };
const ORIGIN = /^[a-z0-9_]+$/;
const ID = /^[a-z0-9_]+:[^\0]*$/;
const PATH = /^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$/;
const STATUSES = ['FAIL', 'ERROR', 'MISS', 'PASS', 'DONE', 'SKIP'];
const TEXT = ['tree_name', 'comment', 'compiler', 'config_name', 'log_excerpt', 'command'];

type Obj = Record<string, unknown>;

function nulls(x: unknown, at: string, out: string[]): void {
  if (x === null) out.push(`${at} is null`);
  else if (typeof x === 'object') for (const [k, v] of Object.entries(x as Obj)) nulls(v, `${at}.${k}`, out);
}

/** Every way `doc` breaks the rules above, one line each. */
function ruleBreaks(doc: KcidbReport, origin = 'reprolab'): string[] {
  const out: string[] = [];
  const only = (o: Obj, known: string[], at: string) => {
    for (const k of Object.keys(o)) if (!known.includes(k)) out.push(`${at}: unknown property ${k}`);
  };
  only(doc as unknown as Obj, KNOWN.top, 'top');
  only(doc.version, KNOWN.version, 'version');
  if (doc.version.major !== 5 || doc.version.minor !== 3) out.push(`version ${JSON.stringify(doc.version)}`);
  nulls(doc, 'doc', out);
  const object = (kind: 'checkout' | 'build' | 'test', o: Obj, i: number) => {
    const at = `${kind}s[${i}]`;
    only(o, KNOWN[kind], at);
    for (const r of REQUIRED[kind]) if (o[r] === undefined) out.push(`${at}: ${r} missing`);
    if (!ORIGIN.test(String(o['origin'])) || o['origin'] !== origin) out.push(`${at}: origin ${String(o['origin'])}`);
    for (const k of ['id', 'checkout_id', 'build_id']) if (k in o && (!ID.test(String(o[k])) || !String(o[k]).startsWith(`${origin}:`))) out.push(`${at}: ${k} ${String(o[k])}`);
    if ('status' in o && !STATUSES.includes(String(o['status']))) out.push(`${at}: status ${String(o['status'])}`);
    for (const k of TEXT) if (typeof o[k] === 'string' && (o[k] as string).includes('\0')) out.push(`${at}: NUL in ${k}`);
    if (typeof o['log_excerpt'] === 'string' && o['log_excerpt'].length > 16384) out.push(`${at}: log_excerpt too long`);
    for (const k of ['patchset_files', 'input_files', 'output_files']) for (const r of (o[k] as Obj[] | undefined) ?? []) resource(r, `${at}.${k}`);
    for (const k of ['log_url', 'config_url']) if (k in o && !isUri(o[k])) out.push(`${at}: ${k} not a URI`);
    if ('misc' in o && (typeof o['misc'] !== 'object' || Array.isArray(o['misc']))) out.push(`${at}: misc not an object`);
  };
  const resource = (r: Obj, at: string) => {
    only(r, KNOWN.resource, at);
    if (!/^[^/\0]+$/.test(String(r['name'])) || !isUri(r['url'])) out.push(`${at}: resource ${JSON.stringify(r)}`);
  };
  doc.checkouts.forEach((c, i) => {
    object('checkout', c as unknown as Obj, i);
    if (c.patchset_hash !== undefined && !/^$|^[0-9a-f]{64}$/.test(c.patchset_hash)) out.push(`checkouts[${i}]: patchset_hash ${c.patchset_hash}`);
  });
  doc.builds.forEach((b, i) => {
    object('build', b as unknown as Obj, i);
    if (b.architecture !== undefined && !/^[a-z0-9_]*$/.test(b.architecture)) out.push(`builds[${i}]: architecture ${b.architecture}`);
  });
  doc.tests.forEach((t, i) => {
    object('test', t as unknown as Obj, i);
    if (!PATH.test(t.path)) out.push(`tests[${i}]: path ${t.path}`);
    if (t.environment) only(t.environment, KNOWN.environment, `tests[${i}].environment`);
    if (t.number) {
      only(t.number as unknown as Obj, KNOWN.number, `tests[${i}].number`);
      if (typeof t.number.value !== 'number' || (t.number.prefix !== undefined && !['metric', 'binary'].includes(t.number.prefix))) out.push(`tests[${i}]: number ${JSON.stringify(t.number)}`);
    }
  });
  return out;
}

function isUri(u: unknown): boolean {
  try {
    return typeof u === 'string' && /^[a-z][a-z0-9+.-]*:/.test(u) && !!new URL(u);
  } catch {
    return false;
  }
}

const ORIGIN_OPTS: KcidbOptions = { origin: 'reprolab' };
const withManifest = (): KcidbOptions => ({
  origin: 'reprolab',
  manifests: new Map<string, BundleManifest>([['k-arm', armManifest()]]),
  buildLogs: new Map([[`${RUN_DIR}/arm-a/build-logs`, ['kernel.log', 'uclibc-unpatched.log', 'uclibc-patched.log', 'probes-patched.log', 'probes-unpatched-shared.log', 'tools.log']]]),
  patchRoot: '/lab',
});

const test = (doc: KcidbReport, target: string, path: string): KcidbTest => {
  const t = doc.tests.find((x) => x.misc['target'] === target && x.path === path);
  if (!t) throw new Error(`no test ${path} on ${target}: ${doc.tests.map((x) => `${String(x.misc['target'])} ${x.path}`).join(', ')}`);
  return t;
};

describe('KCIDB export: the schema rules', () => {
  it('a run with every verdict, ERRORs, a skipped cell and skipped and failed targets keeps every rule, with and without the bundle manifests', () => {
    for (const o of [ORIGIN_OPTS, withManifest(), { ...withManifest(), origin: 'my_lab2' }]) {
      const doc = kcidbReport([everyVerdictRun()], o);
      expect(ruleBreaks(doc, o.origin)).toEqual([]);
      // Every reference points at an object of the report.
      const checkouts = new Set(doc.checkouts.map((c) => c.id));
      const builds = new Set(doc.builds.map((b) => b.id));
      expect(doc.builds.filter((b) => !checkouts.has(b.checkout_id))).toEqual([]);
      expect(doc.tests.filter((t) => !builds.has(t.build_id))).toEqual([]);
      const ids = [...doc.checkouts, ...doc.builds, ...doc.tests].map((x) => x.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('counts: a test per target × scenario × variant and one verdict per cell; a build per target and libc; kernel and libc checkouts', () => {
    const r = everyVerdictRun();
    const doc = kcidbReport([r], ORIGIN_OPTS);
    expect(doc.tests).toHaveLength(r.cells.length + r.cells.reduce((n, c) => n + c.variants.length, 0));
    // arm-a: unpatched + patched; arm-glibc: system; mips-b and mips-c: one unnamed baseline each.
    expect(doc.builds.map((b) => `${String(b.misc['target'])}/${String(b.misc['libc_variant'])}`)).toEqual(['arm-a/unpatched', 'arm-a/patched', 'arm-glibc/system', 'mips-b/baseline', 'mips-c/baseline']);
    expect(doc.checkouts).toHaveLength(5 + 4);
  });

  it('a broken exporter is caught: an unknown property, a bad path and a null each break a rule', () => {
    const doc = kcidbReport([everyVerdictRun()], ORIGIN_OPTS);
    const bad = JSON.parse(JSON.stringify(doc)) as KcidbReport;
    (bad.tests[0] as unknown as Obj)['verdict'] = 'CONFIRMED';
    bad.tests[1]!.path = 'reprolab/getifaddrs';
    (bad.builds[0] as unknown as Obj)['comment'] = null;
    expect(ruleBreaks(bad)).toEqual(['doc.builds.0.comment is null', 'tests[0]: unknown property verdict', 'tests[1]: path reprolab/getifaddrs']);
  });
});

describe('KCIDB export: what each cell becomes', () => {
  const doc = kcidbReport([everyVerdictRun()], withManifest());

  it('maps each verdict to the status of the code that would ship, and a variant outcome to itself', () => {
    const verdicts = Object.fromEntries(doc.tests.filter((t) => t.path.split('.').length === 2).map((t) => [`${String(t.misc['target'])} ${t.path}`, `${String(t.misc['verdict'])} ${t.status}`]));
    expect(verdicts).toEqual({
      'arm-a reprolab.getifaddrs': 'CONFIRMED PASS',
      'arm-a reprolab.uevent': 'FIX_INEFFECTIVE FAIL',
      'arm-a reprolab.dump-read': 'PATCH_REGRESSION FAIL',
      'arm-a reprolab.dump-hang': 'NOT_REPRODUCED PASS',
      'arm-a reprolab.dump-buffer': 'ERROR ERROR',
      'arm-a reprolab.getifaddrs-mechanism': 'SKIPPED SKIP',
      'arm-glibc reprolab.getifaddrs': 'REPRODUCED FAIL',
      'arm-glibc reprolab.uevent': 'ERROR ERROR',
      'mips-b reprolab.getifaddrs': 'SKIPPED MISS',
      'mips-b reprolab.uevent': 'SKIPPED MISS',
      'mips-c reprolab.getifaddrs': 'ERROR ERROR',
    });
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs.unpatched').status).toBe('FAIL');
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs.patched').status).toBe('PASS');
    expect(test(doc, 'arm-a', 'reprolab.dump-read.patched').status).toBe('FAIL');
  });

  it('a lab ERROR is ERROR with its cause under misc and in the excerpt, never FAIL', () => {
    for (const t of doc.tests.filter((x) => x.misc['outcome'] === 'ERROR' || x.misc['verdict'] === 'ERROR')) {
      expect(t.status, t.path).toBe('ERROR');
      expect(String(t.misc['error']), t.path).toMatch(/USB stack stalled|no login prompt|build failed/);
      expect(t.log_excerpt, t.path).toBe(t.misc['error']);
      expect(t.number, t.path).toBeUndefined();
    }
    // The verdict's cause is the last attempt's error; the attempts are all there.
    const v = test(doc, 'arm-a', 'reprolab.dump-buffer');
    expect(v.misc['error']).toMatch(/\(again\)$/);
    expect(v.misc['attempts']).toHaveLength(2);
    expect(v.misc['retried']).toMatch(/retried once/);
    expect(test(doc, 'arm-glibc', 'reprolab.uevent').misc['error']).toBe('boot: no login prompt within 120 s');
  });

  it('skips: SKIP with the reason when the target ran, MISS when it could not run; a failed build is ERROR, a missing source MISS', () => {
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs-mechanism').misc['skip_reason']).toMatch(/not runnable on LAVA/);
    const builds = Object.fromEntries(doc.builds.map((b) => [`${String(b.misc['target'])}/${String(b.misc['libc_variant'])}`, b]));
    expect(Object.fromEntries(Object.entries(builds).map(([k, b]) => [k, b.status]))).toEqual({ 'arm-a/unpatched': 'PASS', 'arm-a/patched': 'PASS', 'arm-glibc/system': 'PASS', 'mips-b/baseline': 'MISS', 'mips-c/baseline': 'ERROR' });
    expect(builds['mips-b/baseline']!.misc['missing_sources']).toEqual([{ archive: 'linux-3.10.108.tar.xz', package: 'linux-3.10.108', fix: 'put it in ~/dl' }]);
    expect(builds['mips-c/baseline']!.misc['reason']).toBe('build failed: make exited 2');
  });

  it("paths are dotted, reprolab.<scenario>.<role> and reprolab.<scenario>; a libc variant's test is on its own build, a reader's and the verdict on the baseline's", () => {
    const unpatched = doc.builds.find((b) => b.misc['target'] === 'arm-a' && b.misc['libc_variant'] === 'unpatched')!.id;
    const patched = doc.builds.find((b) => b.misc['target'] === 'arm-a' && b.misc['libc_variant'] === 'patched')!.id;
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs.patched').build_id).toBe(patched);
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs.unpatched').build_id).toBe(unpatched);
    expect(test(doc, 'arm-a', 'reprolab.uevent.patched').build_id).toBe(unpatched);
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs').build_id).toBe(unpatched);
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs').misc['builds']).toEqual([unpatched, patched]);
  });

  it('numbers: the rate as a percentage for the verdict; a variant its own number with its unit (B5 its bound), the rest under misc', () => {
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs').number).toEqual({ value: 100, unit: '%' });
    expect(test(doc, 'arm-a', 'reprolab.dump-hang').number).toEqual({ value: 0, unit: '%' });
    expect(test(doc, 'arm-a', 'reprolab.dump-hang.unpatched').number).toEqual({ value: 0.0015 });
    expect(test(doc, 'arm-a', 'reprolab.dump-hang.unpatched').misc['number_key']).toBe('unpatchedUpperBound95');
    expect(test(doc, 'arm-a', 'reprolab.uevent.unpatched').number).toEqual({ value: 28 });
    expect(test(doc, 'arm-a', 'reprolab.uevent.unpatched').misc['key']).toEqual({ unpatchedLost: 28, unpatchedRcvbuf: 2224 });
    expect(test(doc, 'arm-a', 'reprolab.uevent.patched').misc['key']).toEqual({ patchedLost: 3, patchedRcvbuf: 8388608 });
    expect(test(doc, 'arm-a', 'reprolab.dump-read.unpatched').number).toEqual({ value: 3840, unit: 'B', prefix: 'binary' });
    // No number of its own: none invented; the cell's numbers are all on the verdict.
    expect(test(doc, 'arm-a', 'reprolab.getifaddrs.unpatched').number).toBeUndefined();
    expect(test(doc, 'arm-a', 'reprolab.uevent').misc['key']).toMatchObject({ uevents: 126, usbSettleMs: 3618 });
  });

  it('environment: the QEMU machine, CPU and memory, and the host', () => {
    const t = test(doc, 'arm-a', 'reprolab.getifaddrs.unpatched');
    expect(t.environment?.comment).toBe('QEMU machine versatilepb, CPU arm926, 256 MiB (qemu-system-arm) on vm');
    expect(t.environment?.misc).toMatchObject({ machine: 'versatilepb', cpu: 'arm926', memory_mib: 256, qemu_binary: 'qemu-system-arm', host: { hostname: 'vm' } });
  });

  it('links: evidence, console log and result.json as file URLs; a regression since the previous run is named', () => {
    const t = test(doc, 'arm-a', 'reprolab.getifaddrs.unpatched');
    expect(t.log_url).toBe(`file://${RUN_DIR}/arm-a/getifaddrs/r1-unpatched-unpatched.txt`);
    expect(t.output_files).toEqual([{ name: 'r2-unpatched-unpatched.txt', url: `file://${RUN_DIR}/arm-a/getifaddrs/r2-unpatched-unpatched.txt` }]);
    const v = test(doc, 'arm-a', 'reprolab.dump-read');
    expect(v.log_url).toBe(`file://${RUN_DIR}/arm-a/boot-1/console.log`);
    expect(v.output_files).toEqual([{ name: 'result.json', url: `file://${RUN_DIR}/arm-a/dump-read/result.json` }]);
    expect(v.misc['regression']).toMatchObject({ before: 'NOT_REPRODUCED', after: 'PATCH_REGRESSION' });
  });
});

describe('KCIDB export: checkouts, builds and ids', () => {
  it('the patch series is the patchset: its files, and the hash KCIDB documents (sha256sum *.patch | cut -c-64 | sha256sum)', () => {
    const doc = kcidbReport([everyVerdictRun()], withManifest());
    const m = armManifest();
    const hashOf = (patches: { sha256: string }[]) => createHash('sha256').update(patches.map((p) => `${p.sha256}\n`).join('')).digest('hex');
    const patched = doc.checkouts.find((c) => c.misc['target'] === 'arm-a' && c.misc['libc_variant'] === 'patched')!;
    expect(patched.patchset_hash).toBe(hashOf(m.libc.variants[1]!.patches));
    expect(patched.patchset_files?.map((f) => f.url)).toEqual(m.libc.variants[1]!.patches.map((p) => `file:///lab/${p.file}`));
    expect(patched.misc['source_sha256']).toBe('d'.repeat(64));
    const kernel = doc.checkouts.find((c) => c.misc['target'] === 'arm-a' && c.misc['component'] === 'kernel')!;
    expect(kernel.patchset_hash).toBe(hashOf(m.kernel.patches));
    expect(kernel.tree_name).toBe('linux-3.10.108');
    // The glibc target's bundle is not in the store: its digests, no patchset (unknown is not "no patches").
    const glibc = doc.checkouts.find((c) => c.misc['target'] === 'arm-glibc' && c.misc['component'] === 'kernel')!;
    expect(glibc.patchset_hash).toBeUndefined();
    expect(glibc.misc['source_sha256']).toBe('f'.repeat(64));
  });

  it("a build's log is its own libc step's; every log that exists, shared ones too, is under misc", () => {
    const doc = kcidbReport([everyVerdictRun()], withManifest());
    const build = (libc: string) => doc.builds.find((b) => b.misc['target'] === 'arm-a' && b.misc['libc_variant'] === libc)!;
    expect(build('patched').log_url).toBe(`file://${RUN_DIR}/arm-a/build-logs/uclibc-patched.log`);
    expect(build('patched').misc['logs']).toEqual(['uclibc-patched.log', 'probes-patched.log', 'kernel.log', 'tools.log'].map((n) => `${RUN_DIR}/arm-a/build-logs/${n}`));
    expect(build('unpatched').misc['logs']).toEqual(['uclibc-unpatched.log', 'probes-unpatched-shared.log', 'kernel.log', 'tools.log'].map((n) => `${RUN_DIR}/arm-a/build-logs/${n}`));
    expect(build('patched').compiler).toBe('gcc 12');
    expect(build('patched').architecture).toBe('arm');
    expect(doc.builds.find((b) => b.misc['target'] === 'arm-glibc')!.log_url).toBeUndefined();
  });

  it('ids are origin-prefixed and stable: the same run exported again, or with its bundles gone from the store, gives the same ids', () => {
    const ids = (d: KcidbReport) => [...d.checkouts, ...d.builds, ...d.tests].map((x) => x.id);
    const first = kcidbReport([everyVerdictRun()], withManifest());
    expect(ids(kcidbReport([everyVerdictRun()], withManifest()))).toEqual(ids(first));
    expect(ids(kcidbReport([everyVerdictRun()], ORIGIN_OPTS))).toEqual(ids(first));
    expect(ids(first).every((id) => id.startsWith('reprolab:'))).toBe(true);
    expect(ids(kcidbReport([everyVerdictRun()], { origin: 'other' })).every((id) => id.startsWith('other:'))).toBe(true);
    // Another run (another start time) has ids of its own; the same run given twice is exported once.
    const other = ids(kcidbReport([everyVerdictRun('2026-12-07T17:34:19.000Z')], ORIGIN_OPTS));
    expect(other.filter((id) => ids(first).includes(id))).toEqual([]);
    const both = kcidbReport([everyVerdictRun(), everyVerdictRun('2026-12-07T17:34:19.000Z'), everyVerdictRun()], ORIGIN_OPTS);
    expect(both.tests).toHaveLength(2 * first.tests.length);
  });

  it('a bad origin is refused with the option named', () => {
    expect(() => kcidbReport([everyVerdictRun()], { origin: 'Reprolab' })).toThrow(/--origin Reprolab: KCIDB wants lower-case letters, digits and '_'/);
  });

  it("a target's libc builds come from matrix.json: libc digests and libc variants, the baseline first; readers are none", () => {
    const r = everyVerdictRun();
    expect(libcBuilds(r.cells.filter((c) => c.target === 'arm-a'))).toEqual(['unpatched', 'patched']);
    expect(libcBuilds(r.cells.filter((c) => c.target === 'arm-glibc'))).toEqual(['system']);
    expect(libcBuilds(r.cells.filter((c) => c.target === 'arm-a' && c.scenario === 'uevent').map((c) => ({ ...c, digests: {} })))).toEqual(['baseline']);
  });
});
