import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import type { GuestShell } from '../../../lab/guest/guest.ts';
import { runBody, runUnderChurn } from '../../../lab/scenarios/plan-exec.ts';
import { truthProbeSteps, withChurn } from '../../../lab/scenarios/run-plan.ts';
import { LIBC_VARIANTS, sampleManifest } from '../../helpers.ts';

const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '', stdoutBuffer: Buffer.from(stdout) });

/** A guest shell that answers the truth reads and the probes, and keeps what it was asked to run. */
function recordingShell(links: number): GuestShell & { ran: string[] } {
  const ran: string[] = [];
  const linkList = Array.from({ length: links }, (_, i) => ({ index: i + 1, name: `l${i}` }));
  return {
    ran,
    exec: async (argv: string[]) => {
      ran.push(argv.join(' '));
      if (argv[0] === 'sh' && argv[2]!.includes('rl-fabric dump')) {
        return ok(`REPROLAB-FABRIC ${JSON.stringify({ ok: true, linkChunks: 1, firstLinkChunkBytes: 100, links: linkList, addrs: [] })}\nREPROLAB-SYSFS\n${linkList.map((l) => l.name).join('\n')}\n`);
      }
      if (argv[0] === 'sh') return ok('  501 /proc/net/tcp\n    1 /proc/net/udp\n');
      return ok(`REPROLAB-RESULT {"probe":"p","ok":true,"count":${links},"argv":"${argv.slice(1).join(' ')}"}\n`);
    },
  };
}

describe('a repetition body run over SSH', () => {
  it("runs the plan's steps in its order and returns each truth by phase and each probe's result", async () => {
    const guest = recordingShell(3);
    const evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-body-'));
    const steps = truthProbeSteps('net', LIBC_VARIANTS, 'p', (v) => [`--as=${v.role}`]);
    const out = await runBody({ guest, evidenceDir, repeat: 1, manifest: sampleManifest() }, steps);
    expect(guest.ran.map((c) => (c.startsWith('sh -c') ? 'truth' : c))).toEqual(['truth', '/opt/reprolab/probes/unpatched/p --as=unpatched', '/opt/reprolab/probes/patched/p --as=patched', 'truth']);
    expect(out.net.before?.links).toHaveLength(3);
    expect(out.net.after?.links).toHaveLength(3);
    expect(out.probes.map((d) => [d.v.role, d.p.result['argv']])).toEqual([['unpatched', '--as=unpatched'], ['patched', '--as=patched']]);
    // Every probe's full output is kept as evidence.
    expect((await fs.readdir(evidenceDir)).sort()).toEqual(['r1-patched-patched-p.txt', 'r1-unpatched-unpatched-p.txt']);
  });

  it('reads /proc/net for a sockets truth', async () => {
    const guest = recordingShell(1);
    const evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-body-'));
    const out = await runBody({ guest, evidenceDir, repeat: 2, manifest: sampleManifest() }, truthProbeSteps('sockets', LIBC_VARIANTS.slice(0, 1), 'p', () => []));
    expect(out.sockets.before).toMatchObject({ tcp: 500, udp: 0 });
    expect(out.net).toEqual({});
  });
});

/** A guest shell with the churn daemon (pid 321, 40 rounds between two readings of its counters); it keeps what it was asked to run. */
function churnShell(): GuestShell & { ran: string[] } {
  const ran: string[] = [];
  let rounds = 0;
  return {
    ran,
    exec: async (argv: string[]) => {
      const cmd = argv.join(' ');
      if (cmd.includes('rl-fabric churn')) return (ran.push('churn-start'), ok('REPROLAB-FABRIC {"ok":true,"pid":321}\n'));
      if (cmd === 'cat /tmp/rl-churn-321') {
        ran.push('counters');
        rounds += 40;
        return ok(`REPROLAB-FABRIC {"ok":true,"rounds":${rounds},"socketsOpened":${rounds * 2},"socketFailures":0,"linkRounds":${rounds},"linksAdded":${rounds},"linkFailures":0,"linksDeleted":0}\n`);
      }
      if (cmd.includes('kill 321')) return (ran.push('churn-stop'), ok(''));
      if (cmd.includes('links-del rlc')) return (ran.push('links-del rlc'), ok('REPROLAB-FABRIC {"ok":true,"deleted":0,"failed":0}\n'));
      return ok('');
    },
  };
}

describe('a repetition under churn, run over SSH', () => {
  const spec = { sockets: 8, links: 2, periodMs: 50 };

  it("starts the daemon before the measurement and stops it after, in the plan's order, and says what it did meanwhile", async () => {
    const guest = churnShell();
    const r = await runUnderChurn(guest, spec, async () => (guest.ran.push('body'), 'measured'));
    expect(r.result).toBe('measured');
    expect(r.churned).toMatchObject({ rounds: 40, socketsOpened: 80, linksAdded: 40 });
    expect(guest.ran).toEqual(['churn-start', 'counters', 'body', 'counters', 'churn-stop', 'links-del rlc']);
    // The plan says the same order: the churn steps around the body.
    const planned = withChurn([{ kind: 'truth', phase: 'before', truth: 'net' }], spec).map((s) => (s.kind === 'truth' ? 'body' : s.kind));
    expect(planned).toEqual(guest.ran.filter((c) => c.startsWith('churn') || c === 'body'));
  });

  it('stops the daemon and removes its links when the measurement fails', async () => {
    const guest = churnShell();
    await expect(runUnderChurn(guest, spec, () => Promise.reject(new Error('the probe vanished')))).rejects.toThrow('the probe vanished');
    expect(guest.ran).toEqual(['churn-start', 'counters', 'churn-stop', 'links-del rlc']);
  });
});
