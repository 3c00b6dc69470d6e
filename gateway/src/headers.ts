// Maps a spreadsheet's header row to the fields of a recipient. Korean offices name the
// same column many ways (휴대폰번호, 핸드폰, 연락처 …); every other column becomes a template
// variable under its header text.

export type RecipientField = 'phone' | 'name' | 'advertisingConsent' | 'nightConsent' | 'consentDate';

/** Aliases after normalisation (see normalizeHeader); earlier phone aliases win over later ones. */
const ALIASES: Record<RecipientField, readonly string[]> = {
  // Mobile-specific names first: a sheet with both 휴대폰 and 전화번호 usually means mobile and office.
  phone: [
    '휴대폰번호',
    '휴대폰',
    '휴대전화번호',
    '휴대전화',
    '핸드폰번호',
    '핸드폰',
    '휴대번호',
    '모바일',
    'mobile',
    'mobilephone',
    'cellphone',
    'hp',
    '수신번호',
    '수신자번호',
    '전화번호',
    '연락처',
    '전화',
    'phone',
    'phonenumber',
    'tel',
  ],
  name: ['이름', '성명', '고객명', '수신자', '수신자명', '회원명', 'name', 'fullname', 'customername'],
  advertisingConsent: [
    '광고수신동의',
    '광고성정보수신동의',
    '광고동의',
    '마케팅수신동의',
    '마케팅동의',
    '광고수신동의여부',
    '마케팅수신동의여부',
    'adconsent',
    'advertisingconsent',
    'marketingconsent',
  ],
  nightConsent: [
    '야간수신동의',
    '야간광고수신동의',
    '야간동의',
    '야간수신동의여부',
    '야간광고수신동의여부',
    'nightconsent',
    'nighttimeconsent',
  ],
  consentDate: [
    '동의일자',
    '동의일',
    '동의일시',
    '수신동의일자',
    '수신동의일',
    '광고수신동의일자',
    '광고수신동의일',
    '마케팅수신동의일자',
    'consentdate',
    'consentedat',
  ],
};

const FIELD_OF = new Map<string, { field: RecipientField; rank: number }>();
for (const [field, aliases] of Object.entries(ALIASES) as Array<[RecipientField, readonly string[]]>)
  aliases.forEach((alias, rank) => FIELD_OF.set(alias, { field, rank }));

/** Lower case without spaces, punctuation, BOM or zero-width characters: '휴대폰 번호(필수)' → '휴대폰번호'. */
export function normalizeHeader(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\((?:필수|선택|required|optional)\)|\*/giu, '')
    .replace(/[\s\p{P}\p{Cf}]/gu, '')
    .toLowerCase();
}

export interface HeaderMap {
  /** Column index of each recipient field found. */
  fields: Partial<Record<RecipientField, number>>;
  /** Template variables: header text (trimmed) and column index, in sheet order. */
  vars: Array<{ name: string; column: number }>;
}

/** Maps one header row; returns undefined when it has no phone column (so it is not the header row). */
export function mapHeaderRow(cells: ReadonlyArray<string | undefined>): HeaderMap | undefined {
  const fields: HeaderMap['fields'] = {};
  const ranks: Partial<Record<RecipientField, number>> = {};
  const vars: HeaderMap['vars'] = [];
  const varNames = new Set<string>();
  cells.forEach((raw, column) => {
    const text = raw?.trim() ?? '';
    if (text === '') return;
    const known = FIELD_OF.get(normalizeHeader(text));
    if (known && (ranks[known.field] === undefined || known.rank < (ranks[known.field] as number))) {
      // The column it displaces (a lower-ranked alias) becomes a variable instead.
      const displaced = fields[known.field];
      if (displaced !== undefined) addVar(cells[displaced]?.trim() ?? '', displaced);
      fields[known.field] = column;
      ranks[known.field] = known.rank;
    } else {
      addVar(text, column);
    }
  });
  if (fields.phone === undefined) return undefined;
  vars.sort((a, b) => a.column - b.column);
  return { fields, vars };

  function addVar(name: string, column: number): void {
    // A repeated header keeps its first column: #{name} must mean one thing.
    if (name === '' || varNames.has(name)) return;
    varNames.add(name);
    vars.push({ name, column });
  }
}
