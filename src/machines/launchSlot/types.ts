import type { ClusterSpec } from '../../clusterMap/index.js';
import type { GatewayInfo, SessionStartLimit } from '../../interfaces/gateway.js';
import type { InstanceReport } from '../instance/types.js';

export interface LaunchSlotInput {
  clusters: ClusterSpec[];
  /** The identify buckets launches share (identifyBuckets). */
  buckets: number;
  /** The shard count the clusters were built for: a fresh answer that recommends another is said. */
  shardCount: number;
  /** ms */
  startNextDelay: number;
  /**
   * ms: Discord's identify window (identify_window), after a wave whose every member waited for its
   * turn (docs/architecture.md, identify turns). Absent: 5 s, Discord's.
   */
  identifyWindow?: number;
  minimumSafeSessions: number;
  /** Discord's limit as discovery found it; null when Discord is not asked (fixed_shard_count). */
  sessionStartLimit: SessionStartLimit | null;
}

export type LaunchSlotEvent =
  /** Reports of the clusters, passed on by the orchestrator. */
  | Extract<InstanceReport, { type: 'slot.request' | 'cluster.up' | 'cluster.down' | 'cluster.stopped' }>
  /** Fleet protection: automatic restarts wait (operators' starts do not). */
  | { type: 'fleet.paused' }
  | { type: 'fleet.resumed' }
  /** A launch_next that named no cluster: it is the slot holder's (docs/protocol.md, launch_next). */
  | { type: 'bus.launchNext'; at: number }
  /** Cluster `id` has loaded and waits for its turn to identify (identify_wait). */
  | { type: 'bus.identifyWait'; id: number }
  /** Cluster `id` has sent its shards' identifies (identified). */
  | { type: 'bus.identified'; id: number }
  /** Internal: identify_window has passed since a cluster's identified: its buckets open again. */
  | { type: 'identify.bucketsOpen'; buckets: number[] };

/** What the launch slot tells the orchestrator. */
export type LaunchSlotReport =
  /** Every cluster of the first launch has had the slot. */
  { type: 'launch.done' };

export interface LaunchSlotContext {
  input: LaunchSlotInput;
  /** The first launch's order: ids that have not had the slot yet. */
  launchOrder: number[];
  /** Restarts and operator starts: served before launchOrder, first come first served. */
  requests: { id: number; automatic: boolean }[];
  /** The clusters holding the slot (a wave: their buckets are disjoint). */
  holders: number[];
  /** Holders an id-less launch_next was already given to: the next one goes to another. */
  credited: number[];
  /** Whether a holder got as far as identifying, which the start delay must then follow. */
  identified: boolean;
  /** Discord's session starts left, as last told less the shards launched since; null when not counted. */
  sessionsLeft: number | null;
  /** Discord's limit as last told. */
  sessionStartLimit: SessionStartLimit | null;
  restartsPaused: boolean;
  /** Clusters that asked for their turn to identify while a bucket of theirs was closed: turns when they open, in order. */
  waitingTurn: number[];
  /**
   * By identify bucket: how many identify windows run on it (identify_window from the identified of a
   * cluster that had its turn). A bucket is open at 0: counted, not flagged, so that no window's end
   * opens a bucket another window still holds.
   */
  closedBuckets: number[];
  /** Clusters told to identify that have not said identified yet. */
  hadTurn: number[];
  /** Whether every holder of the wave that let go so far did so at its identified, after its turn. */
  byTurn: boolean;
}

export type { GatewayInfo };
