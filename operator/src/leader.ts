import * as k8s from '@kubernetes/client-node';
import type { Logger } from '@anshim/core';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** A holder that has not renewed for this long has lost the lease (client-go default 15 s). */
  leaseDurationMs?: number;
  /** A leader that cannot renew within this long steps down before anyone can take over (10 s). */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew (2 s). */
  retryPeriodMs?: number;
}

export interface ElectionState {
  leading: boolean;
  /** When start() was called (0: not started). */
  startedAt: number;
  /** When the last acquire-or-renew round ended, whatever its outcome. */
  lastRoundAt: number;
  /** When a round last got its answers from the API server (won, or lost to another holder). */
  lastAnsweredAt: number;
  /** What the running round waits for: a Lease request, or taking or giving up the lead (the operator's callbacks). */
  busy?: { what: 'lease' | 'transition'; since: number };
  retryPeriodMs: number;
  leaseDurationMs: number;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * optimistic concurrency on the Lease's resourceVersion decides races, and a leader steps
 * down when it cannot renew within the deadline, which is shorter than the lease duration,
 * so two replicas never reconcile at once.
 */
export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly o: Required<LeaderElectionOptions>;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenew = 0;
  private startedAt = 0;
  private lastRoundAt = 0;
  private lastAnsweredAt = 0;
  private busy: ElectionState['busy'];
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    kc: k8s.KubeConfig,
    opts: LeaderElectionOptions,
    private readonly callbacks: {
      onStartedLeading: () => Promise<void> | void;
      onStoppedLeading: () => Promise<void> | void;
    },
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(k8s.CoordinationV1Api);
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** For health checks: whether the loop still turns, and when the API server last answered it. */
  get state(): ElectionState {
    return {
      leading: this.leading,
      startedAt: this.startedAt,
      lastRoundAt: this.lastRoundAt,
      lastAnsweredAt: this.lastAnsweredAt,
      busy: this.busy,
      retryPeriodMs: this.o.retryPeriodMs,
      leaseDurationMs: this.o.leaseDurationMs,
    };
  }

  private standingBy = false;

  start(): void {
    this.startedAt = Date.now();
    const loop = () => {
      this.tick = this.tick.then(() => this.tryAcquireOrRenew());
      void this.tick.then(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.o.retryPeriodMs);
      });
    };
    loop();
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    if (this.leading) {
      await this.setLeading(false);
      await this.release().catch((err: Error) => this.log.warn({ err: err.message }, 'lease not released'));
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    try {
      this.busy = { what: 'lease', since: now };
      const won = await this.acquireOrRenew(now);
      this.lastAnsweredAt = Date.now();
      if (won) this.lastRenew = now;
      this.busy = { what: 'transition', since: Date.now() };
      // Said once per standby spell: an operator that waits is visibly waiting, not stuck.
      if (!won && !this.leading && !this.standingBy)
        this.log.info(
          { identity: this.o.identity, lease: this.o.name },
          'standing by: another instance holds the lease',
        );
      this.standingBy = !won;
      if (won && !this.leading) await this.setLeading(true);
      if (!won && this.leading) await this.setLeading(false);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lease update failed');
    }
    if (this.leading && Date.now() - this.lastRenew > this.o.renewDeadlineMs) {
      this.log.warn({ lease: this.o.name }, 'could not renew the lease in time; stepping down');
      this.busy = { what: 'transition', since: Date.now() };
      await this.setLeading(false);
    }
    this.busy = undefined;
    this.lastRoundAt = Date.now();
  }

  private async setLeading(leading: boolean): Promise<void> {
    this.leading = leading;
    this.log.info({ identity: this.o.identity, lease: this.o.name }, leading ? 'became leader' : 'stopped leading');
    await (leading ? this.callbacks.onStartedLeading() : this.callbacks.onStoppedLeading());
  }

  private async acquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const spec = (transitions: number, acquired?: Date): k8s.V1LeaseSpec => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: new k8s.V1MicroTime(acquired ?? new Date(now)),
      renewTime: new k8s.V1MicroTime(now),
      leaseTransitions: transitions,
    });
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: spec(0) } });
      return true;
    }
    const held = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const duration = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const mine = held === identity;
    if (!mine && held && renewed + duration > now) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1);
    try {
      await this.api.replaceNamespacedLease({
        namespace,
        name,
        body: {
          metadata: { ...lease.metadata, name, namespace },
          spec: spec(transitions, mine && lease.spec?.acquireTime ? new Date(lease.spec.acquireTime) : undefined),
        },
      });
      return true;
    } catch (err) {
      // 409: someone else wrote the lease first; they won this round.
      if ((err as { code?: number }).code === 409) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name } = this.o;
    const lease = await this.api.readNamespacedLease({ namespace, name });
    if (lease.spec?.holderIdentity !== this.o.identity) return;
    await this.api.replaceNamespacedLease({
      namespace,
      name,
      body: {
        metadata: lease.metadata,
        spec: { ...lease.spec, holderIdentity: '', renewTime: new k8s.V1MicroTime(0), leaseDurationSeconds: 1 },
      },
    });
  }
}
