import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, generateDataKey, type DataKey } from '@anshim/core';
import {
  repoRoot,
  restartKafka,
  createCampaignTopic,
  fakeRecipients,
  produceRecipients,
  readKeyed,
  stackKafka,
  TestCarriers,
  textCampaign,
  waitFor,
} from '@anshim/dev-platform';
import { ReportBatchRecord } from '@anshim/proto';
import { TOPICS, campaignTopic, reportId } from '@anshim/api';
import { StaticCampaignDirectory, type CampaignSpec } from './campaign.ts';
import { StaticCampaignKeys } from './keys.ts';
import { MessagingWorker } from './worker.ts';

/** Stable ids (reportId) of a campaign's reports on anshim.reports, once `total` distinct ones are there. */
async function reportIds(kafka: ReturnType<typeof stackKafka>, campaignId: string, total: number): Promise<string[]> {
  const ids = (values: Buffer[]) =>
    values.flatMap((v) => ReportBatchRecord.decode(v).reports.map((r) => reportId(r.report ?? {})));
  const values = await readKeyed(kafka, TOPICS.reports, campaignId, (f) => new Set(ids(f)).size >= total, 120_000);
  return ids(values);
}

const MNOS = ['skt', 'kt', 'lguplus'] as const;

describe('worker faults against the real components', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anshim-faults-'));
  const kafka = stackKafka('faults-it');
  const carriers = new TestCarriers();
  const children: ChildProcess[] = [];

  before(async () => {
    await carriers.start({ logger: createLogger('simulator', { destination: join(tmp, 'simulator.log') }) }, [...MNOS]);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await carriers.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function campaign(name: string, count: number): Promise<{ spec: CampaignSpec; dataKey: DataKey }> {
    const spec = textCampaign(`${name}-${Date.now()}`, { processors: [...MNOS] });
    const dataKey = generateDataKey(spec.id);
    await createCampaignTopic(kafka, campaignTopic(spec.id), 6);
    await produceRecipients(kafka, campaignTopic(spec.id), dataKey, spec.id, fakeRecipients(count));
    return { spec, dataKey };
  }

  function inProcessWorker(spec: CampaignSpec, dataKey: DataKey): MessagingWorker {
    const keys = new StaticCampaignKeys();
    keys.add(spec.id, { id: dataKey.id, material: dataKey.material });
    return new MessagingWorker(carriers.workerConfig(spec, { sessionTimeoutMs: 6000 }), {
      campaigns: new StaticCampaignDirectory([spec]),
      keys,
      log: createLogger('worker', { destination: join(tmp, 'worker.log') }),
    });
  }

  function workerProcess(configPath: string, id: string): ChildProcess {
    const out = openSync(join(tmp, `${id}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker/src/main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, ANSHIM_WORKER_CONFIG: configPath, ANSHIM_WORKER_ID: id },
      stdio: ['ignore', out, out],
    });
    children.push(child);
    return child;
  }

  test(
    'kill -9 of a worker mid-campaign: another finishes it, every message accepted exactly once',
    { timeout: 240_000 },
    async () => {
      const total = 20_000;
      const { spec, dataKey } = await campaign('kill9', total);
      const config = await carriers.workerFile(tmp, spec, dataKey, { sessionTimeoutMs: 6000, chunkSize: 250 });
      const first = workerProcess(config, 'worker-a');
      await waitFor('the first worker to get going', () => carriers.accepted(spec.id) >= 3000, 120_000);
      process.kill(first.pid!, 'SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const before = carriers.accepted(spec.id);
      assert.ok(before < total, `killed mid-campaign (${before}/${total} accepted)`);

      const second = workerProcess(config, 'worker-b');
      await waitFor('the second worker to finish the campaign', () => carriers.accepted(spec.id) >= total, 180_000);
      assert.equal(carriers.accepted(spec.id), total);
      assert.equal(carriers.reaccepted(spec.id), 0, 'no message reached a handset twice');

      // SIGTERM drains and exits cleanly, with its counters.
      const exited = new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
      process.kill(second.pid!, 'SIGTERM');
      assert.equal(await exited, 0);
      const stats = readFileSync(join(tmp, 'worker-b.log'), 'utf8')
        .split('\n')
        .find((l) => l.includes('"stopped":true'));
      assert.ok(stats, 'the drained worker printed its final stats');
      const sent = (JSON.parse(stats) as { campaigns: Array<{ sent: number }> }).campaigns.reduce(
        (n, c) => n + c.sent,
        0,
      );
      assert.ok(sent >= total - before, `the second worker sent the remainder (${sent})`);
    },
  );

  test(
    'kill -9 of a worker holding reports it had not made durable: the next worker gets them, none is lost',
    { timeout: 300_000 },
    async () => {
      const total = 12_000;
      const { spec, dataKey } = await campaign('reports-kill9', total);
      // Paced carriers keep reports flowing while the first worker is stopped and killed.
      for (const c of MNOS) carriers.sim(c).setThrottle(1000);
      const unacknowledged = () => MNOS.reduce((n, c) => n + carriers.sim(c).reportsUnacknowledged, 0);
      const pending = () => MNOS.reduce((n, c) => n + (carriers.sim(c).ledger.campaign(spec.id)?.pending ?? 0), 0);
      const redelivered = () => MNOS.reduce((n, c) => n + carriers.sim(c).ledger.reportsRedelivered, 0);
      try {
        const config = await carriers.workerFile(tmp, spec, dataKey, { sessionTimeoutMs: 6000, chunkSize: 250 });
        const first = workerProcess(config, 'reports-a');
        // Frozen (SIGSTOP) the worker acknowledges nothing; once every report its carriers owe it
        // is written, what it holds unacknowledged is what the kill must not lose. If it happened
        // to have acknowledged everything, let it run a little further and freeze it again.
        let held = 0;
        for (let from = 2000; held === 0; from += 500) {
          await waitFor(`the first worker past ${from} messages`, () => carriers.accepted(spec.id) >= from, 120_000);
          process.kill(first.pid!, 'SIGSTOP');
          await waitFor("the carriers' reports for the frozen worker produced", () => pending() === 0, 30_000);
          held = unacknowledged();
          if (held === 0) process.kill(first.pid!, 'SIGCONT');
          assert.ok(carriers.accepted(spec.id) < total, 'the worker was frozen with reports in hand, mid-campaign');
        }
        const redeliveredBefore = redelivered();
        process.kill(first.pid!, 'SIGKILL');
        await new Promise((r) => first.once('exit', r));
        await waitFor(
          'the killed stream noticed by the carriers',
          () => redelivered() >= redeliveredBefore + held,
          60_000,
        );

        const second = workerProcess(config, 'reports-b');
        await waitFor('the second worker to finish the campaign', () => carriers.accepted(spec.id) >= total, 180_000);
        const ids = await reportIds(kafka, spec.id, total);
        const distinct = new Set(ids);
        const missing = total - distinct.size;
        const duplicated = ids.length - distinct.size;
        console.log(
          `kill -9 with ${held} reports unacknowledged: reports lost ${missing}, duplicated (by report id) ${duplicated}`,
        );
        assert.equal(missing, 0);
        assert.equal(carriers.reaccepted(spec.id), 0, 'no message reached a handset twice');
        const exited = new Promise((r) => second.once('exit', r));
        process.kill(second.pid!, 'SIGTERM');
        await exited;
      } finally {
        for (const c of MNOS) carriers.sim(c).setThrottle(null);
      }
    },
  );

  test(
    'a carrier UNAVAILABLE for seconds and another throttling: everything arrives, nothing twice',
    { timeout: 180_000 },
    async () => {
      const total = 6000;
      const { spec, dataKey } = await campaign('outage', total);
      const skt = carriers.sim('skt');
      const kt = carriers.sim('kt');
      const unavailableBefore = skt.ledger.unavailable;
      const throttledBefore = kt.ledger.throttled;
      skt.setOutage(true);
      kt.setThrottle(300);
      const worker = inProcessWorker(spec, dataKey);
      await worker.start();
      try {
        // The outage lasts until the worker has met it, however long the worker takes to get there.
        await waitFor('the worker to meet the outage', () => skt.ledger.unavailable > unavailableBefore, 60_000);
        skt.setOutage(false);
        await waitFor('all messages accepted', () => carriers.accepted(spec.id) >= total, 150_000);
        assert.equal(carriers.accepted(spec.id), total);
        assert.equal(carriers.reaccepted(spec.id), 0);
        assert.ok(skt.ledger.unavailable > unavailableBefore, 'the outage was felt');
        assert.ok(kt.ledger.throttled > throttledBefore, 'the throttle was felt');
        assert.deepEqual(worker.progress.get(spec.id)?.deadLettered, {}, 'nothing gave up');
      } finally {
        kt.setThrottle(null);
        await worker.stop();
      }
    },
  );

  test('a Kafka broker restart mid-campaign: the run completes', { timeout: 240_000 }, async () => {
    const total = 10_000;
    const { spec, dataKey } = await campaign('restart', total);
    // Carriers paced at 1,000/s each keep the campaign running while the broker restarts.
    for (const c of MNOS) carriers.sim(c).setThrottle(1000);
    const worker = inProcessWorker(spec, dataKey);
    await worker.start();
    try {
      await waitFor('the campaign under way', () => carriers.accepted(spec.id) >= 1500, 60_000);
      await restartKafka();
      assert.ok(carriers.accepted(spec.id) < total, 'the broker restarted mid-campaign');
      await waitFor('all messages accepted after the restart', () => carriers.accepted(spec.id) >= total, 180_000);
      assert.equal(carriers.accepted(spec.id), total);
      assert.equal(carriers.reaccepted(spec.id), 0);
    } finally {
      for (const c of MNOS) carriers.sim(c).setThrottle(null);
      await worker.stop();
    }
  });
});
