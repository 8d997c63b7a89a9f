// Node.js and process metrics from prom-client's default collectors, made to pass `promtool check
// metrics`: the prefix is `redeliver_` (prom-client already names them process_* and nodejs_*, so
// a `redeliver_process_` prefix doubled "process"), and the three `nodejs_active_*_total` gauges
// are dropped, since a gauge must not end in _total; their per-type gauges
// (redeliver_nodejs_active_handles{type}, …) stay, and sum() of one gives the total.
import { collectDefaultMetrics, type Registry } from 'prom-client';

export const RUNTIME_PREFIX = 'redeliver_';

const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function collectRuntimeMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: RUNTIME_PREFIX });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(RUNTIME_PREFIX + name);
}
