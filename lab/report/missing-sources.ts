import { type MatrixResult, type MissingSource } from '../model/matrix-result.ts';

/** The one command that fetches every missing source ahead of a run. */
export const FETCH_HINT = 'reprolab sources fetch';

/** Missing archives of the skipped targets, each once with every target that needs it. */
export function missingSources(r: Pick<MatrixResult, 'targets'>): (MissingSource & { targets: string[] })[] {
  const byArchive = new Map<string, MissingSource & { targets: string[] }>();
  for (const t of r.targets) {
    for (const m of t.missingSources ?? []) {
      const e = byArchive.get(m.archive) ?? { ...m, targets: [] };
      e.targets.push(t.target);
      byArchive.set(m.archive, e);
    }
  }
  return [...byArchive.values()];
}
