/** "516-540,545" (the uevent listener's compact list) → the numbers. */
export function parseRanges(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad SEQNUM range "${part}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let n = lo; n <= hi; n++) out.push(n);
  }
  return out;
}

/** Numbers → "516-540,545". */
export function formatRanges(nums: number[]): string {
  const sorted = [...new Set(nums)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** SEQNUMs in (before, after] the listener never saw: the kernel's own count is the ground truth. */
export function missingSeqnums(before: number, after: number, seen: number[]): number[] {
  const have = new Set(seen);
  const missing: number[] = [];
  for (let n = before + 1; n <= after; n++) if (!have.has(n)) missing.push(n);
  return missing;
}
