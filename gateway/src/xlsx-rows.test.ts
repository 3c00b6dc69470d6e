import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveLimits } from './limits.ts';
import { buildXlsx, chunked } from './test-fixtures.ts';
import { columnIndex, xlsxRows } from './xlsx-rows.ts';

test('cell references give column indexes', () => {
  assert.equal(columnIndex('A1'), 0);
  assert.equal(columnIndex('Z9'), 25);
  assert.equal(columnIndex('AA10'), 26);
  assert.equal(columnIndex('xfd1'), 16383);
  assert.equal(columnIndex('12'), undefined);
});

test('rows keep their sheet numbers and cell kinds; sparse cells stay in their columns; long cells are marked', async () => {
  const xlsx = await buildXlsx(
    [{ name: 'S', rows: [['a', null, 'c'], [], [1012345678, true, { formula: 'A1', cached: 'x' }], ['x'.repeat(20)]] }],
    { sharedStrings: true },
  );
  const rows = [];
  for await (const row of xlsxRows(chunked(xlsx), resolveLimits({ maxCellChars: 10 })))
    rows.push({ row: row.row, cells: Array.from(row.cells) });
  assert.deepEqual(rows, [
    { row: 1, cells: [{ value: 'a', kind: 'text' }, undefined, { value: 'c', kind: 'text' }] },
    { row: 2, cells: [] },
    {
      row: 3,
      cells: [
        { value: '1012345678', kind: 'number' },
        { value: 'TRUE', kind: 'bool' },
        { value: '', kind: 'formula' },
      ],
    },
    { row: 4, cells: [{ value: '', kind: 'oversize' }] },
  ]);
});
