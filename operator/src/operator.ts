import type * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { durableAdmin, saslConfig, type KafkaCredentials } from '@anshim/kafka';
import { AnomalyMonitor, AuditChain, KafkaAuditStore, ensureAuditTopic, type SigningKeyPair } from '@anshim/compliance';
import type { KeyEncryptionKeyProvider, Logger } from '@anshim/core';
import { campaignRefOf, ensureDataPlaneTopics } from '@anshim/api';
import { CampaignController } from './controller.ts';
import { OperatorAudit, SignedCertificateRecorder } from './certificates.ts';
import type { DestructionRecorder } from './destruction.ts';
import { EventRecorder } from './events.ts';
import type { OperatorState } from './health.ts';
import { KubernetesKeyStore } from '@anshim/keystore';
import { LeaderElector } from './leader.ts';
import { ProgressFeed } from './progress-feed.ts';
import { CampaignReconciler } from './reconciler.ts';
import { OperatorMetrics } from './telemetry.ts';
import { MOUNTS } from './workers.ts';
import type { NamespaceKeyAccess } from './namespace-keys.ts';

export interface OperatorConfig {
  kc: k8s.KubeConfig;
  brokers: string[];
  /** The operator's Kafka user (its grants: create and delete topics, read progress, the workers' offsets). */
  kafkaCredentials?: KafkaCredentials;
  /**
   * What wraps each campaign's data key: a key per campaign in the KMS (TransitKekProvider), or
   * (development) the namespace's KEK derived from the platform KEK (NamespaceKekProvider).
   */
  kek: KeyEncryptionKeyProvider;
  /** Retired KEKs still able to unwrap; keys found under them are re-wrapped under `kek` (KEK rotation, or a move into the KMS). */
  previousKeks?: KeyEncryptionKeyProvider[];
  /** What each namespace's workers unwrap with, written into the namespace for them. */
  namespaceKeys: NamespaceKeyAccess;
  identity: string;
  leaseNamespace: string;
  leaseName?: string;
  /** Reconcile campaigns of this namespace only. */
  watchNamespace?: string;
  log: Logger;
  /** Signs destruction certificates (Ed25519). */
  signingKey: SigningKeyPair;
  /** Also write each certificate here (the quick start prints the path). */
  certificateDir?: string;
  /** Who signs, as certificates name it (`anshim-operator@<cluster>`). */
  issuer?: string;
  destruction?: DestructionRecorder;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/**
 * The operator process: campaigns for the Lease, and while it holds it runs the progress
 * feed and the campaign controller. Losing the lease stops both before anyone else can lead.
 */
export class Operator {
  private readonly elector: LeaderElector;
  private readonly kafka: Kafka;
  private readonly fastKafka: Kafka;
  private running:
    { admin: Admin; feed: ProgressFeed; controller: CampaignController; closeAudit: () => Promise<void> } | undefined;
  private transition: Promise<void> = Promise.resolve();
  private readonly metrics = new OperatorMetrics();

