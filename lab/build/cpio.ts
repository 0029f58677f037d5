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
