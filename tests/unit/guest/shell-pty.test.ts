import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError } from '../../../lab/util/errors.ts';
import { startTestSshServer, type TestSshServer } from './ssh-test-server.ts';

/*
 * `reprolab boot` asks for a pty. A guest that cannot allocate one (a 3.10 image whose dropbear
 * needs BSD ptys, booted on a kernel without them) refuses the request: the lab says so in one
 * line with what to do, instead of ssh2's stack trace. A real in-process SSH server refuses it.
 */
let server: TestSshServer;

beforeAll(async () => {
  server = await startTestSshServer((session) => session.on('pty', (_accept, reject) => reject?.()));
});
afterAll(() => server.close());

describe('an interactive shell the guest refuses', () => {
  it('is a LabError naming the refusal and the way around it', async () => {
    const ssh = await server.connect();
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
