import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { SshSession } from '../../../lab/guest/ssh.ts';

/**
 * A real SSH server in the test process, for what a guest's dropbear would do: it accepts
 * any client and hands each session to `onSession` (answer an exec, refuse a pty…).
 */
export interface TestSshServer {
  /** A client session to it, as the lab opens one to a guest. */
  connect(): Promise<SshSession>;
  close(): void;
}

export async function startTestSshServer(onSession: (session: ssh2.Session) => void): Promise<TestSshServer> {
  const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
    client.on('ready', () => client.on('session', (accept) => onSession(accept())));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const hostKeyLine = `ssh-ed25519 ${hostKey.public.split(/\s+/)[1]}`;
  return {
    connect: () => SshSession.connect({ port, privateKey: clientKey.private, hostKey: hostKeyLine, timeoutMs: 10_000 }),
    close: () => server.close(),
  };
}
