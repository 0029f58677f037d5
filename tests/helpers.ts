import fs from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { labDirs, type LabDirs } from '../lab/util/paths.ts';

/** A throwaway cache root for tests that must not touch the real one. */
export async function tempDirs(): Promise<{ root: string; dirs: LabDirs }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-test-'));
  return { root, dirs: labDirs({ cacheDir: root }, {}) };
}

/** A fake QMP peer speaking the protocol's framing: greeting, capabilities, commands, events. */
export async function fakeQemu(handle: (cmd: { execute: string; id: string; arguments?: unknown }, send: (o: object) => void) => void) {
  const { root } = await tempDirs();
  const sock = path.join(root, 'qmp.sock');
  const server = net.createServer((c) => {
    const send = (o: object) => c.write(`${JSON.stringify(o)}\n`);
    send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] } });
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string; id: string };
        buf = buf.slice(nl + 1);
        if (cmd.execute === 'qmp_capabilities') send({ return: {}, id: cmd.id });
        else handle(cmd, send);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, close: () => server.close() };
}

