// Unit level: profiles, the registry and the small pieces the server is built from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CARRIERS, SimulatedPortabilityDirectory } from '@anshim/core';
import { Channel, ResultCode } from '@anshim/proto';
import { exceedsTextLimit } from '@anshim/core';
import { CARRIER_PROFILES, kakaoMembershipOf } from './carriers/index.ts';
import { DedupeWindow } from './dedupe.ts';
import { CarrierLedger } from './ledger.ts';
import { TokenBucket } from './throttle.ts';

const options = {
  portability: new SimulatedPortabilityDirectory('unit'),
  kakaoTemplates: new Set(['T1']),
  kakaoAudience: { notUserShare: 0.1, blockedShare: 0.05 },
  seed: 'unit',
};

describe('carrier profiles', () => {
  it('has one profile per carrier the platform names, each carrying its own channels', () => {
    assert.deepEqual(Object.keys(CARRIER_PROFILES).sort(), [...CARRIERS].sort());
    for (const id of CARRIERS) assert.equal(CARRIER_PROFILES[id](options).id, id);
    assert.ok(CARRIER_PROFILES.kakao(options).channels.has(Channel.ALIMTALK));
    assert.ok(!CARRIER_PROFILES.skt(options).channels.has(Channel.ALIMTALK));
  });

  it('routes by the portability directory, not by prefix', () => {
    const operators = ['skt', 'kt', 'lguplus'] as const;
    for (let i = 0; i < 50; i++) {
      const recipient = `0109000${String(i).padStart(4, '0')}`;
      const home = options.portability.operatorOf(recipient);
      for (const op of operators) {
        const result = CARRIER_PROFILES[op](options).screen({
          channel: Channel.SMS,
          recipient,
          text: 'x',
          templateCode: '',
        });
        assert.equal(result, op === home ? undefined : ResultCode.NUMBER_PORTED);
      }
    }
  });

  it('counts SMS length in CP949 bytes', () => {
    assert.equal(exceedsTextLimit(Channel.SMS, '가'.repeat(45)), false);
    assert.equal(exceedsTextLimit(Channel.SMS, '가'.repeat(46)), true);
    assert.equal(exceedsTextLimit(Channel.SMS, 'a'.repeat(90)), false);
    assert.equal(exceedsTextLimit(Channel.SMS, 'a'.repeat(91)), true);
    assert.equal(exceedsTextLimit(Channel.RCS, 'a'.repeat(5000)), false);
  });

  it('picks non-Kakao users deterministically and in about the configured shares', () => {
    const counts = { user: 0, 'not-user': 0, blocked: 0 };
    for (let i = 0; i < 20_000; i++) {
      const n = `010${String(i).padStart(8, '0')}`;
      const m = kakaoMembershipOf(n, 'unit', options.kakaoAudience);
      assert.equal(kakaoMembershipOf(n, 'unit', options.kakaoAudience), m);
      counts[m]++;
    }
    assert.ok(Math.abs(counts['not-user'] / 20_000 - 0.1) < 0.01, JSON.stringify(counts));
    assert.ok(Math.abs(counts.blocked / 20_000 - 0.05) < 0.01, JSON.stringify(counts));
  });
});

describe('building blocks', () => {
  it('token bucket admits a second of burst, then refills at the rate', () => {
    const bucket = new TokenBucket(10, 0);
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (bucket.take(0)) admitted++;
    assert.equal(admitted, 10);
    assert.equal(bucket.take(50), false);
    assert.equal(bucket.take(100), true);
    assert.equal(bucket.retryAfterMs(0), 100);
  });

  it('dedupe window forgets keys older than the window', () => {
    const window = new DedupeWindow(100);
    window.add('a', 0);
    window.add('b', 50);
    window.evict(120);
    assert.equal(window.has('a'), false);
    assert.equal(window.has('b'), true);
  });

  it('ledger counts results per campaign and spots a second delivery of one message', () => {
    const ledger = new CarrierLedger();
    ledger.recordAccepted('c', 'm1');
    ledger.recordAccepted('c', 'm2');
    assert.equal(ledger.pending, 2);
    ledger.recordResult('c', 'm1', ResultCode.DELIVERED);
    ledger.recordResult('c', 'm2', ResultCode.HANDSET_OFF);
    ledger.recordAccepted('c', 'm1');
    ledger.recordResult('c', 'm1', ResultCode.DELIVERED);
    assert.deepEqual(ledger.campaign('c'), {
      accepted: 3,
      messages: 2,
      reaccepted: 1,
      deliveredAgain: 1,
      pending: 0,
      byResult: { DELIVERED: 2, HANDSET_OFF: 1 },
    });
    assert.deepEqual(ledger.deliveredMessageIds('c'), ['m1']);
  });
});
