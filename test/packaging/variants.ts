// Value sets of the chart that the packaging tests lint, render and apply (dry run) one by one.
export const VARIANTS: Record<string, Record<string, string | number | boolean>> = {
  'defaults (bundled Redis)': {},
  'external Redis URL with password Secret and TLS CA': {
    'redis.external.url': 'rediss://redis.example.com:6380/0', 'redis.external.passwordSecret.name': 'redis-auth',
    'redis.external.tls.caSecret.name': 'redis-ca',
  },
  'external Redis URL from a Secret': { 'redis.external.existingSecret': 'redeliver-redis' },
  'bundled Redis without persistence or NetworkPolicy': { 'redis.bundled.persistence.enabled': false, 'redis.bundled.networkPolicy.enabled': false },
  'autoscaling and Ingress with TLS': {
    'ingest.autoscaling.enabled': true, 'dispatcher.autoscaling.enabled': true, 'ingest.ingress.enabled': true,
    'ingest.ingress.host': 'hooks.example.com', 'ingest.ingress.className': 'nginx', 'ingest.ingress.tls[0].secretName': 'hooks-tls',
    'ingest.ingress.tls[0].hosts[0]': 'hooks.example.com',
  },
  'monitoring: ServiceMonitor, PrometheusRule, dashboards': { 'serviceMonitor.enabled': true, 'prometheusRule.enabled': true, 'grafanaDashboard.enabled': true },
  'single replicas, Secret Roles per namespace': { 'ingest.replicas': 1, 'dispatcher.replicas': 1, 'rbac.secretNamespaces[0]': 'shop', 'rbac.secretNamespaces[1]': 'billing' },
};
