import type { BusToInstance } from '../../interfaces/bus.js';
import type { DownReason, ExitInfo, InstanceGroup, RestartCause, RestartCounts } from '../../interfaces/clusterView.js';
import type { ProcessEvent, ProcessInput } from '../../interfaces/clusterProcess.js';
import type { Command, ClusterAction } from '../../interfaces/commands.js';
import type { ClusterHistory } from '../../interfaces/history.js';
import type { ShardHealth } from '../../protocol/index.js';

export type { DownReason, ExitInfo };

/** Times in milliseconds. */
export interface InstanceTiming {
  pingInterval: number;
  pingTimeout: number;
  launchTimeout: number;
  killTimeout: number;
  /** After the bus comes back, the first diagnostic waits this much longer: clusters reconnect at their own pace. */
  reconnectGrace: number;
}

/** The restart policy (config block `restart`), times in milliseconds. */
export interface RestartPolicy {
  backoffInitial: number;
  backoffFactor: number;
  backoffMax: number;
  jitter: number;
  resetAfter: number;
  maxRestarts: number;
  within: number;
  noRestartExitCodes: number[];
}

export interface InstanceInput extends ProcessInput {
  timing: InstanceTiming;
  restart: RestartPolicy;
  /** This run of the supervisor: every diagnostic nonce starts with it (clusters tell runs apart by it). */
  nonceSalt: string;
  /** Seeds the jitter of the backoff; the same seed gives the same delays. */
  seed: number;
  /** Its restart counts and last exits from earlier runs of the supervisor: they go on from there. */
  history?: ClusterHistory | undefined;
}

/** What the orchestrator (and the machines under it) tell an instance. */
export type InstanceCommand =
  /** The launch slot is this cluster's: start now. */
  | { type: 'slot.granted' }
  /** Wants the cluster up: queue for the launch slot. */
  | { type: 'cluster.start' }
  | { type: 'cluster.stop' }
  /** Stop, then queue for the launch slot; a cluster that is not running says cluster.restartSkipped. */
  | { type: 'cluster.restart'; by?: RestartBy }
  /** Shutdown's second signal: SIGKILL now, do not wait for kill_timeout. */
  | { type: 'cluster.kill' }
  /** The cluster said launch_next (through the bus and the orchestrator). */
  | { type: 'bus.launchNext'; at: number }
  | { type: 'bus.up' }
  | { type: 'bus.down' }
  /** An operator's start, stop or restart: checked against the state, answered, and carried out if allowed. */
  | Extract<Command, { type: `command.${ClusterAction}` }>;

export type InstanceEvent = InstanceCommand | BusToInstance | ProcessEvent;

/** What an instance tells its parent. */
export type InstanceReport =
  /** `automatic`: a restart after a crash (held while the fleet's restarts are paused), not an operator's start. */
  | { type: 'slot.request'; id: number; automatic: boolean }
  | { type: 'cluster.up'; id: number }
  /** `launching`: it went down before its launch_next; `restart`: in a launch that restarted it. */
  | {
      type: 'cluster.down';
      id: number;
      reason: DownReason;
      launching: boolean;
      restart: boolean;
      exit: ExitInfo | null;
      error: string | null;
    }
  /** It is being restarted: not up until it says launch_next again. */
  | { type: 'cluster.restarting'; id: number }
  /** Asked to restart (in a rolling restart) while it is not running: left as it is. */
  | { type: 'cluster.restartSkipped'; id: number }
  | { type: 'cluster.stopped'; id: number }
  | { type: 'cluster.failed'; id: number; why: string; exits: ExitInfo[]; lastLines: string[] };

/**
 * What a state means, said once, on the state: every view (metrics, the live
 * stream and the dashboard, refusals, the orchestrator's "is the bot whole")
 * asks the tags. A group (INSTANCE_GROUPS), and `alive`: a process of the
 * cluster may exist.
 */
export type InstanceTag = InstanceGroup | 'alive';

/** What the views and rules read of an Instance snapshot (kept apart from the machine, so that they need not import it). */
export interface InstanceView {
  value: unknown;
  context: InstanceContext;
  hasTag(tag: InstanceTag): boolean;
}

/** Who restarts a cluster on purpose: an operator (a command), or a rolling restart. */
export type RestartBy = Extract<RestartCause, 'operator' | 'rollout'>;

/**
 * Kept to 18 top-level fields on purpose: XState copies the context with
 * Object.assign on every assign, and V8 turns such a copy with more than 19
 * fields into a dictionary (with 28 fields: ~1 KB more per copy, and a hash
 * lookup per read). Group before adding.
 */
export interface InstanceContext {
  /** What the actor was started with; never changes. */
  input: InstanceInput;
  pid: number | null;
  startedAt: number | null;
  upAt: number | null;
  launches: number;
  diag: {
    /** Diagnostics sent so far: makes each nonce unique. */
    seq: number;
    /** The nonce of the diagnostic awaiting its answer. */
    nonce: string | null;
    last: { at: number; health: ShardHealth[] } | null;
    /**
     * `last` is the running process's answer and no round has been missed
     * since (the bus was up at every ping): its figures are current. Else they
     * are only the last known ones.
     */
    fresh: boolean;
  };
  lastExit: ExitInfo | null;
  recentExits: ExitInfo[];
  lastLines: string[];
  downReason: DownReason | null;
  spawnError: string | null;
  failedReason: string | null;
  /** The restart policy's state. */
  restarts: {
    /** Timestamps of automatic restarts inside the `within` window. */
    times: number[];
    /** Consecutive automatic restarts without a long enough run: drives the backoff. */
    attempt: number;
    backoffMs: number;
    /** The jitter's PRNG state (from input.seed). */
    seed: number;
    /** Launches after the first, by why (the same object until one is counted: views compare it by reference). */
    byCause: RestartCounts;
  };
  stopRequested: boolean;
  busUp: boolean;
  /** Queued by the backoff timer rather than by an operator. */
  automatic: boolean;
  /** The bus came back and no diagnostic has gone out since. */
  reconnecting: boolean;
  /** Being restarted (stopped to be started again), and by whom, until it is up or down again. */
  restarting: false | RestartBy;
}
