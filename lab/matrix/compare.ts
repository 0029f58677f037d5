import type { Comparison, VerdictChange } from '../model/matrix-result.ts';
import { cellIndex } from './result.ts';
import { type MatrixCellResult, type MatrixResult } from '../model/matrix-result.ts';

const shown = (c: MatrixCellResult | undefined): string => (c && c.status === 'ran' && c.verdict ? c.verdict : 'SKIPPED');

function change(before: MatrixCellResult | undefined, after: MatrixCellResult): VerdictChange {
  const b = shown(before);
  const a = shown(after);
  const where = after.evidenceDir ? `; evidence ${after.evidenceDir}` : '';
  const why = after.status === 'ran' ? `: ${after.summary}` : ` (${after.summary})`;
  return {
    target: after.target,
    scenario: after.scenario,
    before: b,
    after: a,
    nowExpected: after.asExpected,
    detail: `${after.target} ${after.scenario}: ${b} → ${a}${why}${where}`,
  };
}

/** What changed from `previous` to `current`, cell by cell. */
export function compareMatrices(previous: MatrixResult, current: MatrixResult, previousFile: string): Comparison {
  const before = cellIndex(previous);
  const after = cellIndex(current);
  const out: Comparison = { previous: { file: previousFile, startedAt: previous.startedAt }, regressions: [], recovered: [], dropped: [], added: [], unchanged: 0 };
  // Only cells this run planned: a shard or a --targets subset says nothing about the rest.
  for (const id of after.keys()) {
    const b = before.get(id);
    const a = after.get(id)!;
    const bRan = b?.status === 'ran';
    const aRan = a.status === 'ran';
    if (bRan && aRan) {
      if (b.verdict === a.verdict) out.unchanged++;
      else if (b.verdict === 'ERROR') out.recovered.push(change(b, a));
      else out.regressions.push(change(b, a));
    } else if (bRan) {
      out.dropped.push(change(b, a));
    } else if (aRan) {
      out.added.push(change(b, a));
    }
  }
  return out;
}

/** The comparison as text, regressions first. */
export function formatComparison(c: Comparison): string[] {
  const lines = [`compared with ${c.previous.file} (${c.previous.startedAt}): ${c.regressions.length} regression(s), ${c.recovered.length} recovered, ${c.added.length} new, ${c.dropped.length} no longer run, ${c.unchanged} unchanged`];
  for (const [title, list] of [['REGRESSION', c.regressions], ['recovered', c.recovered], ['new', c.added], ['no longer run', c.dropped]] as const) {
    for (const x of list) lines.push(`  ${title.padEnd(13)} ${x.detail}${title === 'REGRESSION' && x.nowExpected ? ' (the new verdict is the expected one)' : ''}`);
  }
  return lines;
}
