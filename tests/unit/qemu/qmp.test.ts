import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QmpClient } from '../../../lab/qemu/qmp.ts';
import { classifyConsoleLine } from '../../../lab/qemu/console.ts';
import { commandLine } from '../../../lab/guest/ssh.ts';
import { shellQuote } from '../../../lab/util/shell-quote.ts';
import { fakeQemu, tempDirs } from '../../helpers.ts';

describe('QMP client', () => {
  it('negotiates, runs commands and reports QMP errors by class', async () => {
    const q = await fakeQemu((cmd, send) => {
      if (cmd.execute === 'query-status') send({ return: { status: 'running' }, id: cmd.id });
      else send({ error: { class: 'CommandNotFound', desc: `The command ${cmd.execute} has not been found` }, id: cmd.id });
    });
    const c = await QmpClient.connect(q.sock);
    expect(await c.execute('query-status')).toEqual({ status: 'running' });
    await expect(c.execute('nope')).rejects.toThrow('QMP nope failed: CommandNotFound');
    c.close();
    q.close();
  });

  it('times out a command that gets no answer', async () => {
    const q = await fakeQemu(() => undefined);
    const c = await QmpClient.connect(q.sock);
    await expect(c.execute('device_add', { driver: 'usb-kbd' }, 200)).rejects.toThrow('no answer within 200 ms');
    c.close();
    q.close();
  });

  it('delivers events to waiters, including ones that arrived before the wait began', async () => {
    const q = await fakeQemu((cmd, send) => {
      send({ return: {}, id: cmd.id });
      send({ event: 'DEVICE_DELETED', data: { device: 'kbd1', path: '/machine/peripheral/kbd1' }, timestamp: { seconds: 1, microseconds: 0 } });
    });
    const c = await QmpClient.connect(q.sock);
    const mark = c.events.length;
    await c.execute('device_del', { id: 'kbd1' });
    const ev = await c.waitForEvent('DEVICE_DELETED', (e) => e.data?.device === 'kbd1', 1000, mark);
    expect(ev.data?.device).toBe('kbd1');
    await expect(c.waitForEvent('DEVICE_DELETED', (e) => e.data?.device === 'kbd2', 200)).rejects.toThrow('no DEVICE_DELETED event within 200 ms');
    c.close();
    q.close();
  });

  it('a line that is not JSON fails the waiting command instead of throwing in the socket handler', async () => {
    const q = await fakeQemu(() => undefined);
    const c = await QmpClient.connect(q.sock);
    // The peer writes garbage in place of an answer.
    const raw = (c as unknown as { socket: net.Socket }).socket;
    const pending = c.execute('query-status', undefined, 2000);
    raw.emit('data', 'this is not QMP\n');
    await expect(pending).rejects.toThrow(/QMP query-status: QMP sent a line that is not JSON: this is not QMP/);
    await expect(c.waitForEvent('DEVICE_DELETED')).rejects.toThrow(/connection is closed/);
    q.close();
  });

  it('fails pending commands when QEMU goes away', async () => {
    let drop: (() => void) | undefined;
    const { root } = await tempDirs();
    const sock = path.join(root, 'q.sock');
    const server = net.createServer((c) => {
      c.write(`${JSON.stringify({ QMP: {} })}\n`);
      c.on('data', (d) => {
        const cmd = JSON.parse(d.toString().trim()) as { execute: string; id: string };
        if (cmd.execute === 'qmp_capabilities') c.write(`${JSON.stringify({ return: {}, id: cmd.id })}\n`);
        else drop = () => c.destroy();
        drop?.();
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const c = await QmpClient.connect(sock);
    await expect(c.execute('query-status')).rejects.toThrow('connection closed');
    server.close();
  });
});

describe('console classification', () => {
  it('recognises readiness and the ways a boot dies', () => {
    expect(classifyConsoleLine('REPROLAB-READY kernel=3.10.108-reprolab target=mips-malta-3.10-uclibc')).toEqual({
      kind: 'ready',
      kernel: '3.10.108-reprolab',
      target: 'mips-malta-3.10-uclibc',
    });
    expect(classifyConsoleLine('[    1.2] Kernel panic - not syncing: VFS: Unable to mount root fs')).toMatchObject({ kind: 'fatal', reason: expect.stringContaining('kernel panic') });
    expect(classifyConsoleLine('[    0.9] Attempted to kill init! exitcode=0x00000100')).toMatchObject({ kind: 'fatal' });
    expect(classifyConsoleLine('[    0.5] Internal error: Oops: 17 [#1] ARM')).toMatchObject({ kind: 'fatal' });
    expect(classifyConsoleLine('[    0.1] Linux version 3.10.108')).toBeUndefined();
  });
});

describe('guest command quoting', () => {
  it('keeps plain words and quotes everything else', () => {
    expect(shellQuote('/opt/reprolab/probes/patched/ifaddrs-probe')).toBe('/opt/reprolab/probes/patched/ifaddrs-probe');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$(reboot)')).toBe(`'$(reboot)'`);
    expect(shellQuote('')).toBe(`''`);
    expect(commandLine(['sh', '-c', 'echo "$1"', 'sh', 'a b'])).toBe(`sh -c 'echo "$1"' sh 'a b'`);
    expect(() => commandLine([])).toThrow('empty command');
  });
});

describe('SSH connect to a port that drops connections', () => {
  it('gives up with a clear error after its timeout, with no stray errors', async () => {
    const { SshSession } = await import('../../../lab/guest/ssh.ts');
    const server = net.createServer((c) => c.destroy()); // like QEMU's hostfwd before dropbear listens
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const { utils } = await import('ssh2');
    const key = utils.generateKeyPairSync('ed25519').private;
    const t0 = Date.now();
    await expect(SshSession.connect({ port, privateKey: key, hostKey: 'ssh-ed25519 AAAA', timeoutMs: 1500 })).rejects.toThrow(`no SSH answer on 127.0.0.1:${port}`);
    expect(Date.now() - t0).toBeLessThan(5000);
    server.close();
  });
});
