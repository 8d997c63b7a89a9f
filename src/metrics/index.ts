// One prom-client registry per process, created by the entry point and passed down (no global
// default registry). Names follow redeliver_<component>_<what>_<unit> in base units (seconds,
// bytes); counters end in _total, gauges never do; every metric has HELP. Labels stay bounded:
// endpoint (namespace/name, one per WebhookEndpoint; "unknown" for paths that name none), outcome
// and reason (error codes, a closed set), classification (a closed set), phase, change, via.
// `promtool check metrics` passes on every role's scrape (test/packaging/prometheus.test.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectRuntimeMetrics } from './runtime.ts';

export function createMetrics(opts: { defaults?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaults !== false) collectRuntimeMetrics(registry);
  const registers = [registry];
  let redisReady: () => boolean = () => false;
  return {
    registry,
    /** Tells the redis_connected gauge how to read the connection state (the entry point wires it). */
    watchRedis(ready: () => boolean) {
      redisReady = ready;
    },
    redisConnected: new Gauge({
      name: 'redeliver_redis_connected',
      help: '1 while this process has a ready connection to Redis, 0 while it is down or reconnecting.',
      registers,
      collect() {
        this.set(redisReady() ? 1 : 0);
      },
    }),
    ingestRequests: new Counter({
      name: 'redeliver_ingest_requests_total',
      help: 'Inbound webhook requests by endpoint and outcome (accepted, duplicate, rejected reason).',
      labelNames: ['endpoint', 'outcome'] as const,
      registers,
    }),
    ingestDuration: new Histogram({
      name: 'redeliver_ingest_request_duration_seconds',
      help: 'Seconds from request start to the answer, for accepted events.',
      labelNames: ['endpoint'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    ingestDedupeHits: new Counter({
      name: 'redeliver_ingest_dedupe_hits_total',
      help: 'Events answered as duplicates of an event already stored.',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    ingestSignatureFailures: new Counter({
      name: 'redeliver_ingest_signature_failures_total',
      help: 'Requests refused because a signature check failed, by reason.',
      labelNames: ['endpoint', 'reason'] as const,
      registers,
    }),
    dispatchDeliveries: new Counter({
      name: 'redeliver_dispatch_deliveries_total',
      help: 'Delivery attempts by endpoint and outcome: delivered, retry, block (exhausted, scope blocked) or deadletter (exhausted, set aside).',
      labelNames: ['endpoint', 'outcome'] as const,
      registers,
    }),
    dispatchPipelined: new Counter({
      name: 'redeliver_dispatch_pipelined_total',
      help: 'Deliveries sent before Redis answered their claim, by how they were known: lookahead (read with the previous head) or wakeup (carried by the wake-up of an idle partition).',
      labelNames: ['endpoint', 'via'] as const,
      registers,
    }),
    dispatchPipelineMisses: new Counter({
      name: 'redeliver_dispatch_pipeline_misses_total',
      help: 'Pipelined sends whose claim Redis did not confirm (lease lost or queue changed); they are sent again.',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    dispatchAttemptDuration: new Histogram({
      name: 'redeliver_dispatch_attempt_duration_seconds',
      help: 'Seconds one outbound attempt took, by classification.',
      labelNames: ['endpoint', 'classification'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    dispatchBacklog: new Gauge({
      name: 'redeliver_dispatch_backlog',
      help: 'Deliveries accepted and not yet finished (queued, being retried, an unblock retry, held by a pauseLive replay), per endpoint, from the partitions this dispatcher owns.',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    dispatchOldestPending: new Gauge({
      name: 'redeliver_dispatch_oldest_pending_seconds',
      help: 'Age in seconds of the oldest delivery in the backlog, per endpoint (from the partitions this dispatcher owns).',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    dispatchBlockedPartitions: new Gauge({
      name: 'redeliver_dispatch_blocked_partitions',
      help: 'Partitions stopped by an exhausted delivery (onExhausted: block), per endpoint.',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    dispatchPartitions: new Gauge({
      name: 'redeliver_dispatch_partitions',
      help: 'Partitions of each active endpoint, as this dispatcher sees the registry (the same on every dispatcher).',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    dispatchOwnedPartitions: new Gauge({
      name: 'redeliver_dispatch_owned_partitions',
      help: 'Partitions of each active endpoint whose lease this dispatcher holds; sum() across dispatchers below redeliver_dispatch_partitions means some are unowned.',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    dispatchLeaseChanges: new Counter({
      name: 'redeliver_dispatch_lease_changes_total',
      help: 'Partition leases acquired or lost by this dispatcher.',
      labelNames: ['change'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
