import * as k8s from '@kubernetes/client-node';
import type { Logger } from '@anshim/core';
import { GROUP, PLURAL, VERSION, type MessagingCampaign } from '@anshim/api';
import type { CampaignReconciler } from './reconciler.ts';

export interface ControllerState {
  running: boolean;
  /** Connected to its watch, or a restart of it is scheduled. */
  watching: boolean;
  /** The reconcile in progress: campaign key and start time. */
  reconciling?: { key: string; since: number };
}

/**
 * Watches MessagingCampaigns through an informer (which relists after 410 Gone) and
 * reconciles one key at a time; failures back off exponentially per key.
 */
export class CampaignController {
  private readonly informer: k8s.Informer<MessagingCampaign> & k8s.ObjectCache<MessagingCampaign>;
  private readonly queue = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = false;
  private draining: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private reconciling: { key: string; since: number } | undefined;

  constructor(
    kc: k8s.KubeConfig,
    private readonly reconciler: CampaignReconciler,
    private readonly log: Logger,
    /** Watch one namespace only (an operator per tenant, or a test); all namespaces when absent. */
    namespace?: string,
  ) {
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    // makeInformer returns a ListWatch: an informer that is also the cache the queue reads from.
    this.informer = k8s.makeInformer<MessagingCampaign>(
      kc,
      namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      () =>
        (namespace
          ? api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })
          : api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<
          k8s.KubernetesListObject<MessagingCampaign>
        >,
    ) as k8s.ListWatch<MessagingCampaign>;
    const enqueue = (mc: MessagingCampaign) => this.enqueue(`${mc.metadata.namespace}/${mc.metadata.name}`);
    this.informer.on(k8s.ADD, enqueue);
    this.informer.on(k8s.UPDATE, enqueue);
    this.informer.on(k8s.DELETE, enqueue);
    this.informer.on(k8s.CONNECT, () => {
      this.watching = true;
    });
    this.informer.on(k8s.ERROR, (err: unknown) => {
      this.watching = false;
      if (!this.running) return;
      this.log.warn({ err: (err as Error | undefined)?.message }, 'watch failed; restarting');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        void this.informer.start().catch(() => undefined);
      }, 2000);
    });
  }

  /** For the liveness check: the informer loop is watching or about to restart, and which reconcile runs since when. */
  get state(): ControllerState {
    return {
      running: this.running,
      watching: this.watching || this.restartTimer !== undefined,
      reconciling: this.reconciling,
    };
  }

  async start(): Promise<void> {
    this.running = true;
    await this.informer.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const t of this.timers.values()) clearTimeout(t);
    await this.informer.stop();
    await this.draining;
  }

  /** Reconcile `namespace/name` soon (e.g. when its workers' progress moved). */
  enqueue(key: string): void {
    if (!this.running) return;
    this.queue.add(key);
    this.draining = this.draining.then(() => this.drain());
  }

  private async drain(): Promise<void> {
    for (const key of this.queue) {
      this.queue.delete(key);
      if (!this.running) return;
      const [namespace, name] = key.split('/');
      const mc = name ? this.informer.get(name, namespace) : undefined;
      if (!mc) continue;
      let retryAfter: number | undefined;
      this.reconciling = { key, since: Date.now() };
      try {
        retryAfter = (await this.reconciler.reconcile(mc)).requeueAfterMs;
        this.failures.delete(key);
      } catch (err) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        retryAfter = Math.min(60_000, 250 * 2 ** n);
        this.log.warn({ campaign: key, attempt: n, err: (err as Error).message }, 'reconcile failed; will retry');
      } finally {
        this.reconciling = undefined;
      }
      if (retryAfter !== undefined && this.running) {
        clearTimeout(this.timers.get(key));
        this.timers.set(
          key,
          setTimeout(() => this.enqueue(key), retryAfter),
        );
      }
    }
  }
}
