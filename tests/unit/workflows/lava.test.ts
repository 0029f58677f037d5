import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readCpio, writeCpio } from '../../../lab/formats/cpio.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { qemuContext, qemuJob, readJob, type JobInput } from '../../../lab/workflows/lava/job.ts';
import { lavaRamdisk } from '../../../lab/workflows/lava/ramdisk.ts';
import { cellsInResults, lavaCell, parseDispatcherLog, parseLavaResults, parseServerResults } from '../../../lab/workflows/lava/results.ts';
import { removeJobLeftovers } from '../../../lab/workflows/lava/run.ts';
import { sampleManifest } from '../../helpers.ts';

const FIXTURES = path.join(repoRoot, 'tests', 'fixtures', 'lava');
const fixture = (name: string) => fs.readFile(path.join(FIXTURES, name), 'utf8');
const cell = { target: 'mips-malta16k-3.10-uclibc', scenario: 'getifaddrs', roles: ['unpatched', 'patched'], repeats: 1 };

describe('LAVA results read back into verdicts', () => {
  it("a real dispatcher log: each variant's case, its tagged measurement and the guest's symptom", async () => {
    const r = parseDispatcherLog(await fixture('lava-run-malta16k-getifaddrs.txt'));
    expect(r.job).toEqual({ result: 'pass' });
    expect(r.cases.find((c) => c.name === 'unpatched')).toMatchObject({ definition: '0_getifaddrs', result: 'fail', measurement: 1, units: 'repeats-with-symptom' });
    const c = lavaCell(r, cell);
    expect(c.verdict).toBe('CONFIRMED');
    expect(c.error).toBeUndefined();
    expect(c.variants.map((v) => [v.role, v.outcome, v.symptom])).toEqual([['unpatched', 'FAIL', 'errno=EBUSY'], ['patched', 'PASS', '52 links, 112 addresses, all present']]);
    expect(c.rate).toEqual({ reproduced: 1, repeats: 1, errors: 0 });
    expect(c.key).toEqual({});
    // A measured case beside the variants' is a key number of the cell.
    const withKey = parseDispatcherLog(`${await fixture('lava-run-malta16k-getifaddrs.txt')}\n{"dt": "x", "lvl": "results", "msg": {"case": "maxChunkBytes", "definition": "0_getifaddrs", "measurement": ! "3840.0", "result": "pass", "units": "bytes"}}`);
    expect(lavaCell(withKey, cell).key).toEqual({ maxChunkBytes: 3840 });
  });

  it("QEMU that exits at start: ERROR with LAVA's class and message, never a FAIL", async () => {
    const r = parseLavaResults('x.log', await fixture('lava-run-qemu-exits.txt'));
    expect(r.job).toEqual({ result: 'fail', errorType: 'Infrastructure', errorMessage: 'Connection closed' });
    const c = lavaCell(r, cell);
    expect(c.verdict).toBe('ERROR');
    expect(c.variants.every((v) => v.outcome === 'ERROR')).toBe(true);
    expect(c.error).toBe('its test shell did not finish (no verdict case): lava Infrastructure error: Connection closed');
  });

  it('a test shell that timed out after the unpatched case: ERROR, the case that ran is kept', async () => {
    const lines = (await fixture('lava-run-malta16k-getifaddrs.txt')).split('\n').filter((l) => !/"case": "(patched|verdict|job)"|VERDICT|r1 patched/.test(l));
    lines.push('{"dt": "2026-12-06T19:28:51", "lvl": "results", "msg": {"case": "job", "definition": "lava", "error_msg": "lava-test-shell timed out after 600 seconds", "error_type": "Test", "result": "fail"}}');
    const c = lavaCell(parseDispatcherLog(lines.join('\n')), cell);
    expect(c.verdict).toBe('ERROR');
    expect(c.variants.map((v) => v.outcome)).toEqual(['FAIL', 'ERROR']);
    expect(c.variants[1]!.symptom).toBe('no patched case: lava Test error: lava-test-shell timed out after 600 seconds');
  });

  it("the guest's verdict line and the cases disagree: ERROR, not either of them", async () => {
    const text = (await fixture('lava-run-malta16k-getifaddrs.txt')).replace('VERDICT CONFIRMED', 'VERDICT NOT_REPRODUCED');
    const c = lavaCell(parseDispatcherLog(text), cell);
    expect(c.verdict).toBe('ERROR');
    expect(c.error).toMatch(/disagree/);
  });

  it("a case LAVA marked unknown (the lab's ERROR in the guest) is an ERROR; a log cut mid-line is read up to it", async () => {
    const text = (await fixture('lava-run-malta16k-getifaddrs.txt')).replace('"case": "patched", "definition": "0_getifaddrs", "endtc": ! "353", "measurement": ! "0.0", "result": "pass"', '"case": "patched", "definition": "0_getifaddrs", "endtc": ! "353", "measurement": ! "0.0", "result": "unknown"');
    const c = lavaCell(parseDispatcherLog(`${text}\n{"dt": "2026-12-06T19:28:52", "lvl": "resu`), cell);
    expect(c.variants[1]!.outcome).toBe('ERROR');
    expect(c.verdict).toBe('ERROR');
  });

  // The shape lavacli results JOB --yaml prints (LAVA's docs: suite, name, result, measurement, unit, metadata).
  const SERVER = [
    '- {id: 11, job: 42, suite: 0_dump-read, name: unpatched, result: fail, measurement: "1.0000000000", unit: repeats-with-symptom, level: ""}',
    '- {id: 12, job: 42, suite: 0_dump-read, name: patched, result: pass, measurement: "0.0000000000", unit: repeats-with-symptom}',
    '- {id: 13, job: 42, suite: 0_dump-read, name: verdict, result: pass, measurement: "1.0000000000", unit: repeats-reproduced}',
    '- {id: 14, job: 42, suite: lava, name: job, result: pass, metadata: {definition: lava, case: job, result: pass}}',
  ].join('\n');

  it("a server's results YAML: the same verdict (no guest log: the symptom says which case it was)", () => {
    const r = parseLavaResults('results.yaml', SERVER);
    const c = lavaCell(r, { target: 'arm-versatile-6.1-glibc', scenario: 'dump-read', roles: ['unpatched', 'patched'], repeats: 1 });
    expect(c.verdict).toBe('CONFIRMED');
    expect(c.variants[0]!.symptom).toBe('lava-test-case unpatched: fail');
    expect(c.rate.reproduced).toBe(1);
    const infra = parseServerResults('r.yaml', '- {suite: lava, name: job, result: fail, metadata: {error_type: Infrastructure, error_msg: "Connection closed"}}');
    expect(lavaCell(infra, { ...cell, scenario: 'dump-read' }).error).toMatch(/: lava Infrastructure error: Connection closed$/);
    expect(() => parseServerResults('r.yaml', 'just: a mapping')).toThrow(/not a LAVA results list/);
  });
});

