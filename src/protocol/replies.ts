/**
 * What the supervisor answers to launcher commands on the bus (docs/protocol.md,
 * the statuses payload): the contract the bus adapter writes and the client
 * library reads. The wire carries no ok flag (the Go version's did not): a
 * command that succeeds answers "ok" or its payload, a refused one the reason,
 * a string.
 */

/** One cluster in `statuses`: times in unix seconds (`started_at` of a cluster never started: Go's zero time). */
export interface StatusesEntry {
  active: boolean;
  status: string;
  name: string;
  started_at: number;
  shard_list: number[];
  pid: number | null;
  restarts: number;
  up_at: number | null;
  last_exit: { code: number | null; signal: string | null; at: number } | null;
  /** A summary of the last diagnostic answer; `fresh: false` when it is not current. */
  last_diag: { at: number; shards_up: number; shards: number; latency: number | null; fresh: boolean } | null;
  down_reason: string | null;
  backoff_ms: number | null;
  failed_reason: string | null;
}

/** The payload of the commands that answer one; every other command answers "ok". */
export interface CommandOutputs {
  statuses: Record<string, StatusesEntry>;
  num_processes: { clusters: number; shards: number };
}

export type CommandOutput<A extends string> = A extends keyof CommandOutputs ? CommandOutputs[A] : 'ok';

/** The reason of a refused command, or null when the output is an answer ("ok" or a payload). */
export function refusalOf(output: unknown): string | null {
  return typeof output === 'string' && output !== 'ok' ? output : null;
}
