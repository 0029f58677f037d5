import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSshServer, type TestSshServer } from './ssh-test-server.ts';

/*
 * A guest whose command prints without end (a runaway probe): an in-process SSH
 * server that answers one command with an endless stream, and records the lab's
 * kill. The lab must stop it at the cap with head and tail, not hold it all.
 */
let server: TestSshServer;
const seen: string[] = [];

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
  server = await startTestSshServer((session) => session.on('exec', (acc, _rej, info) => answer(info.command, acc())));
});
afterAll(() => server.close());

describe('guest output is capped', () => {
  it('a command that prints without end is stopped at the cap: an error with head, tail and what was dropped, and a kill in the guest', async () => {
    const ssh = await server.connect();
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
