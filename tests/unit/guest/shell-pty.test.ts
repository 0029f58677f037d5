import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshSession } from '../../../lab/guest/ssh.ts';
import { LabError } from '../../../lab/util/errors.ts';

/*
 * `reprolab boot` asks for a pty. A guest that cannot allocate one (a 3.10 image whose dropbear
 * needs BSD ptys, booted on a kernel without them) refuses the request: the lab says so in one
 * line with what to do, instead of ssh2's stack trace. A real in-process SSH server refuses it.
 */
let server: ssh2.Server;
let port = 0;
const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
const hostKeyLine = `ssh-ed25519 ${hostKey.public.split(/\s+/)[1]}`;

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
    client.on('ready', () => client.on('session', (accept) => accept().on('pty', (_acc, reject) => reject?.())));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

describe('an interactive shell the guest refuses', () => {
  it('is a LabError naming the refusal and the way around it', async () => {
    const ssh = await SshSession.connect({ port, privateKey: clientKey.private, hostKey: hostKeyLine, timeoutMs: 10_000 });
    try {
      const err = await ssh.shell({ rows: 24, cols: 80 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabError);
      expect((err as LabError).message).toMatch(/^the guest refused an interactive shell: .*pseudo-terminal/);
      expect((err as LabError).fix).toMatch(/boot --keep/);
    } finally {
      ssh.close();
    }
  }, 30_000);
});
