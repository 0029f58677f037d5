import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { followLogs } from '../../../lab/util/log-tail.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('followLogs', () => {
  it('reports the log that changed last among steps running side by side, and nothing while none changes', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-tail-'));
    const kernel = path.join(dir, 'kernel.log');
    const userland = path.join(dir, 'userland.log');
    await fs.writeFile(kernel, 'CC init/main.o\n');
    const logs = new Map([['kernel', kernel]]);
    const seen: string[] = [];
    const stop = followLogs(() => logs, (name, line) => seen.push(`${name}: ${line}`), 20);
    try {
      await sleep(80);
      expect(seen).toEqual(['kernel: CC init/main.o']);
      // A second step starts; the kernel goes on too, then the userland writes last.
      logs.set('userland', userland);
      await fs.appendFile(kernel, 'CC mm/slab.o\n');
      await sleep(15);
      await fs.writeFile(userland, 'CC networking/ip.o\n');
      await fs.utimes(userland, new Date(), new Date(Date.now() + 1000));
      await sleep(80);
      expect(seen.at(-1)).toBe('userland: CC networking/ip.o');
      const count = seen.length;
      await sleep(80);
      expect(seen).toHaveLength(count);
      // The kernel's next line is still shown once it is the one that changed.
      await fs.appendFile(kernel, 'LD vmlinux\n');
      await sleep(80);
      expect(seen.at(-1)).toBe('kernel: LD vmlinux');
    } finally {
      stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
