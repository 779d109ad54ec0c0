/**
 * What clusters print, kept for operators: each cluster's recent lines in a
 * bounded ring (`logs.lines` of the config), and the lines as they come for
 * whoever follows one (`mewld logs ID -f`, the dashboard's log pane).
 * Implemented in memory by src/adapters/clusterLogs.ts.
 */

export interface ClusterLogLine {
  /** When the supervisor read it, unix ms. */
  at: number;
  stream: 'stdout' | 'stderr';
  /** The process that printed it: a restart shows as a new pid. */
  pid: number;
  text: string;
}

export interface ClusterLogs {
  push(id: number, line: ClusterLogLine): void;
  /** The last `limit` lines of cluster `id`, oldest first (none for an unknown id). */
  recent(id: number, limit?: number): ClusterLogLine[];
  /** Calls `listener` with each new line of cluster `id`; returns the way to stop. */
  follow(id: number, listener: (line: ClusterLogLine) => void): () => void;
}
