/**
 * Guest text (symptoms, errors, console lines) made safe for the two places it ends up:
 * a terminal (an ESC would move the cursor or retitle the window) and XML (JUnit consumers
 * reject the whole file for one character XML 1.0 forbids). What is replaced is shown, not dropped:
 * "\x1b", "\u{fffe}", so a person still sees what the guest printed.
 */

/** How one character is shown: \xNN below U+0100, \u{…} above. */
export function shownChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

// C0 but tab and newline, DEL, C1, the line/paragraph separators, bidi overrides (text that reads
// differently than it is), the noncharacters U+FFFE/U+FFFF and lone surrogates.
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff]|[\ud800-\udfff]/gu;

/** Text for a terminal: control characters shown escaped; a newline kept only for multi-line text. */
export function terminalText(s: string, opts: { multiline?: boolean } = {}): string {
  const safe = s.replace(TERMINAL_UNSAFE, shownChar);
  return opts.multiline ? safe : safe.replace(/\n/g, '\\n');
}

// What XML 1.0's Char production forbids (C0 but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates),
// and DEL and C1, which it discourages and XML 1.1 restricts.
const XML_UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udfff]/gu;

/** Text every XML 1.0 parser accepts; the characters it would refuse are shown escaped. */
export function xmlText(s: string): string {
  return s.replace(XML_UNSAFE, shownChar);
}
