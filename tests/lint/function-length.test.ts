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