  constructor(private readonly cfg: OperatorConfig) {
    this.kafka = new Kafka({
      clientId: `anshim-operator-${cfg.identity}`,
      brokers: cfg.brokers,
      ...saslConfig(cfg.kafkaCredentials),
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => cfg.log.warn({ kafka: entry.namespace, error: entry.log.error }, entry.log.message),
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.fastKafka = new Kafka({
      clientId: `anshim-operator-${cfg.identity}-admin`,
      brokers: cfg.brokers,
      ...saslConfig(cfg.kafkaCredentials),
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => cfg.log.warn({ kafka: entry.namespace, error: entry.log.error }, entry.log.message),
      connectionTimeout: 3000,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    this.elector = new LeaderElector(
      cfg.kc,
      {
        namespace: cfg.leaseNamespace,
        name: cfg.leaseName ?? 'anshim-operator',
        identity: cfg.identity,
        leaseDurationMs: cfg.leaseDurationMs,
        renewDeadlineMs: cfg.renewDeadlineMs,
        retryPeriodMs: cfg.retryPeriodMs,
      },
      {
        onStartedLeading: () => this.serialise(() => this.lead()),
        onStoppedLeading: () => this.serialise(() => this.standDown()),
      },
      cfg.log,
    );
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  /** What the health endpoints judge (health.ts). */
  get state(): OperatorState {
    return { election: this.elector.state, controller: this.running?.controller.state };
  }

  start(): void {
    this.elector.start();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    await this.serialise(() => this.standDown());
  }

  private serialise(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(step, step);
    return this.transition;
  }

  private async lead(): Promise<void> {
    const { kc, log, identity } = this.cfg;
    // The control loop fails fast on Kafka and retries on its own schedule (a condition, not a hang).
    // Durable: this admin reads the offsets of every campaign's topics, and a topic deleted by
    // anyone but this admin (an SRE, a second install) would otherwise fail all its later calls.
    const admin = durableAdmin(
      () => this.fastKafka.admin(),
      (_what, err) => log.warn({ err: err.name }, 'a topic the admin client used was deleted; using a fresh one'),
    );
    const keys = new KubernetesKeyStore(kc, [this.cfg.kek, ...(this.cfg.previousKeks ?? [])]);
    const feed = new ProgressFeed(
      this.kafka,
      log,
      (campaignId) => {
        // Workers outside the operator (tests, benchmarks) report ids that name no campaign object.
        if (!campaignId.includes('.')) return;
        const { namespace, name } = campaignRefOf(campaignId);
        this.running?.controller.enqueue(`${namespace}/${name}`);
      },
      // A group of its own: every operator (other installs, other namespaces) reads the whole topic.
      `anshim-operator-progress.${identity}`,
    );
    const events = new EventRecorder(kc, log, identity);
    let auditStore: KafkaAuditStore | undefined;
    const monitor = new AnomalyMonitor({
      onAlert: (alert) => {
        log.warn({ rule: alert.rule, subject: alert.subject, severity: alert.severity }, alert.reason);
        if (!alert.subject.includes('.')) return;
        const { namespace, name } = campaignRefOf(alert.subject);
        void events.emit(
          { apiVersion: 'messaging.anshim.io/v1alpha1', kind: 'MessagingCampaign', metadata: { namespace, name } },
          'Warning',
          `Anomaly:${alert.rule}`,
          alert.reason,
        );
      },
    });
    // One chain per install (its Lease): the leader is its only writer, and reopening fences a previous leader.
    const audit = new OperatorAudit(async () => {
      await ensureAuditTopic(admin);
      auditStore ??= await KafkaAuditStore.connect(this.fastKafka);
      return AuditChain.open(auditStore, `operator.${this.cfg.leaseNamespace}`, {
        onAppend: (e) => monitor.observe(e),
      });
    });
    const reconciler = new CampaignReconciler({
      kc,
      admin,
      keys,
      workerKek: this.cfg.namespaceKeys.workerKek(MOUNTS.kek),
      namespaceKeys: this.cfg.namespaceKeys,
      progress: feed,
      events,
      audit,
      metrics: this.metrics,
      destruction:
        this.cfg.destruction ??
        new SignedCertificateRecorder(
          kc,
          audit,
          this.cfg.signingKey,
          this.cfg.issuer ?? `anshim-operator@${identity}`,
          this.cfg.certificateDir,
        ),
      log,
    });
    const controller = new CampaignController(kc, reconciler, log, this.cfg.watchNamespace);
    this.running = { admin, feed, controller, closeAudit: async () => auditStore?.close() };
    // Kafka may be down when we win the lease: keep trying, the controller reports it per campaign.
    await admin.connect().catch((err: Error) => log.warn({ err: err.message }, 'Kafka admin not connected yet'));
    let topicsEnsured = await ensureDataPlaneTopics(admin).then(
      () => true,
      (err: Error) => (log.warn({ err: err.message }, 'data-plane topics not ensured yet'), false),
    );
    // The feed (and, if they failed above, the data-plane topics) keep trying in the background;
    // until the feed has read the progress topic, the reconciler leaves counts and completion alone.
    void feed.startInBackground(
      (err) => log.warn({ err: err.message }, 'progress feed not started yet; trying again'),
      async () => {
        if (topicsEnsured) return;
        await ensureDataPlaneTopics(admin);
        topicsEnsured = true;
      },
    );
    await controller.start();
    log.info({ identity }, 'reconciling campaigns');
  }

  private async standDown(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    this.metrics.clear();
    if (!r) return;
    await r.controller.stop();
    await r.feed.stop().catch(() => undefined);
    await r.closeAudit().catch(() => undefined);
    await r.admin.disconnect().catch(() => undefined);
  }
}
