import { test } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { IngestError } from './errors.ts';
import { KoreanTextDecoder, looksLikeUtf8 } from './encoding.ts';

async function decode(bytes: Buffer, chunk = 5): Promise<{ text: string; encoding: string | undefined }> {
  const decoder = new KoreanTextDecoder();
  const out: Buffer[] = [];
  decoder.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('end', resolve);
    decoder.on('error', reject);
  });
  for (let at = 0; at < bytes.length; at += chunk) decoder.write(bytes.subarray(at, at + chunk));
  decoder.end();
  await done;
  return { text: Buffer.concat(out).toString('utf8'), encoding: decoder.encoding };
}

const TEXT = '이름,휴대폰번호\r\n김철수,010-1234-5678\r\n남궁민수,01098765432\r\n';

test('UTF-8 with and without BOM, and CP949, all decode to the same text (chunks split characters)', async () => {
  const plain = await decode(Buffer.from(TEXT));
  assert.deepEqual(plain, { text: TEXT, encoding: 'utf-8' });
  const bom = await decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]));
  assert.deepEqual(bom, { text: TEXT, encoding: 'utf-8' });
  const cp949 = await decode(iconv.encode(TEXT, 'cp949'), 3);
  assert.deepEqual(cp949, { text: TEXT, encoding: 'cp949' });
});

test('the decision waits for the first non-ASCII byte, however late it comes', async () => {
  const late = 'phone,name\r\n' + '01012345678,kim\r\n'.repeat(10_000) + '01011112222,김철수\r\n';
  const result = await decode(iconv.encode(late, 'cp949'), 4096);
  assert.equal(result.encoding, 'cp949');
  assert.equal(result.text, late);
  assert.equal((await decode(Buffer.from('a,b\r\n1,2\r\n'))).encoding, undefined);
});

test('UTF-16 and a file that switches encoding half-way are refused with a typed error', async () => {
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]);
  await assert.rejects(
    decode(utf16),
    (err: unknown) => err instanceof IngestError && err.code === 'unsupported-encoding',
  );
  const utf8Header = Buffer.from('이름,휴대폰번호,매장,메모,광고수신동의,야간수신동의,동의일자\r\n');
  const mixed = Buffer.concat([utf8Header, iconv.encode('김철수,01012345678\r\n'.repeat(50), 'cp949')]);
  await assert.rejects(
    decode(mixed, 64),
    (err: unknown) => err instanceof IngestError && err.code === 'unsupported-encoding',
  );
});

test('looksLikeUtf8 tolerates a character cut at the end of the sample only', () => {
  const bytes = Buffer.from('김철수');
  assert.equal(looksLikeUtf8(bytes.subarray(0, 4)), true);
  assert.equal(looksLikeUtf8(iconv.encode('김철수', 'cp949')), false);
});