/** Every awk the host has: the guest runs busybox's, a farm's dispatcher may show any. */
async function awks(): Promise<string[][]> {
  const found: string[][] = [];
  for (const a of [['mawk'], ['gawk'], ['busybox', 'awk']]) if ((await execa(a[0]!, [...a.slice(1), 'BEGIN{}'], { reject: false })).exitCode === 0) found.push(a);
  return found;
}

async function cases(verdictText: string, vars: Record<string, string>): Promise<string[]> {
  const outs: string[] = [];
  for (const a of await awks()) {
    const args = Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
    const r = await execa(a[0]!, [...a.slice(1), ...args, '-f', path.join(repoRoot, 'images', 'lava', 'cases.awk')], { input: verdictText });
    outs.push(r.stdout);
  }
  expect(outs.length).toBeGreaterThan(0);
  for (const o of outs) expect(o).toBe(outs[0]);
  return outs[0]!.split('\n');
}

describe('LAVA results that cannot be taken as they are', () => {
  it('two runs in one log (a reused directory): ERROR, not the first run\'s verdict', async () => {
    const text = await fixture('lava-run-malta16k-getifaddrs.txt');
    const c = lavaCell(parseDispatcherLog(`${text}\n${text}`), cell);
    expect(c.verdict).toBe('ERROR');
    expect(c.error).toMatch(/reported the case unpatched twice/);
  });

  it('a shell that stopped after the unpatched case, read without the job: ERROR with the class, not NOT_REPRODUCED', async () => {
    const lines = (await fixture('lava-run-malta16k-getifaddrs.txt')).split('\n').filter((l) => !/"case": "(patched|verdict|job)"|VERDICT|r1 patched|JUDGED r1 unpatched/.test(l)).map((l) => l.replace('"result": "fail"', '"result": "pass"'));
    lines.push('{"dt": "x", "lvl": "results", "msg": {"case": "job", "definition": "lava", "error_msg": "lava-test-shell timed out after 600 seconds", "error_type": "Test", "result": "fail"}}');
    const r = parseDispatcherLog(lines.join('\n'));
    const [only] = cellsInResults(r, cell.target);
    expect(only!.roles).toEqual(['unpatched']);
    const c = lavaCell(r, { ...only!, repeats: 1 });
    expect(c.verdict).toBe('ERROR');
    expect(c.error).toBe('its test shell did not finish (no verdict case): lava Test error: lava-test-shell timed out after 600 seconds');
  });

  it("a server's verdict-<name> case must agree with the variants' cases", () => {
    const text = ['- {suite: 0_dump-read, name: unpatched, result: pass}', '- {suite: 0_dump-read, name: patched, result: pass}', '- {suite: 0_dump-read, name: verdict, result: pass}', '- {suite: 0_dump-read, name: verdict-confirmed, result: pass}'].join('\n');
    const c = lavaCell(parseServerResults('r.yaml', text), { ...cell, scenario: 'dump-read' });
    expect(c.verdict).toBe('ERROR');
    expect(c.error).toMatch(/guest's verdict \(CONFIRMED\) and the variants' test cases \(NOT_REPRODUCED\) disagree/);
  });

  it("what a server file cannot be: the REST API's numbered suites, a YAML alias bomb, a cut-off document (exit 2, naming the file)", () => {
    expect(() => parseServerResults('rest.json', '{"results": [{"suite": 7, "name": "unpatched", "result": "fail"}]}')).toThrow(/rest.json: its suites are numbers/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]'].join('\n');
    expect(() => parseServerResults('bomb.yaml', bomb)).toThrow(/bomb.yaml: not valid YAML/);
    expect(() => parseServerResults('cut.yaml', '- {suite: 0_dump-read, name: unpatched, result: fail}\n- {suite: 0_dump-read, name: patch')).toThrow(/cut.yaml: not valid YAML/);
  });

  it('a job handed back: each reprolab field of its metadata is checked, naming it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-lava-job-'));
    const write = async (meta: string) => {
      const f = path.join(dir, 'job.yaml');
      await fs.writeFile(f, `device_type: qemu\ncontext: {memory: 128}\ntimeouts: {job: {minutes: 19}}\nmetadata: {${meta}}\n`);
      return f;
    };
    const good = "reprolab.target: arm-versatile-3.10-uclibc, reprolab.scenario: getifaddrs, reprolab.variants: 'unpatched:unpatched patched:patched', reprolab.repeats: '2', reprolab.expected: NOT_REPRODUCED";
    expect(await readJob(await write(good))).toEqual({ deviceType: 'qemu', memory: 128, jobMinutes: 19, cell: { target: 'arm-versatile-3.10-uclibc', scenario: 'getifaddrs', roles: ['unpatched', 'patched'], repeats: 2, expected: 'NOT_REPRODUCED' } });
    await expect(readJob(await write(good.replace('getifaddrs', '../etc')))).rejects.toThrow(/metadata.reprolab.scenario is not what lava export writes/);
    await expect(readJob(await write(good.replace('NOT_REPRODUCED', 'GREEN')))).rejects.toThrow(/metadata.reprolab.expected/);
    await expect(readJob(await write(good.replace("'unpatched:unpatched patched:patched'", "'evil:x'")))).rejects.toThrow(/metadata.reprolab.variants/);
  });
});

