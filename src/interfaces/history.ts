import type { ExitInfo, RestartCounts } from './clusterView.js';

/**
 * What outlives a restart of the supervisor (docs/operations.md, "What
 * survives a restart"): each cluster's restart counts by cause and last exits,
 * the charts' time series, and the action log when the bus keeps it in memory.
 * Kept in Redis when the config has `redis` (src/adapters/history/redis.ts),
 * else in a file in the config's run directory (src/adapters/history/file.ts);
 * both pass one conformance suite (tests/history.conformance.test.ts).
 */

/** One cluster's figures, as its Instance machine is started with them again (its input's `history`). */
export interface ClusterHistory {
  restarts: RestartCounts;
  /** Its last exits, oldest first (the last one is its `last_exit`). */
  exits: ExitInfo[];
}

/** A time series as saved: one sample every `period_ms`, the last at `end` (unix ms), oldest first, null where no current figure was known. */
export interface SavedSeries {
  end: number;
  latency_ms: (number | null)[];
  guilds: (number | null)[];
}

export interface SavedHistory {
  /** Unix ms. */
  savedAt: number;
  /** By cluster id. */
  clusters: Record<number, ClusterHistory>;
  /** The charts; series of another sampling period are not restored. */
  series: { period_ms: number; bot: SavedSeries; clusters: Record<number, SavedSeries> } | null;
  /** The action log, only where the bus keeps it in memory (the IPC bus): Redis keeps its own list. */
  actionLog: Record<string, unknown>[] | null;
}

/** Where the history is kept. Saving replaces what was saved; the caller bounds how often (src/server/history.ts). */
export interface HistoryStore {
  /** What the last run saved, or null when there is nothing (or nothing readable: it is then started afresh). */
  load(): Promise<SavedHistory | null>;
  save(history: SavedHistory): Promise<void>;
}
