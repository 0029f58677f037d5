import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshSession } from '../../../lab/guest/ssh.ts';

/*
 * A guest whose command prints without end (a runaway probe): an in-process SSH
 * server that answers one command with an endless stream, and records the lab's
 * kill. The lab must stop it at the cap with head and tail, not hold it all.
 */
let server: ssh2.Server;
let port = 0;
const seen: string[] = [];
const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
const hostKeyLine = `ssh-ed25519 ${hostKey.public.split(/\s+/)[1]}`;

function answer(cmd: string, ch: ssh2.ServerChannel): void {
  seen.push(cmd);
  ch.stderr.write('REPROLAB-PID 4242\n');
  if (cmd.includes('flood')) {
    let n = 0;
    const pump = () => {
      while (ch.writable && n < 100_000) {
        n++;
        if (!ch.write(`line ${n} ${'x'.repeat(1000)}\n`)) return void ch.once('drain', pump);
      }
    };
    ch.on('close', () => (n = Infinity));
    pump();
  } else if (cmd.includes('small')) {
    ch.write('hello\n');
    ch.exit(0);
    ch.end();
  } else {
    ch.exit(0);
    ch.end();
  }
}

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
    client.on('ready', () => client.on('session', (accept) => accept().on('exec', (acc, _rej, info) => answer(info.command, acc()))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

describe('guest output is capped', () => {
  it('a command that prints without end is stopped at the cap: an error with head, tail and what was dropped, and a kill in the guest', async () => {
    const ssh = await SshSession.connect({ port, privateKey: clientKey.private, hostKey: hostKeyLine, timeoutMs: 10_000 });
    try {
      const err = await ssh.exec(['flood'], { maxOutputBytes: 1024 * 1024, timeoutMs: 120_000 }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg).toContain('printed more than 1048576 bytes and was stopped (output capped)');
      expect(msg).toMatch(/stdout begins: line 1 x+/);
      expect(msg).toMatch(/… \d+ bytes dropped …/);
      expect(msg).toMatch(/stdout ends: .*x\n?/s);
      // The whole command tree was killed in the guest (its shell's pid and its tag).
      expect(seen.some((c) => c.startsWith('kill -KILL 4242'))).toBe(true);
      // The session is still usable, and small output is untouched.
      expect((await ssh.exec(['small'])).stdout).toBe('hello\n');
    } finally {
      ssh.close();
    }
  }, 60_000);
});
