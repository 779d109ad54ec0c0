import type { InstanceReport } from '../instance/types.js';

export interface RollingRestartInput {
  /** Every cluster, in launch order: each is restarted in turn. */
  clusters: number[];
}

/** The clusters' reports, passed on by the orchestrator: the current one's says it is done. */
export type RollingRestartEvent = Extract<
  InstanceReport,
  { type: 'cluster.up' | 'cluster.down' | 'cluster.stopped' | 'cluster.failed' | 'cluster.restartSkipped' }
>;

export interface RollingRestartContext {
  /** Still to restart. */
  queue: number[];
  current: number | null;
}
