import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFabric } from '../../../lab/fabric/fabric.ts';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import { scenarioByName } from '../../../lab/scenarios/registry.ts';
import type { ScenarioContext, ScenarioGuest, VariantPlan } from '../../../lab/scenarios/types.ts';
import { Scope, sleep } from '../../../lab/util/lifetime.ts';
import { describeError } from '../../../lab/util/errors.ts';
import { emptyFabricReport, sampleManifest, tempDirs, unusedConsole, unusedQmp } from '../../helpers.ts';

/*
 * An error in any phase undoes what that phase set up in the guest. A fake guest
 * records every command and fails the one that matches `failOn`.
 */
function recordingGuest(root: string, answer: (cmd: string) => string | Error) {
  const log: string[] = [];
  const guest = {
    consoleLog: path.join(root, 'console.log'),
    manifest: sampleManifest(),
    qmp: unusedQmp,
    vm: { running: true, console: unusedConsole },
    async exec(argv: string[]): Promise<ExecResult> {
      const cmd = argv.join(' ');
      log.push(cmd);
      const a = answer(cmd);
      if (a instanceof Error) throw a;
      return { exitCode: 0, stdout: a, stderr: '', stdoutBuffer: Buffer.from(a) };
    },
  } satisfies ScenarioGuest;
  return { guest, log };
}

const FABRIC_OK = (fields: object) => `REPROLAB-FABRIC ${JSON.stringify({ ok: true, ...fields })}\n`;

describe('an error in a phase undoes what the phase set up', () => {
  it('buildFabric: interfaces are removed and sockets released when a later step fails', async () => {
    const { root } = await tempDirs();
    const { guest, log } = recordingGuest(root, (cmd) => {
      if (cmd.includes('links-add')) return FABRIC_OK({ created: 4, existed: 0, failed: 0, addrs: 8, failures: [], ms: 5 });
      if (cmd.includes(' sockets ')) return FABRIC_OK({ pid: 4242, held: { tcp: { wanted: 10, open: 10 } }, total: 10 });
      if (cmd.includes('links-del')) return FABRIC_OK({ deleted: 4, failed: 0 });
      if (cmd.includes(' dump')) return new Error('ssh: the guest stopped answering');
      return '';
    });
    const err = await buildFabric(guest, { interfaces: 4, sockets: [{ kind: 'tcp', count: 10 }] }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/stopped answering/);
    expect(log.filter((c) => c.includes('links-del') || c === 'kill 4242')).toEqual(['kill 4242', '/opt/reprolab/bin/rl-fabric links-del rlf']);
  });

  it('uevent: both listeners are killed in the guest when the USB burst throws', async () => {
    const { root } = await tempDirs();
    let nextPid = 700;
    const { guest, log } = recordingGuest(root, (cmd) => {
      if (cmd.includes('uevent-listener')) return `${nextPid++}\n`;
      if (cmd.includes('/dev/kmsg')) return new Error('QMP: connection closed (QEMU exited?)');
      if (cmd.includes('uevent_seqnum')) return '100\n';
      return '';
    });
    const variants: VariantPlan[] = [
      { variant: 'legacy', role: 'unpatched', probeDir: '/opt/reprolab/probes/system', describe: 'legacy' },
      { variant: 'fixed', role: 'patched', probeDir: '/opt/reprolab/probes/system', describe: 'fixed' },
    ];
    const ctx: ScenarioContext = { guest, manifest: sampleManifest(), params: {}, variants, evidenceDir: root, repeat: 1, fabric: emptyFabricReport() };
    const err = await scenarioByName('uevent').repeat(ctx).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/QEMU exited/);
    expect(log.at(-1)).toBe('kill -KILL 700 701');
  });
});

describe('lifetime primitives', () => {
  it('a Scope undoes in reverse order, keeps going past a failing step, and undoes nothing once released', async () => {
    const done: string[] = [];
    const body = async (fail: boolean) => {
      await using scope = new Scope();
      scope.defer(() => void done.push('interfaces'));
      scope.defer(() => {
        throw new Error('kill failed');
      });
      scope.defer(() => void done.push('listeners'));
      if (fail) throw new Error('burst failed');
      scope.release();
    };
    await expect(body(true)).rejects.toThrow('burst failed');
    expect(done).toEqual(['listeners', 'interfaces']);
    await body(false);
    expect(done).toEqual(['listeners', 'interfaces']);
  });

  it('sleep ends early with the reason of its signal', async () => {
    const c = new AbortController();
    const t0 = Date.now();
    setTimeout(() => c.abort(new Error('interrupted (SIGINT)')), 20);
    await expect(sleep(5000, c.signal)).rejects.toThrow('interrupted (SIGINT)');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('errors of a phase and of its undo', () => {
  it('both are said when undoing a failed phase fails too (await using)', async () => {
    const phase = async () => {
      await using scope = { [Symbol.asyncDispose]: async () => Promise.reject(new Error('churn did not stop')) };
      void scope;
      throw new Error('dump-hang timed out');
    };
    const err = await phase().catch((e: unknown) => e);
    expect(describeError(err)).toMatch(/dump-hang timed out[\s\S]*\(then, while undoing what it set up: Error: churn did not stop/);
  });
});
