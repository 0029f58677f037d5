import { describe, expect, it } from 'vitest';
import { longFunctions, MAX_LINES } from './function-length.ts';

const body = (lines: number) => Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');

describe('the function-length rule', () => {
  it('flags a function one line over the limit, by the name a reader looks for, and passes one at the limit', () => {
    const text = [
      `export function atLimit() {\n${body(MAX_LINES)}\n}`,
      `export function over() {\n${body(MAX_LINES + 1)}\n}`,
      `const arrow = async () => {\n${body(MAX_LINES + 1)}\n};`,
      `class C {\n  method() {\n${body(MAX_LINES + 1)}\n  }\n}`,
    ].join('\n');
    expect(longFunctions('x.ts', text).map((f) => `${f.name} ${f.lines}`)).toEqual([`over ${MAX_LINES + 1}`, `arrow ${MAX_LINES + 1}`, `method ${MAX_LINES + 1}`]);
  });
});

describe('the mirror rule', () => {
  it('names a test outside a folder and a folder lab/ does not have; a mirrored tree passes', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { misplacedTests } = await import('./unit-mirror.ts');
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-mirror-'));
    await fs.mkdir(path.join(root, 'bundle'));
    await fs.writeFile(path.join(root, 'bundle', 'kernel.test.ts'), '');
    expect(misplacedTests(root, ['bundle', 'util'])).toEqual([]);
    await fs.writeFile(path.join(root, 'loose.test.ts'), '');
    await fs.mkdir(path.join(root, 'misc'));
    const bad = misplacedTests(root, ['bundle', 'util']);
    expect(bad.join('\n')).toMatch(/loose\.test\.ts: not in a folder/);
    expect(bad.join('\n')).toMatch(/misc\/: lab\/ has no folder misc/);
    await fs.rm(root, { recursive: true, force: true });
  });
});
