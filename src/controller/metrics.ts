// The controller's own metrics, on the process' one registry (src/metrics/ holds the shared ones).
// get-or-create: two controllers in one process (tests) share them instead of clashing on names.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every phase starts at 0, so increase() sees the first failure (a series born at 1 shows none). */
function preset(c: Counter<'phase'>): Counter<'phase'> {
  for (const phase of ['Succeeded', 'Failed', 'Cancelled']) c.inc({ phase }, 0);
  return c;
}

export function createControllerMetrics(registry: Registry) {
  const registers = [registry];
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    reconciles: existing<Counter<'kind' | 'outcome'>>('redeliver_controller_reconciles_total') ?? new Counter({
      name: 'redeliver_controller_reconciles_total',
      help: 'Reconciles by kind and outcome (ok, retry, error).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    reconcileDuration: existing<Histogram<'kind'>>('redeliver_controller_reconcile_duration_seconds') ?? new Histogram({
      name: 'redeliver_controller_reconcile_duration_seconds',
      help: 'Seconds one reconcile took, by kind.',
      labelNames: ['kind'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    replaysFinished: existing<Counter<'phase'>>('redeliver_controller_replays_finished_total') ?? preset(new Counter({
      name: 'redeliver_controller_replays_finished_total',
      help: 'ReplayRequests that reached a final phase (Succeeded, Failed, Cancelled), counted by the leader when it writes that phase.',
      labelNames: ['phase'] as const,
      registers,
    })),
    leader: existing<Gauge>('redeliver_controller_leader') ?? new Gauge({
      name: 'redeliver_controller_leader',
      help: '1 while this replica holds the controller Lease.',
      registers,
    }),
  };
}
