// The operator's metrics: per-campaign consumer lag and worker replicas, as the reconciler
// last saw them. Only the leader reconciles, so only the leader reports them.
import { metrics, type Meter } from '@opentelemetry/api';
import { guardedGauge, type GuardedGauge } from '@anshim/telemetry';

export class OperatorMetrics {
  private readonly lag: GuardedGauge<'campaign'>;
  private readonly replicas: GuardedGauge<'campaign'>;

  /** The meter defaults to the process's global one: construct after startTelemetry. */
  constructor(meter: Meter = metrics.getMeter('@anshim/operator')) {
    this.lag = guardedGauge(meter, 'anshim_campaign_consumer_lag', {
      description: "Records on the campaign's topic not yet committed by its worker group (what scaling follows)",
      labels: ['campaign'],
    });
    this.replicas = guardedGauge(meter, 'anshim_campaign_worker_replicas', {
      description: "Worker replicas the operator set on the campaign's Deployment",
      labels: ['campaign'],
    });
  }

  /** A reconcile's view of one campaign; lag undefined when it was not read (settled campaigns). */
  observe(campaignId: string, seen: { lag?: number; replicas: number }): void {
    const labels = { campaign: campaignId };
    if (seen.lag === undefined) this.lag.delete(labels);
    else this.lag.set(labels, seen.lag);
    this.replicas.set(labels, seen.replicas);
  }

  /** The campaign's data is destroyed: its series end. */
  forget(campaignId: string): void {
    this.lag.delete({ campaign: campaignId });
    this.replicas.delete({ campaign: campaignId });
  }

  /** Standing down as leader: another operator reports from now on. */
  clear(): void {
    this.lag.clear();
    this.replicas.clear();
  }
}
