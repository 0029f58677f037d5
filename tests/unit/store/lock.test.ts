import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../../lab/store/lock.ts';
import { tempDirs } from '../../helpers.ts';

const bootId = () => fsSync.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/** A lock folder as some other process left it. */
async function lockFolder(lock: string, files: Record<string, string>): Promise<void> {
  await fs.mkdir(lock, { recursive: true });
  for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(lock, name), text);
}

describe('the store lock', () => {
  it('waits for a fresh lock whose pid file is still empty (its owner is between open and write)', async () => {
    const { root } = await tempDirs();
    const lock = path.join(root, '.locks', 'step-key');
    await lockFolder(lock, { pid: '' });
    const events: string[] = [];
    await withLock(
      lock,
      async () => void events.push('held'),
      () => {
        events.push('waited');
        // The owner finishes and lets go.
        fsSync.rmSync(lock, { recursive: true, force: true });
      },
    );
    expect(events).toEqual(['waited', 'held']);
  });

  it('takes over a lock whose pid now belongs to another process (the start time differs)', async () => {
    const { root } = await tempDirs();
    const lock = path.join(root, '.locks', 'step-key');
    // This very process is alive, but it is not the one that started at tick 1 of this boot.
    await lockFolder(lock, { pid: String(process.pid), start: `${bootId()} 1` });
    let held = false;
    await withLock(
      lock,
      async () => void (held = true),
      () => {
        throw new Error('waited for a dead owner whose pid was reused');
      },
    );
    expect(held).toBe(true);
  });

  it('never has two holders when several waiters find the same stale lock', async () => {
    const { root } = await tempDirs();
    for (let round = 0; round < 5; round++) {
      const lock = path.join(root, '.locks', `stale-${round}`);
      await lockFolder(lock, { pid: '999999999' });
      let holders = 0;
      let most = 0;
      const hold = async () => {
        most = Math.max(most, ++holders);
        // Long enough for the other waiters to run their own checks meanwhile.
        for (let i = 0; i < 20; i++) await fs.stat(lock).catch(() => undefined);
        holders--;
      };
      await Promise.all(Array.from({ length: 8 }, () => withLock(lock, hold)));
      expect(most).toBe(1);
    }
  });
});