describe('cases.awk: the judgement as lava-test-case calls', () => {
  const both = { ROLES: 'unpatched patched', EXPECTED: 'CONFIRMED' };
  it('CONFIRMED: unpatched fail, patched pass, the verdict as expected', async () => {
    const v = ['REPROLAB-PACK-JUDGED r1 unpatched FAIL errno=EBUSY', 'REPROLAB-PACK-JUDGED r1 patched PASS all present', 'VERDICT CONFIRMED (unpatched showed the symptom in 1/1 repeats)'].join('\n');
    expect(await cases(v, both)).toEqual([
      'lava-test-case unpatched --result fail --measurement 1 --units repeats-with-symptom',
      'lava-test-case patched --result pass --measurement 0 --units repeats-with-symptom',
      'lava-test-case verdict --result pass --measurement 1 --units repeats-reproduced',
      'lava-test-case verdict-confirmed --result pass',
    ]);
    expect((await cases(v, { ...both, REPEATS: '1' })).at(-1)).toBe('lava-test-case repeats --result pass --measurement 1 --units repeats');
  });

  it('an ERROR in any repeat makes the variant unknown; another verdict than expected fails the verdict case', async () => {
    const v = ['REPROLAB-PACK-JUDGED r1 unpatched FAIL x', 'REPROLAB-PACK-JUDGED r2 unpatched ERROR y', 'REPROLAB-PACK-JUDGED r1 patched PASS', 'REPROLAB-PACK-JUDGED r2 patched PASS', 'VERDICT ERROR (unpatched showed the symptom in 1/2 repeats)'].join('\n');
    const out = await cases(v, both);
    expect(out[0]).toMatch(/^lava-test-case unpatched --result unknown /);
    expect(out[2]).toMatch(/^lava-test-case verdict --result unknown /);
    const nr = ['REPROLAB-PACK-JUDGED r1 unpatched PASS', 'REPROLAB-PACK-JUDGED r1 patched PASS', 'VERDICT NOT_REPRODUCED (unpatched showed the symptom in 0/1 repeats)'].join('\n');
    expect((await cases(nr, both))[2]).toMatch(/^lava-test-case verdict --result fail /);
  });

  it("the scenario's key numbers from the variants' result lines become measured cases, with units", async () => {
    const v = ['  r1 unpatched: REPROLAB-FLAT probe="sockdiag" ok=true sockets=501 maxChunkBytes=3840', '  r1 patched: REPROLAB-FLAT probe="sockdiag" ok=true sockets=501 maxChunkBytes=4096', 'REPROLAB-PACK-JUDGED r1 unpatched PASS', 'REPROLAB-PACK-JUDGED r1 patched PASS', 'VERDICT NOT_REPRODUCED (unpatched showed the symptom in 0/1 repeats)'].join('\n');
    const out = await cases(v, { ...both, EXPECTED: 'NOT_REPRODUCED', KEYS: 'legacyMaxChunkBytes=unpatched.maxChunkBytes maxChunkBytes=patched.maxChunkBytes readOnce=unpatched.sockets missing=patched.nothing' });
    expect(out.slice(4)).toEqual([
      'lava-test-case legacyMaxChunkBytes --result pass --measurement 3840 --units bytes',
      'lava-test-case maxChunkBytes --result pass --measurement 4096 --units bytes',
      'lava-test-case readOnce --result pass --measurement 501 --units count',
    ]);
  });

  it('no judgement at all (guest.sh died): every role and the verdict unknown, never pass', async () => {
    expect((await cases('', both)).map((l) => l.split(' ').slice(1, 4).join(' '))).toEqual(['unpatched --result unknown', 'patched --result unknown', 'verdict --result unknown']);
  });
});

