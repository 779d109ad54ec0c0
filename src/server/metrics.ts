import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { currentHealth, INSTANCE_GROUPS } from '../interfaces/clusterView.js';
import { PHASES, type ApiCluster, type LiveState } from './liveState.js';

/**
 * Prometheus metrics for GET /metrics, read from the live state at each
 * scrape (nothing is counted on the hot path), and the supervisor process's
 * own (CPU, memory, event loop lag, GC) from prom-client's defaults.
 * Per-cluster series carry the cluster id only; `mewld_cluster_info` maps it
 * to the name and shards, so that a rename does not start new series.
 */

/**
 * prom-client's defaults that promtool refuses: gauges named like counters
 * (`_total`). The same figures are there without the total, by type.
 */
const REFUSED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface Metrics {
  contentType: string;
  render(): Promise<string>;
}

export function createMetrics(live: LiveState): Metrics {
  const registry = new Registry();
  // One list of clusters per scrape (each with its health summary), for every series that reads it.
  let scraped: ApiCluster[] | null = null;
  const clusters = () => (scraped ??= live.clusters());
  collectDefaultMetrics({ register: registry, prefix: 'mewld_' });
  for (const name of REFUSED_DEFAULTS) registry.removeSingleMetric(`mewld_${name}`);

  /**
   * A gauge whose series are all set afresh at each scrape. A series not set
   * is absent, never 0: a figure that is not known is not exported (prom-client
   * would give a gauge without labels a 0 of its own).
   */
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    fill: (set: (labels: Record<L, string>, value: number) => void) => void,
  ) => {
    let known = false;
    const metric = new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        known = false;
        fill((labels, value) => {
          known = true;
          this.set(labels, value);
        });
      },
    });
    const get = metric.get.bind(metric);
    metric.get = async () => {
      const got = await get();
      return known ? got : { ...got, values: [] };
    };
    return metric;
  };

  gauge('mewld_phase', 'The supervisor phase: 1 for the current one.', ['phase'], (set) => {
    const { phase } = live.phase();
    for (const p of PHASES) set({ phase: p }, p === phase ? 1 : 0);
  });
  gauge('mewld_bus_up', 'Whether the bus (Redis or IPC) is up.', [], (set) => set({}, live.phase().bus.up ? 1 : 0));
  /** A gauge of one figure, absent while it is not known (null). */
  const figure = (name: string, help: string, value: () => number | null) =>
    gauge(name, help, [], (set) => {
      const known = value();
      if (known !== null) set({}, known);
    });
  figure('mewld_shards', 'The shard count (absent until it is known).', () => live.gateway().shards);
  figure(
    'mewld_identify_buckets',
    "The identify buckets launches share (Discord's max_concurrency, capped by the config; absent until known).",
    () => live.gateway().identify_buckets,
  );
  figure(
    'mewld_session_starts_left',
    "Discord's session starts left, by the supervisor's count (absent with fixed_shard_count).",
    () => live.gateway().session_starts_left,
  );
  // By what a state means (its group: idle, starting, up, stopping, dead, backoff, failed, stopped), not by the
  // machine's internal state names, which may change between versions.
  gauge('mewld_clusters', 'Clusters in each state: idle, starting, up, stopping, dead, backoff, failed, stopped.', ['state'], (set) => {
    const counts = new Map<string, number>(INSTANCE_GROUPS.map((g) => [g, 0]));
    for (const c of clusters()) counts.set(c.group, (counts.get(c.group) ?? 0) + 1);
    for (const [state, n] of counts) set({ state }, n);
  });
  gauge('mewld_cluster_info', "A cluster's name and shards (always 1).", ['cluster', 'name', 'shards'], (set) => {
    for (const c of clusters()) set({ cluster: String(c.id), name: c.name, shards: c.shards.join(',') }, 1);
  });
  gauge('mewld_cluster_up', 'Whether the cluster is up (running, or answering a diagnostic).', ['cluster'], (set) => {
    for (const c of clusters()) set({ cluster: String(c.id) }, c.up ? 1 : 0);
  });
  gauge('mewld_cluster_start_time_seconds', "When the cluster's process started, in unix seconds.", ['cluster'], (set) => {
    for (const c of clusters()) if (c.started_at !== null) set({ cluster: String(c.id) }, c.started_at / 1000);
  });
  gauge(
    'mewld_cluster_last_diagnostic_time_seconds',
    "When the cluster's last diagnostic answer came, in unix seconds.",
    ['cluster'],
    (set) => {
      for (const c of clusters()) if (c.last_diag) set({ cluster: String(c.id) }, c.last_diag.at / 1000);
    },
  );
  gauge('mewld_cluster_shards_up', 'Shards up, as the last diagnostic answer said.', ['cluster'], (set) => {
    for (const c of clusters()) if (c.health) set({ cluster: String(c.id) }, c.health.shards_up);
  });
  gauge(
    'mewld_cluster_latency_seconds',
    'The mean gateway latency of the shards up, as the last diagnostic answer said.',
    ['cluster'],
    (set) => {
      for (const c of clusters()) if (c.health?.latency != null) set({ cluster: String(c.id) }, c.health.latency / 1000);
    },
  );
  gauge('mewld_cluster_guilds', 'Guilds, as the current diagnostic answer says (absent when no shard says).', ['cluster'], (set) => {
    for (const c of clusters()) {
      const known = (currentHealth(c) ?? []).filter((h) => h.guilds !== null);
      if (known.length > 0)
        set(
          { cluster: String(c.id) },
          known.reduce((sum, h) => sum + (h.guilds ?? 0), 0),
        );
    }
  });

  new Counter({
    name: 'mewld_cluster_restarts_total',
    help: 'Times the cluster was started again after its first launch, by cause: crash, hang, operator, rollout (a rolling restart).',
    labelNames: ['cluster', 'cause'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of clusters())
        for (const [cause, n] of Object.entries(c.restarts_by_cause)) this.inc({ cluster: String(c.id), cause }, n);
    },
  });

  return {
    contentType: registry.contentType,
    async render() {
      try {
        return await registry.metrics();
      } finally {
        scraped = null;
      }
    },
  };
}
