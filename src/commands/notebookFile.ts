/**
 * What "Submit notebook" needs to know about a notebook file: the job runs
 * the file as saved on disk (the server reads it), so the command compares
 * the open notebook with the file, and tells papermill's parameter rule.
 */

/** The part of an nbformat cell looked at here. */
export interface ICellLike {
  cell_type: string;
  source: string | readonly string[];
  metadata?: { tags?: unknown };
}

type Cells = readonly ICellLike[];

function sourceText(cell: ICellLike): string {
  return typeof cell.source === 'string' ? cell.source : cell.source.join('');
}

function tags(cell: ICellLike): string[] {
  const value = cell.metadata?.tags;
  return Array.isArray(value) ? (value as string[]) : [];
}

/**
 * True when the cells would run differently: a cell added, removed, retyped,
 * edited or (un)tagged. Outputs, execution counts, the kernel's metadata and
 * empty cells (Shift+Enter on the last cell adds one) do not count: the job
 * runs the code again, papermill ignores them.
 */
export function codeDiffers(open: Cells, saved: Cells): boolean {
  const meaningful = (cells: Cells) =>
    cells
      .filter(cell => sourceText(cell).trim() || tags(cell).length)
      .map(cell =>
        [cell.cell_type, sourceText(cell), ...tags(cell)].join('\0')
      );
  const [a, b] = [meaningful(open), meaningful(saved)];
  return a.length !== b.length || a.some((cell, index) => cell !== b[index]);
}

/** papermill injects parameters after the code cell tagged `parameters`. */
export function hasParametersCell(cells: Cells): boolean {
  return cells.some(
    cell => cell.cell_type === 'code' && tags(cell).includes('parameters')
  );
}
