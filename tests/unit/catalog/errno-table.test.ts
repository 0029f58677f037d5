import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ERRNO_TABLE, errnoNames, parseErrnoTable } from '../../../lab/catalog/errno-table.ts';
import { repoRoot } from '../../../lab/util/paths.ts';

const probes = path.join(repoRoot, 'images', 'probes');
/** Cross compilers whose libc headers are installed (doctor puts them there); MIPS big-endian builds against the lab's uClibc only. */
const COMPILERS = [['arm-linux-gnueabi-gcc', 'ARM'], ['mipsel-linux-gnu-gcc', 'MIPS']] as const;

async function compileWith(cc: string, includeDir: string): Promise<{ exitCode: number | undefined; stderr: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-errno-'));
  const file = path.join(dir, 'uses-table.c');
  await fs.writeFile(file, '#include "probe-common.h"\nint main(void) { return probe_errno_name(0)[0] == \'O\' ? 0 : 1; }\n');
  const r = await execa(cc, ['-std=gnu99', '-Wall', '-Wextra', '-Werror', `-I${includeDir}`, '-fsyntax-only', file], { reject: false });
  return { exitCode: r.exitCode, stderr: r.stderr };
}

describe('the errno table (images/probes/errno-table.h)', () => {
  it('names each number per architecture, for the TypeScript judges', async () => {
    const entries = parseErrnoTable(await fs.readFile(ERRNO_TABLE, 'utf8'));
    expect(entries.find((e) => e.name === 'ENOBUFS')).toEqual({ name: 'ENOBUFS', arm: 105, mips: 132 });
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
    expect(errnoNames('mips').get(132)).toBe('ENOBUFS');
    expect(errnoNames('arm').get(16)).toBe('EBUSY');
  });

  it('refuses a line it cannot read, naming it', () => {
    expect(() => parseErrnoTable('ERRNO(EBUSY, 16, 16)\nERRNO(ENOBUFS, 105)\n', 't.h')).toThrow(/t\.h: a line the lab cannot read: ERRNO\(ENOBUFS, 105\)/);
    expect(() => parseErrnoTable('/* nothing */\n', 't.h')).toThrow(/no ERRNO/);
  });

  it.each(COMPILERS)("holds the numbers each libc's errno.h has: %s compiles it, and refuses a wrong one", async (cc, archName) => {
    expect(await compileWith(cc, probes)).toMatchObject({ exitCode: 0 });
    const doctored = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-errno-table-'));
    await fs.copyFile(path.join(probes, 'probe-common.h'), path.join(doctored, 'probe-common.h'));
    await fs.writeFile(path.join(doctored, 'errno-table.h'), (await fs.readFile(ERRNO_TABLE, 'utf8')).replace('ERRNO(ENOBUFS, 105, 132)', 'ERRNO(ENOBUFS, 106, 133)'));
    const wrong = await compileWith(cc, doctored);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain(`ENOBUFS is not ${archName === 'ARM' ? 106 : 133} on ${archName} (errno-table.h)`);
  });
});
