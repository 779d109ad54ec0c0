import type { ShardHealth } from '../protocol/index.js';
import type { ClusterAction } from './commands.js';

/**
 * What operators see of a cluster: the bus's statuses, the HTTP API, the
 * live stream and metrics all show this. Field names as on the wire; times
 * are unix ms.
 */

/** What a cluster's state means to an operator: each Instance state has exactly one of these as a tag. */
export const INSTANCE_GROUPS = ['idle', 'starting', 'up', 'stopping', 'dead', 'backoff', 'failed', 'stopped'] as const;
export type InstanceGroup = (typeof INSTANCE_GROUPS)[number];

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: number;
}

/** Why a cluster went to `dead`. */
export type DownReason = 'exited' | 'spawn_failed' | 'launch_timeout' | 'ping_timeout';

/** Why a cluster was launched again: it crashed (or could not be spawned), hung (no answer, no launch_next), or was restarted on purpose by an operator or a rolling restart. */
export type RestartCause = 'crash' | 'hang' | 'operator' | 'rollout';
export type RestartCounts = Record<RestartCause, number>;

/** The cluster's shard health as current figures, or null when there are none: the one rule every view and total applies. */
export function currentHealth(view: Pick<ClusterView, 'last_diag' | 'health_fresh'>): ShardHealth[] | null {
  return view.health_fresh && view.last_diag ? view.last_diag.health : null;
}

export interface ClusterView {
  id: number;
  name: string;
  shards: number[];
  /** The Instance machine's state. */
  state: string;
  /** What the state means (its group tag). */
  group: InstanceGroup;
  /** Up and serving its shards (the `up` group). */
  up: boolean;
  /** The operator commands the state allows now; the others are refused, saying why. */
  allowed: ClusterAction[];
  active: boolean;
  pid: number | null;
  started_at: number | null;
  up_at: number | null;
  /** Launches after the first, all causes together (statuses' `restarts`, as the Go version counted). */
  restarts: number;
  /** The same, by why: crashed (or could not be spawned), hung, restarted by an operator, or by a rolling restart. */
  restarts_by_cause: RestartCounts;
  /** The last diagnostic answer: `at` says how old its figures are; `health_fresh` whether they are current. */
  last_diag: { at: number; health: ShardHealth[] } | null;
  /**
   * The figures of `last_diag` are current: the cluster is up and they are its
   * process's answer to the latest round. Otherwise (stopped, down, a new
   * process that has not answered yet, a round missed while the bus was down)
   * they are stale, and every view shows them as unknown (see currentHealth).
   */
  health_fresh: boolean;
  last_exit: ExitInfo | null;
  down_reason: DownReason | null;
  backoff_ms: number | null;
  failed_reason: string | null;
}
