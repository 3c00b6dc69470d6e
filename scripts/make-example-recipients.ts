// Writes examples/recipients.xlsx: a synthetic member list as a Korean supermarket exports it
// (no real person's data). Run: node --import tsx scripts/make-example-recipients.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@anshim/dev-platform';
import { buildXlsx, type FixtureCell } from '../gateway/src/test-fixtures.ts';

const FAMILY = ['김', '이', '박', '최', '정', '강', '조', '윤', '장', '임'];
const GIVEN = ['민준', '서연', '도윤', '하은', '지호', '수아', '예준', '지유', '시우', '서윤'];
const STORES = ['강남점', '잠실점', '분당점', '일산점'];
const rows: FixtureCell[][] = [['이름', '휴대폰번호', '매장', '광고수신동의', '야간수신동의', '동의일자']];
for (let i = 0; i < 2000; i++) {
  const n = String(20000000 + i * 37).padStart(8, '0');
  rows.push([
    `${FAMILY[i % 10]}${GIVEN[Math.floor(i / 10) % 10]}`,
    `010-${n.slice(0, 4)}-${n.slice(4)}`,
    STORES[i % STORES.length]!,
    i % 97 === 5 ? 'N' : 'Y',
    'Y',
    // A few consents older than two years, flagged for re-confirmation.
    i % 250 === 0 ? '2023-03-01' : '2026-02-15',
  ]);
}
// What real exports contain: a duplicate, a landline, and a malformed number.
rows.push(['김민준', '010-2000-0000', '강남점', 'Y', 'Y', '2026-02-15']);
rows.push(['본사', '02-1234-5678', '본사', 'Y', 'Y', '2026-02-15']);
rows.push(['오타', '010-12', '강남점', 'Y', 'Y', '2026-02-15']);
writeFileSync(join(repoRoot, 'examples/recipients.xlsx'), await buildXlsx([{ name: '회원목록', rows }]));
console.log(`examples/recipients.xlsx: ${rows.length - 1} rows`);
