import * as k8s from '@kubernetes/client-node';
import type { Logger } from '@anshim/core';
import { type MessagingCampaign } from '@anshim/api';

export type EventType = 'Normal' | 'Warning';

/**
 * Kubernetes Events on a campaign (`kubectl describe mc` shows them). The same event repeated
 * within the window is folded into one, like the kubelet's event aggregation.
 */
export class EventRecorder {
  private readonly core: k8s.CoreV1Api;
  private readonly recent = new Map<string, number>();

  constructor(
    kc: k8s.KubeConfig,
    private readonly log: Logger,
    private readonly instance: string,
    private readonly windowMs = 5 * 60_000,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async emit(
    mc: Pick<MessagingCampaign, 'apiVersion' | 'kind' | 'metadata'>,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const key = `${mc.metadata.uid}|${reason}|${message}`;
    const now = Date.now();
    if ((this.recent.get(key) ?? -Infinity) > now - this.windowMs) return;
    this.recent.set(key, now);
    const at = new Date(now);
    try {
      await this.core.createNamespacedEvent({
        namespace: mc.metadata.namespace,
        body: {
          metadata: { generateName: `${mc.metadata.name}.`, namespace: mc.metadata.namespace },
          involvedObject: {
            apiVersion: mc.apiVersion,
            kind: mc.kind ?? 'MessagingCampaign',
            name: mc.metadata.name,
            namespace: mc.metadata.namespace,
            uid: mc.metadata.uid,
            resourceVersion: mc.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          count: 1,
          firstTimestamp: at,
          lastTimestamp: at,
          source: { component: 'anshim-operator' },
          reportingComponent: 'anshim-operator',
          reportingInstance: this.instance,
        },
      });
    } catch (err) {
      // An event is a courtesy: failing to write one never fails a reconcile.
      this.log.warn({ reason, err: (err as Error).message }, 'event not recorded');
    }
  }
}
