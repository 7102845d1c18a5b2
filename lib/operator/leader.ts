/**
 * Leader election with a coordination.k8s.io/v1 Lease, so that of several operator replicas only
 * one writes. The holder renews the lease every `renewMs`; another replica takes it over once it
 * has seen the same lease record unchanged for `leaseDurationSeconds` (measured on its own clock,
 * from when it saw the record, so clock skew between machines does not matter). Updates carry the
 * resourceVersion they read, so two candidates cannot both win. A leader that fails to renew
 * before its lease would expire stops leading: the caller must stop writing (the operator exits).
 */
import type { Logger } from 'pino';
import { sleep } from './backoff';
import { isStatus, type KubeClient } from './client';
import type { KubeObject } from './informer';

export interface LeaderElectionOptions {
  readonly namespace: string;
  /** @default 'keelson-operator' */
  readonly name?: string;
  readonly identity: string;
  /** @default 15 */
  readonly leaseDurationSeconds?: number;
  /** How often the leader renews and a candidate retries. @default a third of the lease duration */
  readonly renewMs?: number;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

const microTime = () => new Date().toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly abort = new AbortController();
  private leading = false;
  private observed?: { record: string; at: number };
  private lastRenew = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly log: Logger,
  ) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name ?? 'keelson-operator'}`;
  }
  private get durationMs(): number {
    return (this.options.leaseDurationSeconds ?? 15) * 1000;
  }
  private get renewMs(): number {
    return this.options.renewMs ?? Math.max(500, Math.floor(this.durationMs / 3));
  }

  public get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until this replica leads (resolves) or `stop()` is called (rejects), then keeps
   * renewing in the background; `onLost` is called once if the lease is lost.
   */
  public async acquire(onLost: () => void): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        if (await this.tryAcquireOrRenew()) break;
      } catch (error) {
        this.log.warn({ err: String(error) }, 'leader election attempt failed');
      }
      await sleep(this.renewMs, this.abort.signal);
    }
    if (this.abort.signal.aborted) throw new Error('leader election stopped');
    this.leading = true;
    this.log.info({ identity: this.options.identity, lease: this.path }, 'became the leader');
    void this.renewLoop(onLost);
  }

  /** Stops campaigning; a leader gives the lease up so another replica takes over at once. */
  public async stop(): Promise<void> {
    this.abort.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.request<KubeObject>('get', 'GET', this.path, 'leases');
      const spec = (lease.spec ?? {}) as LeaseSpec;
      if (spec.holderIdentity !== this.options.identity) return;
      await this.client.request('update', 'PUT', this.path, 'leases', {
        body: {
          ...lease,
          spec: { ...spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime() },
        },
      });
      this.log.info('released the leader lease');
    } catch (error) {
      this.log.warn({ err: String(error) }, 'could not release the leader lease');
    }
  }

  private async renewLoop(onLost: () => void): Promise<void> {
    while (!this.abort.signal.aborted && this.leading) {
      await sleep(this.renewMs, this.abort.signal);
      if (this.abort.signal.aborted) return;
      let renewed = false;
      try {
        renewed = await this.tryAcquireOrRenew();
      } catch (error) {
        this.log.warn({ err: String(error) }, 'could not renew the leader lease');
      }
      if (!renewed && Date.now() - this.lastRenew > this.durationMs - this.renewMs) {
        this.leading = false;
        this.log.error('lost the leader lease');
        onLost();
        return;
      }
    }
  }

  /** One round: create, renew, or take over an expired lease. True when this replica holds it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const me = this.options.identity;
    const now = microTime();
    const fresh: LeaseSpec = {
      holderIdentity: me,
      leaseDurationSeconds: this.options.leaseDurationSeconds ?? 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    let lease: KubeObject;
    try {
      lease = await this.client.request<KubeObject>('get', 'GET', this.path, 'leases');
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      try {
        await this.client.request(
          'create',
          'POST',
          this.path.slice(0, this.path.lastIndexOf('/')),
          'leases',
          {
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.options.name ?? 'keelson-operator', namespace: this.options.namespace },
              spec: fresh,
            },
          },
        );
        this.lastRenew = Date.now();
        return true;
      } catch (createError) {
        if (isStatus(createError, 409)) return false;
        throw createError;
      }
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, lease.metadata.resourceVersion]);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = spec.holderIdentity;
    const duration = (spec.leaseDurationSeconds ?? 15) * 1000;
    const expired = !holder || Date.now() - this.observed.at > duration;
    if (holder !== me && !expired) return false;
    const next: LeaseSpec =
      holder === me
        ? { ...spec, renewTime: now, leaseDurationSeconds: fresh.leaseDurationSeconds }
        : { ...fresh, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    try {
      await this.client.request('update', 'PUT', this.path, 'leases', { body: { ...lease, spec: next } });
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
    if (holder !== me) this.log.info({ previous: holder ?? null }, 'took over the leader lease');
    this.lastRenew = Date.now();
    return true;
  }
}
