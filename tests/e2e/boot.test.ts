/**
 * End-to-end: boot real bundles under real QEMU, drive them over real SSH and QMP.
 * Targets whose sources are absent report "skipped: <archive> not available".
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../lab/bundle/bundle.ts';
import { startGuest, type Guest } from '../../lab/guest/guest.ts';
import { LabError } from '../../lab/util/errors.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { buildTarget, dirs, skipReasonFor, targets } from './lab.ts';

const BUILD_AND_BOOT = 45 * 60_000;
const started: Guest[] = [];

afterAll(async () => {
  await Promise.all(started.map((g) => g.stop().catch(() => undefined)));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function boot(bundle: Bundle, extra: Partial<Parameters<typeof startGuest>[1]> = {}): Promise<Guest> {
  const g = await startGuest(bundle.dir, { dirs, ...extra });
  started.push(g);
  return g;
}

for (const target of targets) {
  const skip = skipReasonFor(target.name);
  describe(`boot ${target.name}`, () => {
    it.skipIf(!!skip)(skip ?? 'boots, runs the probes, moves files, answers QMP and stops cleanly', { timeout: BUILD_AND_BOOT }, async () => {
      const bundle = await buildTarget(target.name);
      const g = await boot(bundle);
      expect(g.kernelRelease).toBe(bundle.manifest.kernel.release);
      const uname = await g.exec(['uname', '-r']);
      expect(uname.exitCode).toBe(0);
      expect(uname.stdout.trim().startsWith(`${target.kernel.line}.`)).toBe(true);

      for (const v of bundle.manifest.libc.variants) {
        const r = await g.exec([`/opt/reprolab/probes/${v.variant}/ifaddrs-probe`]);
        const line = r.stdout.split('\n').find((l) => l.startsWith('REPROLAB-RESULT '));
        if (!line) throw new Error(`no result line from the ${v.variant} probe: ${r.stdout} ${r.stderr}`);
        const result = JSON.parse(line.slice('REPROLAB-RESULT '.length)) as { ok: boolean; libc: string; inet?: number; error?: string };
        expect(result.libc).toMatch(target.libc.kind === 'uclibc' ? /^uClibc 0\.9\.33/ : /^glibc 2\./);
        // The probe ran against the right libc; whether getifaddrs() succeeds is what
        // the scenarios judge (on 16K-page 3.10 uClibc it already fails with EBUSY).
        expect(r.exitCode).toBe(result.ok ? 0 : 1);
        if (result.ok) expect(result.inet).toBeGreaterThanOrEqual(2); // lo and eth0
        else expect(result.error).toMatch(/^E[A-Z]+$/);
        console.log(`${target.name} ${v.variant}: ${line}`);

        // uClibc: the dynamically linked probe resolves the variant's own libc.so.0 (uClibc's loader traces it like ldd).
        if (v.shared) {
          const trace = await g.exec(['env', 'LD_TRACE_LOADED_OBJECTS=1', `/opt/reprolab/probes/${v.variant}/shared/ifaddrs-probe`]);
          expect(trace.stdout, `${v.variant} shared probe`).toMatch(new RegExp(`libc\\.so\\.0 => ${v.shared.libDir}/libc\\.so\\.0`));
          const shared = await g.exec([`/opt/reprolab/probes/${v.variant}/shared/ifaddrs-probe`]);
          expect(shared.stdout).toMatch(/^REPROLAB-RESULT \{"probe":"ifaddrs","libc":"uClibc 0\.9\.33/m);
        }
      }
      // busybox and dropbear of a uClibc image are its own, linked against /lib/ld-uClibc.so.0.
      if (target.libc.kind === 'uclibc') {
        const trace = await g.exec(['env', 'LD_TRACE_LOADED_OBJECTS=1', '/usr/sbin/dropbear']);
        expect(trace.stdout).toMatch(/libc\.so\.0 => \/lib\/libc\.so\.0/);
      }

      // A file round-trips byte for byte.
      const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-'));
      const payload = randomBytes(200_000);
      await fs.writeFile(path.join(tmp, 'up.bin'), payload);
      await g.upload(path.join(tmp, 'up.bin'), '/tmp/payload.bin');
      const sum = await g.exec(['sh', '-c', 'wc -c < "$1"', 'sh', '/tmp/payload.bin']);
      expect(sum.stdout.trim()).toBe(String(payload.length));
      await g.download('/tmp/payload.bin', path.join(tmp, 'down.bin'));
      expect((await fs.readFile(path.join(tmp, 'down.bin'))).equals(payload)).toBe(true);

      // Arguments reach the guest exactly, whatever they contain.
      const hostile = `it's "quoted"; $(echo no) \`echo no\` * \\ end`;
      expect((await g.exec(['printf', '%s', hostile])).stdout).toBe(hostile);
      expect((await g.exec(['sh', '-c', 'exit 3'])).exitCode).toBe(3);

      expect(await g.qmp.execute('query-status')).toMatchObject({ status: 'running' });

      const pid = g.vm.pid;
      await g.stop();
      expect(alive(pid)).toBe(false);
      console.log(`${target.name}: /init marker ${g.times.readyMs} ms, SSH ${g.times.sshMs} ms after QEMU start`);
    });
  });
}

/** Runs `reprolab exec <target> -- sleep 60` and resolves once it reports its qemu pid. */
async function labRunningQemu(target: string) {
  const child = execa(path.join(repoRoot, 'reprolab'), ['exec', target, '--', 'sleep', '60'], { reject: false, buffer: true });
  const qemuPid = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /qemu pid (\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    void child.then(() => reject(new Error(`exited before starting qemu: ${text}`)));
  });
  return { child, qemuPid };
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 30 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

