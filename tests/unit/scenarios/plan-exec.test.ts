import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import type { GuestShell } from '../../../lab/guest/guest.ts';
import { runBody } from '../../../lab/scenarios/plan-exec.ts';
import { truthProbeSteps } from '../../../lab/scenarios/run-plan.ts';
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
