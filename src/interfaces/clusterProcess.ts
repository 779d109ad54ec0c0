import type { ClusterSpec } from '../clusterMap/index.js';

/**
 * The contract between an Instance machine and its cluster process adapter
 * (src/adapters/clusterProcess.ts; a fake in the machines' unit tests): the
 * machine says what should happen to the process, the adapter reports what
 * did. `at` is the adapter's wall clock (ms): the machine reads no clock.
 */

/** What the adapter needs to launch the cluster (docs/protocol.md, the cluster process). */
export interface ProcessInput {
  cluster: ClusterSpec;
  shardCount: number;
  clusterCount: number;
}

export type ProcessCommand =
  | { type: 'process.spawn' }
  /** To the cluster's whole process group. */
  | { type: 'process.signal'; signal: 'SIGTERM' | 'SIGKILL' }
  /** Kill whatever is left of the cluster, and report process.reaped once nothing runs. */
  | { type: 'process.reap' };

export type ProcessEvent =
  | { type: 'process.spawned'; pid: number; at: number }
  | { type: 'process.spawnFailed'; error: string; at: number }
  | { type: 'process.exited'; code: number | null; signal: string | null; at: number; lastLines?: string[] }
  | { type: 'process.reaped'; at: number };
