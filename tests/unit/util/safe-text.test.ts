import { describe, expect, it } from 'vitest';
import { terminalText, xmlText } from '../../../lab/util/safe-text.ts';

describe('guest text made safe for a terminal and for XML', () => {
  it('shows C0, DEL, C1, bidi overrides and noncharacters escaped on a terminal', () => {
    expect(terminalText('a\u001b[2Jb\u0007c\u007fd\u009be\u202ef\uFFFEg\tz')).toBe('a\\x1b[2Jb\\x07c\\x7fd\\x9be\\u{202e}f\\u{fffe}g\tz');
    expect(terminalText('one\r\ntwo')).toBe('one\\x0d\\ntwo');
    expect(terminalText('one\ntwo\u001b', { multiline: true })).toBe('one\ntwo\\x1b');
    expect(terminalText('ünïcödé 😀 plain')).toBe('ünïcödé 😀 plain');
  });

  it('keeps only what XML 1.0 accepts: tab, newline, CR and printable text; the rest shown', () => {
    expect(xmlText('a\u0000b\u0008c\u000bd\uFFFEe\uFFFFf\uD800g\u0085h\t\n\r😀')).toBe('a\\x00b\\x08c\\x0bd\\u{fffe}e\\u{ffff}f\\u{d800}g\\x85h\t\n\r😀');
  });

  it('is idempotent: escaped text escapes to itself', () => {
    const once = terminalText('\u001b[31mred\u009b');
    expect(terminalText(once)).toBe(once);
    expect(xmlText(xmlText('\uFFFF'))).toBe(xmlText('\uFFFF'));
  });
});
