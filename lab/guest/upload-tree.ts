import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '../util/errors.ts';
import { capture } from '../util/process.ts';
import type { Guest, GuestShell } from './guest.ts';

/** Host directories to place in the guest: local dir → absolute guest path. */
export type TreePlacement = { from: string; to: string }[];

/**
 * Copies each directory to its guest path in one SSH round trip: staged in `work`
 * (removed afterwards, however it ends), packed as one tar, unpacked at / in the guest.
 */
export async function uploadTree(guest: GuestShell & Pick<Guest, 'upload'>, placement: TreePlacement, work: string, what: string): Promise<void> {
  const stage = path.join(work, 'upload');
  const tar = path.join(work, 'upload.tar');
  const remote = `/tmp/reprolab-upload-${process.pid}.tar`;
  await fs.rm(stage, { recursive: true, force: true });
  try {
    for (const p of placement) {
      const dest = path.join(stage, p.to);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.cp(p.from, dest, { recursive: true, verbatimSymlinks: true });
    }
    const tops = [...new Set(placement.map((p) => p.to.split('/').filter(Boolean)[0]!))];
    await capture('tar', ['-cf', tar, '--owner=0', '--group=0', '-C', stage, ...tops]);
    await guest.upload(tar, remote);
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
    await fs.rm(tar, { force: true });
  }
  // The tar goes whether or not it unpacked.
  const r = await guest.exec(['sh', '-c', `tar -xf ${remote} -C /; rc=$?; rm -f ${remote}; exit $rc`]);
  if (r.exitCode !== 0) throw new LabError(`unpacking ${what} in the guest failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}