// The always-available target for failure and lifetime tests (Debian sources, built in CI).
const quick = 'arm-versatile-6.1-glibc';

describe('guest failures and lifetime', () => {
  it('a broken boot is a clear error with the console tail, within the timeout', { timeout: BUILD_AND_BOOT }, async () => {
    const bundle = await buildTarget(quick);
    const t0 = Date.now();
    const err = await boot(bundle, { extraCmdline: ['rdinit=/nonexistent'], readyTimeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    const e = err as LabError;
    expect(e.message).toMatch(/guest did not become ready: (kernel panic|QEMU exited)/);
    expect(e.message).toContain('|'); // the console tail
    expect(e.logPath).toMatch(/console\.log$/);
    expect(await fs.readFile(e.logPath!, 'utf8')).toMatch(/Kernel panic/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('a guest that never gets ready is an error after the timeout, not a hang', { timeout: BUILD_AND_BOOT }, async () => {
    const bundle = await buildTarget(quick);
    // /bin/sh as init: the kernel boots, but /init never prints the marker.
    const err = await boot(bundle, { extraCmdline: ['rdinit=/bin/sh'], readyTimeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toContain('no REPROLAB-READY line within 15 s');
  });

  it('a guest command that times out is killed in the guest, with what it started', { timeout: BUILD_AND_BOOT }, async () => {
    const bundle = await buildTarget(quick);
    const g = await boot(bundle);
    const sleepers = async () => (await g.exec(['sh', '-c', 'for c in /proc/[0-9]*/cmdline; do tr "\\0" " " < $c; echo; done 2>/dev/null | grep -c "^sleep 30[01]" || true'])).stdout.trim();
    const err = await g.exec(['sh', '-c', 'sleep 300 & sleep 301'], { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/guest command timed out after 2000 ms: sh -c/);
    // Closing the channel alone left both sleeps running; the lab kills the shell and its children.
    expect(await sleepers()).toBe('0');
    // A command's stderr is its own: the lab's pid line never shows.
    const r = await g.exec(['sh', '-c', 'echo oops >&2']);
    expect(r.stderr).toBe('oops\n');
    await g.stop();
  });

  it('two guests at once are driven independently', { timeout: BUILD_AND_BOOT }, async () => {
    const bundle = await buildTarget(quick);
    const [a, b] = await Promise.all([boot(bundle), boot(bundle)]);
    expect(a.vm.sshPort).not.toBe(b.vm.sshPort);
    expect(a.vm.pid).not.toBe(b.vm.pid);
    await a.exec(['sh', '-c', 'echo A > /tmp/who']);
    await b.exec(['sh', '-c', 'echo B > /tmp/who']);
    expect((await a.exec(['cat', '/tmp/who'])).stdout.trim()).toBe('A');
    expect((await b.exec(['cat', '/tmp/who'])).stdout.trim()).toBe('B');
    await a.stop();
    expect((await b.exec(['cat', '/tmp/who'])).stdout.trim()).toBe('B');
    await b.stop();
    expect(alive(a.vm.pid) || alive(b.vm.pid)).toBe(false);
  });

  it('SIGINT during a boot exits non-zero and leaves no qemu behind', { timeout: BUILD_AND_BOOT }, async () => {
    await buildTarget(quick); // built beforehand, so the CLI goes straight to booting
    const { child, qemuPid: pid } = await labRunningQemu(quick);
    expect(alive(pid)).toBe(true);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(await gone(pid)).toBe(true);
  });

  it('a SIGKILLed lab takes its qemu with it (parent-death signal)', { timeout: BUILD_AND_BOOT }, async () => {
    await buildTarget(quick);
    const { child, qemuPid: pid } = await labRunningQemu(quick);
    // The launcher is bash → node; kill the node process itself, hard.
    const node = (await execa('pgrep', ['-P', String(child.pid), 'node'], { reject: false })).stdout.trim() || String(child.pid);
    process.kill(Number(node), 'SIGKILL');
    await child;
    expect(await gone(pid)).toBe(true);
  });
});