describe('LAVA jobs for the qemu device type', () => {
  const input = (m = sampleManifest()): JobInput => ({ target: m.target, scenario: { name: 'getifaddrs', bug: 'B1' }, manifest: m, artifacts: { kernel: 'file:///a/zImage', ramdisk: 'file:///a/ramdisk.cpio.gz', ramdiskBytes: 2_000_000 }, test: {}, minutes: { boot: 4, test: 10 }, metadata: {} });

  it("the job context gives QEMU what qemu.jinja2 does not: mipsel's machine and cpu, the USB controller, no way out of the user network", () => {
    const arm = qemuContext(sampleManifest());
    expect(arm).toMatchObject({ arch: 'arm', machine: 'versatilepb', cpu: 'arm926', memory: 256, model: 'model=smc91c111', netdevice: 'user,restrict=on', no_kvm: 'True' });
    expect(arm['extra_options']).toEqual(['-device pci-ohci,num-ports=15,id=usbhc', '-vga none', '-no-reboot']);
    const mipsel = qemuContext({ ...sampleManifest(), arch: 'mipsel', qemu: { binary: 'qemu-system-mipsel', machine: 'malta', cpu: '24Kf', memoryMiB: 256, nic: 'pcnet', usb: 'pci-ohci' } });
    expect(mipsel['extra_options']).toEqual(['-machine malta', '-cpu 24Kf', '-device pci-ohci,id=usbhc', '-vga none', '-no-reboot']);
  });

  it('malta + 3.10 (rootfs linked in): the ramdisk is loaded low and named on the command line, not given to -initrd', () => {
    const m = sampleManifest();
    const malta = { ...m, arch: 'mipsel' as const, kernel: { ...m.kernel, initramfs: 'builtin' as const, image: 'images/vmlinux' } };
    const images = ((qemuJob(input(malta))['actions'] as Record<string, { images?: Record<string, { image_arg: string }> }>[])[0]!['deploy']!.images)!;
    expect(images['initrd']!.image_arg).toBe('-device loader,file={initrd},addr=0x2000000,force-raw=on');
    expect(images['kernel']!.image_arg).toBe('-kernel {kernel} -append "console=ttyAMA0 panic=1 rd_start=0x82000000 rd_size=10485760"');
    const ext = ((qemuJob(input())['actions'] as Record<string, { images?: Record<string, { image_arg: string }> }>[])[0]!['deploy']!.images)!;
    expect(ext['initrd']!.image_arg).toBe('-initrd {initrd}');
  });

  it("a product's command line or QEMU option LAVA cannot quote is refused, naming the target and field", () => {
    expect(() => qemuJob(input({ ...sampleManifest('product'), cmdline: 'console=ttyAMA0 x="y"' }))).toThrow(/product: its kernel command line .* cannot quote/);
    const m = sampleManifest('product');
    expect(() => qemuContext({ ...m, qemu: { ...m.qemu, cpu: 'arm926 -drive file=/etc/shadow' } })).toThrow(/product: qemu.cpu .* is not one word/);
  });

  it('an interrupted job: every process naming its dispatcher folder is killed (QEMU runs in a session of its own)', async () => {
    const proc = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-proc-'));
    const child = execa('sleep', ['300'], { reject: false });
    await fs.mkdir(path.join(proc, String(child.pid)));
    await fs.writeFile(path.join(proc, String(child.pid), 'cmdline'), 'qemu-system-arm\0-kernel\0/var/lib/lava/dispatcher/tmp/4711/deployimages-x/kernel/zImage\0');
    await fs.mkdir(path.join(proc, '1'));
    await fs.writeFile(path.join(proc, '1', 'cmdline'), 'init\0');
    removeJobLeftovers(4711, proc);
    expect((await child).signal).toBe('SIGKILL');
  });

  it("the ramdisk is the rootfs with the scenarios' scripts and both awk programs added into one archive", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-lava-rd-'));
    await fs.mkdir(path.join(dir, 'images'));
    await fs.writeFile(path.join(dir, 'images', 'rootfs.cpio'), writeCpio([{ kind: 'dir', path: '/opt', mode: 0o755 }, { kind: 'dir', path: '/opt/reprolab', mode: 0o755 }, { kind: 'file', path: '/init', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }, { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 }]));
    const gz = await lavaRamdisk({ bundleDir: dir, rootfs: 'images/rootfs.cpio', scripts: new Map([['getifaddrs', 'echo hi\n']]) });
    const { entries } = readCpio(gunzipSync(gz));
    expect(entries.map((e) => e.path)).toEqual(['/dev/console', '/init', '/opt', '/opt/reprolab', '/opt/reprolab/lava', '/opt/reprolab/lava/cases.awk', '/opt/reprolab/lava/getifaddrs.sh', '/opt/reprolab/lava/judge.awk']);
    expect(entries.find((e) => e.path === '/opt/reprolab/lava/getifaddrs.sh')).toMatchObject({ kind: 'file', mode: 0o755, data: Buffer.from('echo hi\n') });
    await expect(lavaRamdisk({ bundleDir: dir, rootfs: '../../etc/passwd', scripts: new Map() })).rejects.toThrow(/not inside the bundle/);
  });
});
