import type { ClusterView } from '../../interfaces/clusterView.js';
import type { CommandAction, CommandResult } from '../../interfaces/commands.js';
import { Encoded, GO_ZERO_TIME, healthSummary, type ShardHealth, type StatusesEntry } from '../../protocol/index.js';

/**
 * The Go encoding of what the supervisor answers on the bus: `statuses` as
 * the Go version's map of clusters (its fields first, then this supervisor's),
 * num_processes, "ok", or the reason a command was refused. One encoder per
 * bus: it keeps the last reply, so that a fleet asked again unchanged costs
 * no encoding.
 */
export function createReplyEncoder() {
  // A cluster's view only changes with its snapshot, so its line is encoded once per change, not once per request.
  const lines = new WeakMap<ClusterView, Encoded>();
  let last: { lines: readonly Encoded[]; payload: Encoded } = { lines: [], payload: new Encoded(new Map()) };

  /** The `statuses` payload: a map keyed by cluster id. */
  const statuses = (views: readonly ClusterView[]): Encoded => {
    const now = views.map((v) => {
      let line = lines.get(v);
      if (!line) lines.set(v, (line = new Encoded(statusOf(v))));
      return line;
    });
    // Asked again with no cluster changed since (a dashboard polling, a bot's status command): the same bytes.
    if (now.length !== last.lines.length || now.some((line, i) => line !== last.lines[i])) {
      last = { lines: now, payload: new Encoded(new Map(views.map((v, i) => [String(v.id), now[i]]))) };
    }
    return last.payload;
  };

  /** What a command's reply carries on the bus: "ok", a payload, or the reason it was refused. */
  return function output(action: CommandAction, result: CommandResult): unknown {
    if (!result.ok) return result.reason;
    if (action === 'statuses') return statuses((result.value as ClusterView[]) ?? []);
    if (action === 'num_processes') return result.value;
    return 'ok';
  };
}

/** Typed by the protocol's contract, which the client library reads. */
function statusOf(v: ClusterView): StatusesEntry {
  return {
    active: v.active,
    status: v.state,
    name: v.name,
    started_at: v.started_at === null ? GO_ZERO_TIME : Math.floor(v.started_at / 1000),
    shard_list: v.shards,
    pid: v.pid,
    restarts: v.restarts,
    up_at: v.up_at === null ? null : Math.floor(v.up_at / 1000),
    last_exit: v.last_exit,
    // A summary: every cluster receives every reply on Redis, so statuses stays small (the HTTP API has each shard).
    // `fresh: false`: the last known figures, not current ones (the cluster is down, or has not answered since).
    last_diag: v.last_diag ? { at: Math.floor(v.last_diag.at / 1000), ...statusesHealth(v.last_diag.health), fresh: v.health_fresh } : null,
    down_reason: v.down_reason,
    backoff_ms: v.backoff_ms,
    failed_reason: v.failed_reason,
  };
}

/** The health summary, with the latency to a tenth of a millisecond, as statuses has always given it. */
function statusesHealth(health: readonly ShardHealth[]) {
  const summary = healthSummary(health);
  return { ...summary, latency: summary.latency === null ? null : Math.round(summary.latency * 10) / 10 };
}
