import type { ClusterSpec } from '../../clusterMap/index.js';
import type { BusEvent } from '../../interfaces/bus.js';
import type { GatewayInfo } from '../../interfaces/gateway.js';
import type { ClusterHistory } from '../../interfaces/history.js';
import type { InstanceReport, InstanceTiming, RestartPolicy } from '../instance/types.js';
import type { LaunchSlotReport } from '../launchSlot/types.js';
import type { WaitList } from './waitList.js';

export interface OrchestratorInput {
  perCluster: number;
  names: string[];
  fixedShardCount?: number | undefined;
  minimumSafeSessions: number;
  /** The config's cap on Discord's max_concurrency (the identify buckets); Discord's value when unset, 1 with neither. */
  maxConcurrency?: number | undefined;
  /** ms */
  startNextDelay: number;
  /** ms: Discord's identify window, between waves that wait for their turns (identify_window). */
  identifyWindow?: number | undefined;
  timing: InstanceTiming;
  restart: RestartPolicy;
  fleet: FleetPolicy;
  /** This run of the supervisor (nonces start with it). */
  nonceSalt: string;
  seed: number;
  /** Restart counts and last exits that earlier runs saved, by cluster id: a cluster of the map goes on from its own. */
  history?: Record<number, ClusterHistory> | undefined;
}

/** Fleet protection: when many clusters die at once, automatic restarts pause. Times in ms. */
export interface FleetPolicy {
  /** More than this fraction of the clusters down within `window` (and at least two): pause. 1 turns it off. */
  crashRatio: number;
  window: number;
  /** The first pause; each pause in a row doubles it, up to 16 times. */
  pause: number;
}

/** What operators are shown the supervisor doing: the tag of the state it is in (the launch slot's, while it waits for sessions). */
export const PHASES = [
  'discovering',
  'waiting for sessions',
  'waiting for the bus',
  'launching',
  'up',
  'rolling restart',
  'shutting down',
  'stopped',
] as const;
export type Phase = (typeof PHASES)[number];

export type OrchestratorEvent = BusEvent | InstanceReport | LaunchSlotReport | { type: 'fleet.forget'; id: number };

/**
 * Where each cluster stands for "is the bot whole": `up`, `down` (on its way
 * up or down, or dead), or `out` (stopped or failed: operators' business, and
 * not held against the bot).
 */
export type Standing = 'up' | 'down' | 'out';

/**
 * Kept under 20 top-level fields (the input is one), as the Instance
 * machine's: XState copies the context with Object.assign on every assign,
 * and V8 makes a copy with more than 19 fields a dictionary. Group before adding.
 */
export interface OrchestratorContext {
  /** What the actor was started with; never changes. */
  input: OrchestratorInput;
  gateway: GatewayInfo | null;
  clusters: ClusterSpec[];
  /** By cluster id. */
  standing: Standing[];
  /** Clusters a shutdown is still waiting for. */
  awaitingStop: WaitList;
  /** False until the bus says it is up. */
  busUp: boolean;
  exitCode: number;
  fatalError: string | null;
  /** Ids of clusters that went down within the fleet window (one entry per time). */
  recentDowns: number[];
  /** Pauses in a row, since the bot was last whole. */
  pauses: number;
}

export interface OrchestratorOutput {
  exitCode: number;
  error: string | null;
}
