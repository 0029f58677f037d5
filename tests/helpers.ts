import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { labDirs, type LabDirs } from '../lab/util/paths.ts';

/** A throwaway cache root for tests that must not touch the real one. */
export async function tempDirs(): Promise<{ root: string; dirs: LabDirs }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-test-'));
  return { root, dirs: labDirs({ cacheDir: root }, {}) };
}
