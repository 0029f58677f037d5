/** What the lab needs to know of an ELF file: how it is linked and what it loads. */
export interface ElfInfo {
  class: 32 | 64;
  endian: 'little' | 'big';
  /** ET_EXEC 2, ET_DYN 3 (shared objects and PIE). */
  type: number;
  machine: number;
  /** PT_INTERP: the loader a dynamically linked program asks for. */
  interp?: string;
  /** DT_NEEDED entries of the dynamic section. */
  needed: string[];
  dynamic: boolean;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1;
const DT_STRTAB = 5;

export function isElf(data: Buffer): boolean {
  return data.length >= 52 && data[0] === 0x7f && data.toString('latin1', 1, 4) === 'ELF';
}

/** Reads the header, program headers and dynamic section of an ELF image; undefined when it is not ELF. */
export function readElf(data: Buffer): ElfInfo | undefined {
  if (!isElf(data)) return undefined;
  const is64 = data[4] === 2;
  const big = data[5] === 2;
  const u16 = (o: number) => (big ? data.readUInt16BE(o) : data.readUInt16LE(o));
  const u32 = (o: number) => (big ? data.readUInt32BE(o) : data.readUInt32LE(o));
  const word = (o: number) => (is64 ? Number(big ? data.readBigUInt64BE(o) : data.readBigUInt64LE(o)) : u32(o));
  const phoff = word(is64 ? 0x20 : 0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const phdrs: { type: number; offset: number; vaddr: number; filesz: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (p + phentsize > data.length) break;
    phdrs.push(
      is64
        ? { type: u32(p), offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32) }
        : { type: u32(p), offset: u32(p + 4), vaddr: u32(p + 8), filesz: u32(p + 16) },
    );
  }
  const cstring = (o: number) => {
    const end = data.indexOf(0, o);
    return data.toString('latin1', o, end < 0 ? data.length : end);
  };
  const interpHdr = phdrs.find((p) => p.type === PT_INTERP);
  const dyn = phdrs.find((p) => p.type === PT_DYNAMIC);
  const needed: string[] = [];
  if (dyn) {
    const size = is64 ? 16 : 8;
    const entries: { tag: number; val: number }[] = [];
    for (let o = dyn.offset; o + size <= dyn.offset + dyn.filesz && o + size <= data.length; o += size) {
      const tag = is64 ? word(o) : u32(o);
      if (tag === 0) break;
      entries.push({ tag, val: is64 ? word(o + 8) : u32(o + 4) });
    }
    // DT_STRTAB is an address: find the loaded segment that holds it to get its file offset.
    const strtab = entries.find((e) => e.tag === DT_STRTAB)?.val;
    const seg = strtab === undefined ? undefined : phdrs.find((p) => p.type === PT_LOAD && strtab >= p.vaddr && strtab < p.vaddr + p.filesz);
    if (strtab !== undefined && seg) {
      const base = seg.offset + (strtab - seg.vaddr);
      for (const e of entries) if (e.tag === DT_NEEDED) needed.push(cstring(base + e.val));
    }
  }
  return {
    class: is64 ? 64 : 32,
    endian: big ? 'big' : 'little',
    type: u16(0x10),
    machine: u16(0x12),
    ...(interpHdr ? { interp: cstring(interpHdr.offset) } : {}),
    needed,
    dynamic: dyn !== undefined,
  };
}
