import type { MatrixCellResult, MatrixResult } from '../model/matrix-result.ts';
import { cellId } from './plan.ts';

/** Cells that need a person: ran with a verdict other than the expected one (ERROR included). */
export function unexpectedCells(r: MatrixResult): MatrixCellResult[] {
  return r.cells.filter((c) => c.status === 'ran' && !c.asExpected);
}

export function cellIndex(r: MatrixResult): Map<string, MatrixCellResult> {
  return new Map(r.cells.map((c) => [cellId(c), c]));
}
