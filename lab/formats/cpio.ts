/**
 * A writer for the "newc" cpio format the kernel unpacks as initramfs.
 * Writing it here (instead of running `cpio` on a staging tree) lets the lab
 * add /dev/console and root-owned files without root, with fixed mtimes and
 * inode numbers, so the same inputs give the same bytes.
 */
export type CpioEntry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; data: Buffer }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(fields: number[]): string {
  return `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Buffer[] = [];
  let ino = 1;
  const put = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0], nlink = 1) => {
    const nameBuf = Buffer.from(`${name}\0`);
    const h = header([ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0]);
    chunks.push(Buffer.from(h, 'ascii'), nameBuf, Buffer.alloc(pad4(110 + nameBuf.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of sorted) {
    const name = e.path.replace(/^\/+/, '');
    if (!name) continue;
    switch (e.kind) {
      case 'dir':
        put(name, S_IFDIR | e.mode, Buffer.alloc(0), [0, 0], 2);
        break;
      case 'file':
        put(name, S_IFREG | e.mode, e.data);
        break;
      case 'symlink':
        put(name, S_IFLNK | 0o777, Buffer.from(e.target));
        break;
      case 'chardev':
        put(name, S_IFCHR | e.mode, Buffer.alloc(0), [e.major, e.minor]);
        break;
    }
  }
  put('TRAILER!!!', 0, Buffer.alloc(0), [0, 0], 1);
  return Buffer.concat(chunks);
}

/**
 * Reads a newc (or newc+crc) archive back into entries — a product's rootfs
 * the lab adds its pieces to. Kinds the lab does not write (block devices,
 * FIFOs, sockets) are counted in `skipped`, not silently dropped.
 */
export function readCpio(buf: Buffer): { entries: CpioEntry[]; skipped: string[] } {
  const entries: CpioEntry[] = [];
  const skipped: string[] = [];
  let off = 0;
  let trailer = false;
  while (off + 110 <= buf.length) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`not a newc cpio archive at byte ${off} (magic ${JSON.stringify(magic)})`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const [major, minor] = [field(9), field(10)];
    const nameSize = field(11);
    const nameStart = off + 110;
    if (![mode, size, nameSize].every(Number.isInteger) || nameSize < 1) throw new Error(`corrupt cpio header at byte ${off}`);
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    // A truncated archive must not read as a short file: every member must lie inside the buffer.
    if (dataStart + size > buf.length) throw new Error(`truncated cpio archive: the member at byte ${off} needs ${dataStart + size - buf.length} more bytes`);
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + size + pad4(size);
    if (name === 'TRAILER!!!') {
      trailer = true;
      break;
    }
    if (name === '.' || name === '') continue;
    const p = `/${name.replace(/^\.?\/+/, '')}`;
    const perm = mode & 0o7777;
    switch (mode & 0o170000) {
      case S_IFDIR:
        entries.push({ kind: 'dir', path: p, mode: perm });
        break;
      case S_IFREG:
        entries.push({ kind: 'file', path: p, mode: perm, data: Buffer.from(data) });
        break;
      case S_IFLNK:
        entries.push({ kind: 'symlink', path: p, target: data.toString('utf8') });
        break;
      case S_IFCHR:
        entries.push({ kind: 'chardev', path: p, mode: perm, major, minor });
        break;
      default:
        skipped.push(p);
    }
  }
  if (!trailer) throw new Error(`truncated cpio archive: no TRAILER!!! entry in ${buf.length} bytes`);
  return { entries, skipped };
}
