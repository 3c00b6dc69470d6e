import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { REDACTED, createLogger } from './log.ts';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string; stream: Writable } {
  let raw = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      raw += String(chunk);
      cb();
    },
  });
  return {
    stream,
    raw: () => raw,
    lines: () =>
      raw
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

// Canary numbers a privacy scan would look for, in several spellings.
const CANARIES = ['01099990001', '010-9999-0002', '+82 10 9999 0003', '+821099990004', '02-987-6543'];
const canaryDigits = ['99990001', '99990002', '9999 0003', '99990004', '987-6543'];

test('JSON lines carry level, time, component and message', () => {
  const out = capture();
  const log = createLogger('worker', { destination: out.stream });
  log.info({ campaignId: 'cmp-1', count: 3 }, 'batch sent');
  const [line] = out.lines();
  assert.equal(line?.level, 'info');
  assert.equal(line?.component, 'worker');
  assert.equal(line?.msg, 'batch sent');
  assert.equal(line?.campaignId, 'cmp-1');
  assert.equal(line?.count, 3);
  assert.equal(typeof line?.time, 'string');
});

test('sensitive fields are redacted at top level and one level down', () => {
  const out = capture();
  const log = createLogger('gateway', { destination: out.stream });
  log.info(
    {
      phone: 'x',
      name: '홍길동',
      recipient: { a: 1 },
      row: { phone: 'y', name: '김철수', vars: { coupon: 'A' } },
      campaignId: 'c',
    },
    'row',
  );
  const [line] = out.lines();
  assert.equal(line?.phone, REDACTED);
  assert.equal(line?.name, REDACTED);
  assert.equal(line?.recipient, REDACTED);
  assert.deepEqual(line?.row, { phone: REDACTED, name: REDACTED, vars: REDACTED });
  assert.equal(line?.campaignId, 'c');
  assert.ok(!out.raw().includes('홍길동') && !out.raw().includes('김철수'));
});

test('phone numbers are masked wherever they appear: message, args, fields, errors, child bindings', () => {
  const out = capture();
  const log = createLogger('worker', { destination: out.stream });
  log.info(`sending to ${CANARIES[0]}`);
  log.info('retry for %s', CANARIES[1]);
  log.warn({ detail: `carrier said ${CANARIES[2]} is off`, nested: { deep: [CANARIES[3]] } }, 'odd');
  log.error(new Error(`no such number ${CANARIES[4]}`), 'failed');
  log.error({ err: new Error(`bounced ${CANARIES[0]}`) }, 'bounced');
  log
    .child({ idempotencyKey: `cmp:${CANARIES[1]}` })
    .child({ x: CANARIES[3] })
    .info('child');
  const raw = out.raw();
  for (const digits of canaryDigits) assert.ok(!raw.includes(digits), `leaked ${digits}: ${raw}`);
  const lines = out.lines();
  assert.equal(lines.length, 6);
  assert.equal(lines[0]?.msg, 'sending to 010-****-0001');
  assert.equal(lines[1]?.msg, 'retry for 010-****-0002');
  const err = lines[3]?.err as { type: string; message: string } | undefined;
  assert.equal(err?.type, 'Error');
  assert.equal(err?.message, 'no such number 02-***-6543');
  assert.equal(lines[5]?.idempotencyKey, 'cmp:010-****-0002');
});

test('level filtering honours the option', () => {
  const out = capture();
  const log = createLogger('x', { destination: out.stream, level: 'warn' });
  log.info('hidden');
  log.warn('shown');
  assert.deepEqual(
    out.lines().map((l) => l.msg),
    ['shown'],
  );
});
