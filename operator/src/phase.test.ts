import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextPhase, type PhaseFacts } from './phase.ts';

const facts = (f: Partial<PhaseFacts>): PhaseFacts => ({
  provisioned: true,
  queued: 100,
  lag: 0,
  final: 0,
  ingestComplete: true,
  openEnded: false,
  ...f,
});

test('a campaign walks Pending → Provisioning → Sending → Draining → Completed', () => {
  assert.equal(nextPhase(undefined, facts({ provisioned: false })), 'Pending');
  assert.equal(nextPhase('Pending', facts({ queued: 0 })), 'Provisioning');
  assert.equal(nextPhase('Provisioning', facts({ lag: 40 })), 'Sending');
  assert.equal(nextPhase('Sending', facts({ lag: 0, final: 60 })), 'Draining');
  assert.equal(nextPhase('Draining', facts({ lag: 5, final: 60 })), 'Sending', 'more records arrived');
  assert.equal(nextPhase('Draining', facts({ final: 100 })), 'Completed');
});

test('a partial upload does not complete the campaign', () => {
  assert.equal(nextPhase('Draining', facts({ final: 100, ingestComplete: false })), 'Draining');
});

test('transactional and alert campaigns stay open for the next message', () => {
  assert.equal(nextPhase('Sending', facts({ final: 100, openEnded: true })), 'Sending');
  assert.equal(nextPhase('Sending', facts({ final: 60, openEnded: true })), 'Sending', 'never Draining between OTPs');
});

test('a provisioning error later on does not send a running campaign back to Pending', () => {
  assert.equal(nextPhase('Sending', facts({ provisioned: false })), 'Sending');
});

test('terminal phases only move by destruction', () => {
  for (const p of ['Completed', 'Destroyed', 'Failed'] as const) assert.equal(nextPhase(p, facts({ lag: 10 })), p);
});
