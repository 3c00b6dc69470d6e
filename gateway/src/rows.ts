// The one shape both readers (csv, xlsx) hand to validation: a numbered row of typed cells.

export type CellKind = 'text' | 'number' | 'bool' | 'formula' | 'error' | 'oversize';

export interface Cell {
  value: string;
  /** How the sheet stored it: xlsx numbers lose a phone number's leading 0; formulas are never evaluated. */
  kind: CellKind;
}

export interface SheetRow {
  /** 1-based row number as a spreadsheet program shows it. */
  row: number;
  cells: Array<Cell | undefined>;
}

export const cellText = (cell: Cell | undefined): string => (cell === undefined ? '' : cell.value.trim());

export const isBlankRow = (r: SheetRow): boolean => r.cells.every((c) => c === undefined || c.value.trim() === '');
