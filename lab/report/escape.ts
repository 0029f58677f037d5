import { xmlText } from '../util/safe-text.ts';

/** Text for XML/HTML content and (double- or single-quoted) attributes; characters XML 1.0 forbids are shown escaped (\x1b, \u{fffe}). */
export function escapeXml(s: string): string {
  return xmlText(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
