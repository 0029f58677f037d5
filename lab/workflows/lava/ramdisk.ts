import fs from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCpio, writeCpio, type CpioEntry } from '../../formats/cpio.ts';
import type { BundleManifest } from '../../model/manifest.ts';
import { resolveInside } from '../../model/paths.ts';
import { LabError } from '../../util/errors.ts';
import { repoRoot } from '../../util/paths.ts';
import { GUEST_LAVA_DIR } from './test-definition.ts';

/** The bundle's rootfs archive: the -initrd one, or the copy of the one linked into the kernel. */
export function rootfsArchive(m: BundleManifest): string {
  return m.kernel.initramfs === 'external' ? 'images/rootfs.cpio' : 'images/initramfs.cpio';
}

/**
 * The LAVA ramdisk of a target: its rootfs as one newc archive (LAVA's cpio reads only up to the first
 * trailer, so the lab's files are added into it, not appended after it) with each scenario's guest.sh,
 * judge.awk and cases.awk under GUEST_LAVA_DIR; gzip'd, as the job's `compression: gz` says.
 */
export async function lavaRamdisk(o: { bundleDir: string; rootfs: string; scripts: Map<string, string> }): Promise<Buffer> {
  const rel = o.rootfs;
  const file = resolveInside(o.bundleDir, rel);
  if (!file) throw new LabError(`${o.bundleDir}: ${rel} is not inside the bundle`);
  const { entries, skipped } = readCpio(await fs.readFile(file));
  // Written back, the archive would lose them: a rootfs that needs a block device or a FIFO is not one the lab made.
  if (skipped.length) throw new LabError(`${file}: holds ${skipped.length} entries the LAVA ramdisk cannot carry (block devices, FIFOs or sockets), e.g. ${skipped[0]}`);
  const ours = new Set([GUEST_LAVA_DIR, ...[...o.scripts.keys()].map((n) => `${GUEST_LAVA_DIR}/${n}.sh`)]);
  const kept = entries.filter((e) => !ours.has(e.path) && !e.path.startsWith(`${GUEST_LAVA_DIR}/`));
  const text = (p: string, data: string | Buffer, mode = 0o644): CpioEntry => ({ kind: 'file', path: p, mode, data: Buffer.from(data) });
  const added: CpioEntry[] = [
    { kind: 'dir', path: GUEST_LAVA_DIR, mode: 0o755 },
    text(`${GUEST_LAVA_DIR}/judge.awk`, await fs.readFile(path.join(repoRoot, 'images', 'repro', 'judge.awk'))),
    text(`${GUEST_LAVA_DIR}/cases.awk`, await fs.readFile(path.join(repoRoot, 'images', 'lava', 'cases.awk'))),
    ...[...o.scripts].map(([name, script]) => text(`${GUEST_LAVA_DIR}/${name}.sh`, script, 0o755)),
  ];
  // mtime 0 in the gzip header: the same bundle and scripts give the same bytes.
  return gzipSync(writeCpio([...kept, ...added]), { level: 9 });
}
