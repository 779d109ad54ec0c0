import { goJson, goMap } from './goJson.js';
import { withinDepth } from './depth.js';

/**
 * The action log: what happened to the bot, as entries kept in Redis
 * (`<channel>/actlogs`) or in memory, shown on the dashboard and posted to
 * the alert webhook. The supervisor's own entries are typed here, with the
 * one sentence an operator reads for each, in the log, on the dashboard and
 * in an alert alike. Clusters may write entries of their own (`action_logs`).
 */

export const actionLogKey = (channel: string) => `${channel}/actlogs`;

/** An action log entry: the entry plus `ts` in unix microseconds, keys sorted as Go's map. */
export function actionLogEntry(entry: Record<string, unknown>, nowMs = Date.now()): Map<string, unknown> {
  return goMap({ ...entry, ts: Math.round(nowMs * 1000) });
}

export function formatActionLog(entry: Record<string, unknown>, nowMs = Date.now()): string {
  return goJson(actionLogEntry(entry, nowMs));
}

/**
 * The largest action log entry kept, as JSON. The orchestrator's own entries
 * are far smaller (a failed cluster's last lines are cut to fit); a cluster's
 * entry over it is kept in a short form, so that a cluster cannot fill Redis,
 * the dashboard or the live stream with one.
 */
export const MAX_ACTION_LOG_BYTES = 16 * 1024;

/** `entry` if it fits, else its short form: its event, `truncated` and how large it was. */
export function boundActionLogEntry(entry: Record<string, unknown>): Record<string, unknown> {
  const json = withinDepth(entry) ? safeStringify(entry) : undefined;
  if (json !== undefined && json.length <= MAX_ACTION_LOG_BYTES) return entry;
  const event = typeof entry.event === 'string' ? entry.event.slice(0, 100) : 'unknown';
  return { event, truncated: true, bytes: json?.length ?? null };
}

function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** Why a cluster went down, as its down entries say. */
export type DownCause = 'exited' | 'spawn_failed' | 'launch_timeout' | 'ping_timeout';

/** The events of a cluster going down: its launch failed (in a rolling restart or not), it died up, it hung. */
export type DownEvent = 'cluster_start_failed' | 'cluster_restart_failed' | 'cluster_died' | 'ping_failure';

/** What the supervisor writes to the action log. */
export type SupervisorEntry =
  | { event: 'all_clusters_launched'; not_up: number[] }
  | { event: DownEvent; id: number; reason: DownCause; code?: number | null; signal?: string | null; error?: string }
  | { event: 'cluster_failed'; id: number; why: string; exits: unknown[]; last_lines: string[] }
  | { event: 'cluster_start' | 'cluster_stop' | 'cluster_restart'; id: number }
  | { event: 'rolling_restart'; clusters: number }
  | { event: 'rolling_restart_done' }
  | { event: 'rolling_restart_paused'; done: number; total: number; current?: number }
  | { event: 'rolling_restart_resumed' | 'rolling_restart_cancelled'; done: number; total: number }
  | { event: 'shutdown' | 'restartproc' }
  | { event: 'bus_refused'; reason: string }
  /** The embedded bus: not one message from any cluster within launch_timeout, the sign of clusters that talk over Redis. */
  | { event: 'bus_silent'; within_s: number; likely: string }
  | { event: 'fleet_paused'; clusters: number[]; of: number; window_ms: number; pause_ms: number }
  | { event: 'fleet_resumed' }
  | { event: 'sessions_low'; remaining: number; needed: number; minimum: number; reset_after_ms: number };

/** Any entry: the supervisor's, or a cluster's own. */
export interface ActionLogEntry {
  event: string;
  [key: string]: unknown;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** A cluster's own entry as JSON (bounded in depth where it entered), at most 1,000 characters. */
function shown(value: unknown): string {
  try {
    return String(JSON.stringify(value)).slice(0, 1000);
  } catch {
    return '(cannot be shown)';
  }
}

/** Why a cluster is down, in words. */
export function describeDown(entry: { reason: string; code?: number | null; signal?: string | null; error?: string }): string {
  switch (entry.reason) {
    case 'exited':
      return entry.signal ? `killed by ${entry.signal}` : `exited with code ${entry.code}`;
    case 'spawn_failed':
      return `could not start: ${entry.error}`;
    case 'launch_timeout':
      return 'no launch_next within launch_timeout';
    case 'ping_timeout':
      return 'no answer to a diagnostic within ping_timeout';
    default:
      return entry.reason;
  }
}

/** The sentence an operator reads for an entry; a cluster's own entries are shown as they are. */
export function describeEntry(entry: ActionLogEntry): string {
  const e = entry as SupervisorEntry;
  switch (e.event) {
    case 'all_clusters_launched':
      return e.not_up.length === 0 ? 'all clusters launched' : `all clusters had their launch; not up: ${e.not_up.join(', ')}`;
    case 'cluster_start_failed':
    case 'cluster_restart_failed':
    case 'cluster_died':
    case 'ping_failure':
      return `cluster ${e.id} is down (${describeDown(e)})`;
    case 'cluster_failed':
      return `cluster ${e.id} failed and stays down until an operator starts it: ${e.why}`;
    case 'cluster_start':
    case 'cluster_stop':
    case 'cluster_restart':
      return `${e.event.slice('cluster_'.length)} cluster ${e.id}: by operator`;
    case 'rolling_restart':
      return 'rolling restart: begins';
    case 'rolling_restart_done':
      return 'rolling restart: done';
    case 'rolling_restart_paused':
      return e.current === undefined
        ? `rolling restart: paused, ${e.done} of ${e.total} clusters restarted`
        : `rolling restart: pausing once cluster ${e.current} is back, ${e.done} of ${e.total} clusters restarted`;
    case 'rolling_restart_resumed':
      return `rolling restart: resumed, ${e.done} of ${e.total} clusters restarted`;
    case 'rolling_restart_cancelled':
      return `rolling restart: cancelled, ${e.done} of ${e.total} clusters restarted; the others are left as they are`;
    case 'shutdown':
      return 'shutting down: stopping every cluster';
    case 'restartproc':
      return 'restarting the supervisor (exit 1): stopping every cluster';
    case 'bus_refused':
      return `${e.reason}: stopping every cluster (exit 1)`;
    case 'bus_silent':
      return `no cluster has said anything on the embedded bus within launch_timeout (${e.within_s} s): ${e.likely}`;
    case 'fleet_paused':
      return `${e.clusters.length} of ${e.of} clusters went down within ${seconds(e.window_ms)} (${e.clusters.join(', ')}): automatic restarts paused for ${seconds(e.pause_ms)} (operator starts still work)`;
    case 'fleet_resumed':
      return 'automatic restarts resume, through the launch slot';
    case 'sessions_low':
      return `only ${e.remaining} session starts left, and the next launch needs ${e.needed} (minimum_safe_sessions_remaining is ${e.minimum}): no cluster starts for ${Math.round(e.reset_after_ms / 1000)} s, until Discord's reset (running out gets the bot token reset)`;
    default: {
      const { ts: _ts, event, ...rest } = entry;
      return `${String(event)}: ${shown(rest)}`;
    }
  }
}
