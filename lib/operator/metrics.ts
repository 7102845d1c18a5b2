/**
 * The operator's Prometheus metrics, on a registry of its own (so two operators in one process —
 * tests — never share counters). Every API request goes through the client, which counts it by
 * verb and resource: that is how the steady-state "writes nothing" promise is checked.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Verbs that change cluster state. */
export const WRITE_VERBS: readonly string[] = ['create', 'apply', 'patch', 'update', 'delete'];

/** Why a watch restarts (`keelson_watch_restarts_total`'s `reason`). */
export const WATCH_RESTART_REASONS = ['expired', 'error', 'silent'] as const;

export class OperatorMetrics {
  public readonly registry = new Registry();
  public readonly reconciles = new Counter({
    name: 'keelson_reconciles_total',
    help: 'Reconciles by stacklet kind and result.',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  public readonly reconcileDuration = new Histogram({
    name: 'keelson_reconcile_duration_seconds',
    help: 'Time one reconcile took.',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  public readonly queueDepth = new Gauge({
    name: 'keelson_workqueue_depth',
    help: 'Stacklets waiting to be reconciled.',
    registers: [this.registry],
  });
  public readonly apiRequests = new Counter({
    name: 'keelson_api_requests_total',
    help: 'Requests to the Kubernetes API by verb, resource and HTTP status code.',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  public readonly objectsApplied = new Counter({
    name: 'keelson_objects_applied_total',
    help: 'Child objects applied (sent) or skipped because the cache already held them.',
    labelNames: ['kind', 'action'] as const,
    registers: [this.registry],
  });
  public readonly watchRestarts = new Counter({
    name: 'keelson_watch_restarts_total',
    help: 'Restarts of a watch, by resource and reason (expired, error, silent).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });
  public readonly podCertificates = new Counter({
    name: 'keelson_pod_certificates_total',
    help: 'PodCertificateRequests answered by the signer, by result (issued, denied, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  public readonly leader = new Gauge({
    name: 'keelson_leader',
    help: '1 while this replica holds the leader lease (or runs without leader election).',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'keelson_' });
  }
}
