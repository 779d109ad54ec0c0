import type { ReplyAddress } from '../../interfaces/commands.js';
import type { InstanceReport } from '../instance/types.js';

export interface RollingRestartInput {
  /** Every cluster, in launch order: each is restarted in turn. */
  clusters: number[];
}

/** The clusters' reports, passed on by the orchestrator: the current one's says it is done. */
export type RollingRestartReport = Extract<
  InstanceReport,
  { type: 'cluster.up' | 'cluster.down' | 'cluster.stopped' | 'cluster.failed' | 'cluster.restartSkipped' }
>;

/** Operators' commands on a running rolling restart, passed on by the orchestrator; it answers them itself. */
export type RollingRestartCommand = {
  type: 'command.rollingrestart_pause' | 'command.rollingrestart_resume' | 'command.rollingrestart_cancel';
} & ReplyAddress;

export type RollingRestartEvent = RollingRestartReport | RollingRestartCommand;

export interface RollingRestartContext {
  /** How many clusters it restarts in all. */
  total: number;
  /** Still to restart, in order. */
  queue: number[];
  current: number | null;
  /** Clusters it has finished with (up again, or given up on), in order. */
  done: number[];
}
