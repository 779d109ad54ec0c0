import {
  assign,
  enqueueActions,
  fromCallback,
  log,
  sendParent,
  sendTo,
  setup,
  type ActorSystem,
  type AnyActorRef,
  type SnapshotFrom,
} from 'xstate';
import type { ClusterSpec } from '../clusterMap/index.js';
import { sanitizeHealth, type ShardHealth } from '../protocol/index.js';

export type { ShardHealth };

/**
 * One cluster's life (README, "How a cluster lives"; docs/architecture.md). The machine never touches a process, a socket
 * or the clock: it sends commands to its `process` child (an adapter) and to
 * its parent, and it reads time only from XState delays and from the `at`
 * stamps that adapters put on the events they send.
 */

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

/** What the `process` adapter needs to launch the cluster (docs/protocol.md, the cluster process). */
export interface ProcessInput {
  cluster: ClusterSpec;
  shardCount: number;
  clusterCount: number;
}

export interface InstanceInput extends ProcessInput {
  timing: InstanceTiming;
  restart: RestartPolicy;
  /** Makes diagnostic nonces unique across runs of the supervisor. */
  nonceSalt: string;
  /** Seeds the jitter of the backoff; the same seed gives the same delays. */
  seed: number;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: number;
}

/** Why a cluster went to `dead`. */
export type DownReason = 'exited' | 'spawn_failed' | 'launch_timeout' | 'ping_timeout';

/** Commands the machine sends to its `process` child. */
export type ProcessCommand =
  | { type: 'SPAWN' }
  /** Signal the cluster's whole process group. */
  | { type: 'SIGNAL'; signal: 'SIGTERM' | 'SIGKILL' }
  /** Kill whatever is left of the cluster and answer REAPED once nothing runs. */
  | { type: 'REAP' };

/** What the `process` child reports; `at` is the adapter's wall clock (ms). */
export type ProcessEvent =
  | { type: 'PROCESS.SPAWNED'; pid: number; at: number }
  | { type: 'PROCESS.SPAWN_FAILED'; error: string; at: number }
  | { type: 'PROCESS.EXITED'; code: number | null; signal: string | null; at: number; lastLines?: string[] }
  | { type: 'PROCESS.REAPED'; at: number };

/** What the orchestrator sends to an instance. */
export type InstanceCommand =
  /** Your launch slot: start now. */
  | { type: 'LAUNCH' }
  /** An operator (or the orchestrator) wants the cluster up: queue for a launch slot. */
  | { type: 'START' }
  | { type: 'STOP' }
  | { type: 'RESTART' }
  /** Shutdown's second signal: do not wait for the grace period. */
  | { type: 'KILL' }
  | { type: 'LAUNCH_NEXT'; at: number }
  | { type: 'DIAG_ANSWER'; nonce: string; health: ShardHealth[]; at: number }
  /** The bus has read everything that had arrived when CATCH_UP `token` was asked: what the cluster was waiting for is not in it. */
  | { type: 'CAUGHT_UP'; token: string }
  | { type: 'BUS_DOWN' }
  | { type: 'BUS_UP' };

export type InstanceEvent = InstanceCommand | ProcessEvent;

/**
 * What operators are shown a cluster doing: each state has exactly one of
 * these as a tag. `up`: it said launch_next and serves its shards.
 */
export const INSTANCE_GROUPS = ['idle', 'starting', 'up', 'stopping', 'dead', 'backoff', 'failed', 'stopped'] as const;
export type InstanceGroup = (typeof INSTANCE_GROUPS)[number];

/**
 * What a state means, said once, on the state: every view (metrics, the live
 * stream and the dashboard, refusals, the orchestrator's "is the bot whole")
 * asks the tags. A group (above), and `alive`: a process of the cluster may exist.
 */
export type InstanceTag = InstanceGroup | 'alive';

/** The systemId (and child id) of cluster `id`'s Instance actor: how the orchestrator and the bus address it. */
export const instanceSystemId = (id: number) => `cluster-${id}`;

/** Cluster `id`'s Instance actor in `system`, if there is one. */
export const instanceActor = (system: ActorSystem<any>, id: number) => system.get(instanceSystemId(id)) as AnyActorRef | undefined;

/**
 * What an instance asks of the bus (systemId "bus"). `launch` numbers the
 * cluster's processes: what the bus learnt about one (that it answers on its
 * own channel) does not carry over to the next.
 */
export type DiagRequest =
  | { type: 'DIAG_REQUEST'; id: number; nonce: string; launch: number }
  /**
   * A deadline has passed without what the cluster owed (a diagnostic's
   * answer, its launch_next): read everything that has arrived so far (the
   * supervisor, not the cluster, may be behind), then answer CAUGHT_UP.
   */
  | { type: 'CATCH_UP'; id: number; token: string };

/** What an instance tells its parent. */
export type InstanceReport =
  /** `automatic`: a restart after a crash (held while the fleet's restarts are paused), not an operator's start. */
  | { type: 'CLUSTER.LAUNCH_REQUEST'; id: number; automatic: boolean }
  | { type: 'CLUSTER.UP'; id: number }
  /** `launching`: it went down before its launch_next. */
  | { type: 'CLUSTER.DOWN'; id: number; reason: DownReason; launching: boolean; exit: ExitInfo | null; error: string | null }
  | { type: 'CLUSTER.STOPPED'; id: number }
  | { type: 'CLUSTER.FAILED'; id: number; why: string; exits: ExitInfo[]; lastLines: string[] };

/**
 * Kept to 17 top-level fields on purpose: XState copies the context with
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
  };
  stopRequested: boolean;
  busUp: boolean;
  /** Queued by the backoff timer rather than by an operator. */
  automatic: boolean;
  /** The bus came back and no diagnostic has gone out since. */
  reconnecting: boolean;
}

const RECENT_EXITS = 5;

/**
 * How long a cluster whose ping_timeout has passed waits at most for the bus
 * to catch up before it is judged anyway: a bound on a bus that never
 * confirms, not a part of the normal path (it confirms within milliseconds).
 */
export const OVERDUE_LIMIT_MS = 60_000;

/** mulberry32: a tiny deterministic PRNG so that jitter keeps the machine pure. */
function nextRandom(seed: number): [number, number] {
  let t = (seed + 0x6d2b79f5) | 0;
  let r = Math.imul(t ^ (t >>> 15), t | 1);
  r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
  return [((r ^ (r >>> 14)) >>> 0) / 4294967296, t];
}

/** The delay before restart number `attempt` (0-based), with jitter in [-j, +j]. */
export function backoffDelay(policy: RestartPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.backoffMax, policy.backoffInitial * policy.backoffFactor ** attempt);
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random - 1))));
}

/** The diagnostic state once no answer is awaited (answered, abandoned, or a new process). */
const withoutNonce = ({ context }: { context: InstanceContext }) => ({ ...context.diag, nonce: null });

const instanceSetup = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceInput,
    tags: {} as InstanceTag,
  },
  actors: {
    // Replaced by the real adapter (spawnCluster) or a test double through provide().
    clusterProcess: fromCallback<ProcessCommand, ProcessInput, ProcessEvent>(() => {
      throw new Error('instanceMachine needs a clusterProcess actor: provide one');
    }),
  },
  delays: {
    pingInterval: ({ context }) => untilNextPing(context) + (context.reconnecting ? context.input.timing.reconnectGrace : 0),
    pingTimeout: ({ context }) => context.input.timing.pingTimeout,
    launchTimeout: ({ context }) => context.input.timing.launchTimeout,
    killTimeout: ({ context }) => context.input.timing.killTimeout,
    overdueLimit: OVERDUE_LIMIT_MS,
    backoff: ({ context }) => context.restarts.backoffMs,
  },
  guards: {
    busUp: ({ context }) => context.busUp,
    busDown: ({ context }) => !context.busUp,
    noBackoff: ({ context }) => context.restarts.backoffMs <= 0,
    nonceMatches: ({ context, event }) => event.type === 'DIAG_ANSWER' && event.nonce === context.diag.nonce,
    // What the bus caught up on is this deadline's, not an earlier one's.
    caughtUpOnDiag: ({ context, event }) => event.type === 'CAUGHT_UP' && event.token === context.diag.nonce,
    caughtUpOnLaunch: ({ context, event }) => event.type === 'CAUGHT_UP' && event.token === launchToken(context),
    stopRequested: ({ context }) => context.stopRequested,
    exitSaysDoNotRestart: ({ context }) =>
      context.downReason === 'exited' &&
      context.lastExit?.code != null &&
      context.input.restart.noRestartExitCodes.includes(context.lastExit.code),
    restartBudgetSpent: ({ context, event }) => {
      const at = 'at' in event ? event.at : 0;
      const { within, maxRestarts } = context.input.restart;
      return context.restarts.times.filter((t) => t > at - within).length >= maxRestarts;
    },
  },
  actions: {
    spawn: sendTo('process', { type: 'SPAWN' }),
    terminate: sendTo('process', { type: 'SIGNAL', signal: 'SIGTERM' }),
    kill: sendTo('process', { type: 'SIGNAL', signal: 'SIGKILL' }),
    reap: sendTo('process', { type: 'REAP' }),
    countLaunch: assign({
      launches: ({ context }) => context.launches + 1,
      upAt: null,
      stopRequested: false,
      downReason: null,
      spawnError: null,
      diag: withoutNonce,
    }),
    recordSpawn: assign(({ event }) => {
      if (event.type !== 'PROCESS.SPAWNED') return {};
      return { pid: event.pid, startedAt: event.at };
    }),
    recordExit: assign(({ context, event }) => {
      if (event.type !== 'PROCESS.EXITED') return {};
      const exit = { code: event.code, signal: event.signal, at: event.at };
      return {
        pid: null,
        lastExit: exit,
        recentExits: [...context.recentExits, exit].slice(-RECENT_EXITS),
        lastLines: event.lastLines ?? context.lastLines,
      };
    }),
    recordSpawnFailure: assign(({ event }) => (event.type === 'PROCESS.SPAWN_FAILED' ? { pid: null, spawnError: event.error } : {})),
    markDown: assign((_, params: { reason: DownReason }) => ({ downReason: params.reason })),
    recordUp: assign(({ event }) => ({ upAt: event.type === 'LAUNCH_NEXT' ? event.at : null })),
    recordDiag: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'DIAG_ANSWER') return;
      // Held to the cluster's own shards: a cluster cannot report 11,500 shards, or an infinite guild count, for a 2-shard cluster.
      const { health, dropped } = sanitizeHealth(event.health, context.input.cluster.shards);
      enqueue.assign({ diag: { ...context.diag, nonce: null, last: { at: event.at, health } } });
      if (dropped > 0) {
        enqueue(
          log(() => ({
            level: 'warn',
            cluster: context.input.cluster.id,
            msg: `left out ${dropped} entries of a diagnostic answer that are not for this cluster's shards (${context.input.cluster.shards.join(', ')}), or repeat one`,
          })),
        );
      }
    }),
    newNonce: assign(({ context: { input, diag } }) => ({
      reconnecting: false,
      diag: { seq: diag.seq + 1, nonce: `${input.nonceSalt}-${input.cluster.id}-${diag.seq + 1}`, last: diag.last },
    })),
    forgetNonce: assign({ diag: withoutNonce }),
    requestStop: assign({ stopRequested: true }),
    // `reconnecting` only when the bus comes back from down: a repeated "up" gives no grace.
    setBusUp: assign(({ context }, params: { up: boolean }) => ({ busUp: params.up, reconnecting: params.up && !context.busUp })),
    /** Called on REAPED, when the machine has decided to restart the cluster. */
    scheduleRestart: assign(({ context, event }) => {
      const at = 'at' in event ? event.at : 0;
      const policy = context.input.restart;
      const ranLongEnough = context.upAt !== null && at - context.upAt >= policy.resetAfter;
      const attempt = ranLongEnough ? 0 : context.restarts.attempt;
      const [random, seed] = nextRandom(context.restarts.seed);
      return {
        restarts: {
          attempt: attempt + 1,
          seed,
          backoffMs: backoffDelay(policy, attempt, random),
          times: [...context.restarts.times.filter((t) => t > at - policy.within), at],
        },
        upAt: null,
      };
    }),
    markFailed: assign((_, params: { why: string }) => ({ failedReason: params.why })),
    clearFailure: assign(({ context }) => ({ failedReason: null, restarts: { ...context.restarts, attempt: 0, times: [] } })),
    requestLaunchSlot: sendParent(({ context }) => ({
      type: 'CLUSTER.LAUNCH_REQUEST',
      id: context.input.cluster.id,
      automatic: context.automatic,
    })),
    markAutomatic: assign({ automatic: true }),
    clearAutomatic: assign({ automatic: false }),
    reportUp: sendParent(({ context }) => ({ type: 'CLUSTER.UP', id: context.input.cluster.id })),
    reportDown: sendParent(({ context }) => ({
      type: 'CLUSTER.DOWN',
      id: context.input.cluster.id,
      reason: context.downReason ?? 'exited',
      launching: context.upAt === null,
      exit: context.downReason === 'exited' ? context.lastExit : null,
      error: context.spawnError,
    })),
    reportStopped: sendParent(({ context }) => ({ type: 'CLUSTER.STOPPED', id: context.input.cluster.id })),
    reportFailed: sendParent(({ context }) => ({
      type: 'CLUSTER.FAILED',
      id: context.input.cluster.id,
      why: context.failedReason ?? 'unknown',
      exits: context.recentExits,
      lastLines: context.lastLines,
    })),
    // Straight to the bus (systemId "bus"): diagnostics are the busiest traffic, and the orchestrator need not see them.
    requestDiag: sendTo(
      ({ system }) => system.get('bus'),
      ({ context }) => ({ type: 'DIAG_REQUEST', id: context.input.cluster.id, nonce: context.diag.nonce!, launch: context.launches }),
    ),
    catchUp: sendTo(
      ({ system }) => system.get('bus'),
      ({ context }, params: { on: 'diag' | 'launch' }) => ({
        type: 'CATCH_UP',
        id: context.input.cluster.id,
        token: params.on === 'diag' ? context.diag.nonce! : launchToken(context),
      }),
    ),
    reportStoppedAgain: sendParent(({ context }) => ({ type: 'CLUSTER.STOPPED', id: context.input.cluster.id })),
    warnIgnored: log(({ context, event }) => ({
      level: 'warn',
      cluster: context.input.cluster.id,
      msg: `ignored ${event.type === 'DIAG_ANSWER' ? 'a diagnostic answer with a stale nonce' : event.type}: the cluster is not waiting for it`,
    })),
  },
});

/** What a launch's CATCH_UP is known by: its process's number, so that a late CAUGHT_UP of an earlier launch is told apart. */
const launchToken = (context: Pick<InstanceContext, 'launches'>) => `launch-${context.launches}`;

/**
 * Diagnostics run on one clock shared by every cluster, as the Go version's
 * ticker does: the next ping is due at the next multiple of ping_interval
 * (Unix time), so every cluster is asked in the same tick and the supervisor
 * wakes once per interval instead of once per cluster (two fifths less CPU
 * with 32 clusters in the bench). The time is the latest one the machine was
 * told (its launch_next or its last answer, both stamped by the bus): it stays
 * pure, and a cluster is never left more than one interval without a
 * diagnostic.
 */
function untilNextPing(context: Pick<InstanceContext, 'input' | 'upAt' | 'diag'>) {
  const interval = context.input.timing.pingInterval;
  const now = Math.max(context.upAt ?? 0, context.diag.last?.at ?? 0);
  return interval - (now % interval);
}

/** Every state with a live process: an exit makes the cluster dead; stop and restart end the process first. */
const whileAlive = {
  'PROCESS.EXITED': { target: 'dead', actions: ['recordExit', { type: 'markDown', params: { reason: 'exited' } }] },
  STOP: 'stopping',
  RESTART: 'restarting',
} as const;

/** While a diagnostic awaits its answer (in time or overdue). */
const awaitingAnswer = {
  DIAG_ANSWER: [{ guard: 'nonceMatches', target: 'running', actions: 'recordDiag' }, { actions: 'warnIgnored' }],
  // No deadline runs while the bus is down: the silence is the bus's, not the cluster's.
  BUS_DOWN: { target: 'running', actions: ['forgetNonce', { type: 'setBusUp', params: { up: false } }] },
  ...whileAlive,
} as const;

/** SIGTERM, SIGKILL after kill_timeout (or at once on KILL), then `then` once the process is gone. */
function terminating(then: 'stopped' | 'queued', description: string, also: { STOP?: 'stopping' } = {}) {
  return instanceSetup.createStateConfig({
    description,
    tags: ['stopping', 'alive'],
    entry: 'terminate',
    after: { killTimeout: { actions: 'kill' } },
    on: {
      KILL: { actions: 'kill' },
      'PROCESS.EXITED': { target: then, actions: 'recordExit' },
      'PROCESS.SPAWN_FAILED': { target: then, actions: 'recordSpawnFailure' },
      ...also,
    },
  });
}

export const instanceMachine = instanceSetup.createMachine({
  id: 'instance',
  context: ({ input }) => ({
    input,
    pid: null,
    startedAt: null,
    upAt: null,
    launches: 0,
    diag: { seq: 0, nonce: null, last: null },
    lastExit: null,
    recentExits: [],
    lastLines: [],
    downReason: null,
    spawnError: null,
    failedReason: null,
    restarts: { times: [], attempt: 0, backoffMs: 0, seed: input.seed },
    stopRequested: false,
    busUp: true,
    automatic: false,
    reconnecting: false,
  }),
  invoke: {
    id: 'process',
    src: 'clusterProcess',
    input: ({ context }) => context.input,
  },
  on: {
    BUS_DOWN: { actions: { type: 'setBusUp', params: { up: false } } },
    BUS_UP: { actions: { type: 'setBusUp', params: { up: true } } },
    LAUNCH_NEXT: { actions: 'warnIgnored' },
    DIAG_ANSWER: { actions: 'warnIgnored' },
    CAUGHT_UP: {},
  },
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: {
        LAUNCH: 'starting',
        START: 'queued',
        STOP: 'stopped',
      },
    },
    queued: {
      tags: ['starting'],
      description: 'Waiting for the orchestrator to hand out the launch slot.',
      entry: 'requestLaunchSlot',
      exit: 'clearAutomatic',
      on: {
        LAUNCH: 'starting',
        STOP: 'stopped',
      },
    },
    starting: {
      tags: ['starting', 'alive'],
      entry: ['countLaunch', 'spawn'],
      on: {
        'PROCESS.SPAWNED': { target: 'waitingLaunchNext', actions: 'recordSpawn' },
        'PROCESS.SPAWN_FAILED': {
          target: 'dead',
          actions: ['recordSpawnFailure', { type: 'markDown', params: { reason: 'spawn_failed' } }],
        },
        ...whileAlive,
      },
    },
    waitingLaunchNext: {
      tags: ['starting', 'alive'],
      after: {
        launchTimeout: [
          { guard: 'busUp', target: 'launchOverdue' },
          // The launch_next may be lost in the outage: wait a full launch_timeout again.
          { target: 'waitingLaunchNext', reenter: true },
        ],
      },
      on: {
        BUS_UP: { target: 'waitingLaunchNext', reenter: true, actions: { type: 'setBusUp', params: { up: true } } },
        LAUNCH_NEXT: { target: 'running', actions: ['recordUp', 'reportUp'] },
        ...whileAlive,
      },
    },
    launchOverdue: {
      tags: ['starting', 'alive'],
      description:
        'launch_timeout has passed: as for a diagnostic, the bus first reads what arrived before now, then the cluster is judged.',
      entry: { type: 'catchUp', params: { on: 'launch' } },
      after: { overdueLimit: { target: 'dead', actions: { type: 'markDown', params: { reason: 'launch_timeout' } } } },
      on: {
        LAUNCH_NEXT: { target: 'running', actions: ['recordUp', 'reportUp'] },
        CAUGHT_UP: { guard: 'caughtUpOnLaunch', target: 'dead', actions: { type: 'markDown', params: { reason: 'launch_timeout' } } },
        // The launch_next may be lost in the outage: a full launch_timeout again once the bus is back.
        BUS_DOWN: { target: 'waitingLaunchNext', actions: { type: 'setBusUp', params: { up: false } } },
        ...whileAlive,
      },
    },
    running: {
      tags: ['up', 'alive'],
      after: {
        pingInterval: [
          { guard: 'busUp', target: 'diagPending' },
          { target: 'running', reenter: true },
        ],
      },
      on: {
        ...whileAlive,
        // A fresh deadline, with reconnect_grace for the clusters to be back on the bus first.
        BUS_UP: { guard: 'busDown', target: 'running', reenter: true, actions: { type: 'setBusUp', params: { up: true } } },
      },
    },
    diagPending: {
      tags: ['up', 'alive'],
      entry: ['newNonce', 'requestDiag'],
      after: { pingTimeout: 'diagOverdue' },
      on: awaitingAnswer,
    },
    diagOverdue: {
      tags: ['up', 'alive'],
      description:
        'ping_timeout has passed. The answer may be waiting unread behind a backlog (the supervisor is behind, not the cluster): the bus reads what arrived before now, then the cluster is judged.',
      entry: { type: 'catchUp', params: { on: 'diag' } },
      after: { overdueLimit: { target: 'dead', actions: { type: 'markDown', params: { reason: 'ping_timeout' } } } },
      on: {
        ...awaitingAnswer,
        CAUGHT_UP: { guard: 'caughtUpOnDiag', target: 'dead', actions: { type: 'markDown', params: { reason: 'ping_timeout' } } },
      },
    },
    stopping: terminating('stopped', 'An operator stop: no automatic restart follows.'),
    restarting: terminating('queued', 'Stop then start: queues for a launch slot once the process is gone.', { STOP: 'stopping' }),
    stopped: {
      tags: ['stopped'],
      entry: 'reportStopped',
      on: {
        START: { target: 'queued', actions: 'clearFailure' },
        // Asked again (a shutdown stops every cluster, and waits to hear from each): it says so again.
        STOP: { actions: 'reportStoppedAgain' },
      },
    },
    dead: {
      tags: ['dead', 'alive'],
      description: 'The cluster is down; it leaves this state only once its process is gone.',
      entry: ['reap', 'reportDown'],
      on: {
        'PROCESS.EXITED': { actions: 'recordExit' },
        STOP: { actions: 'requestStop' },
        'PROCESS.REAPED': [
          { guard: 'stopRequested', target: 'stopped' },
          {
            guard: 'exitSaysDoNotRestart',
            target: 'failed',
            actions: { type: 'markFailed', params: { why: 'its exit code is in restart.no_restart_exit_codes' } },
          },
          {
            guard: 'restartBudgetSpent',
            target: 'failed',
            actions: { type: 'markFailed', params: { why: 'too many restarts (restart.max_restarts within restart.within)' } },
          },
          { target: 'backoff', actions: 'scheduleRestart' },
        ],
      },
    },
    backoff: {
      tags: ['backoff'],
      description: 'Waiting before an automatic restart; the delay grows with each quick failure.',
      always: { guard: 'noBackoff', target: 'queued', actions: 'markAutomatic' },
      after: { backoff: { target: 'queued', actions: 'markAutomatic' } },
      on: {
        START: 'queued',
        STOP: 'stopped',
      },
    },
    failed: {
      tags: ['failed'],
      description: 'Restarting cannot help or was tried too often: stays down until an operator start.',
      entry: 'reportFailed',
      on: {
        START: { target: 'queued', actions: 'clearFailure' },
        STOP: 'stopped',
      },
    },
  },
});

export type InstanceSnapshot = SnapshotFrom<typeof instanceMachine>;
export type InstanceState = Extract<InstanceSnapshot['value'], string>;

/**
 * What operators see of a cluster: the bus's statuses, the HTTP API and the
 * live stream all show this. Field names as on the wire; times are unix ms.
 */
export interface ClusterView {
  id: number;
  name: string;
  shards: number[];
  state: InstanceState;
  /** What the state means to an operator (its group tag). */
  group: InstanceGroup;
  /** Up and serving its shards (the `up` group). */
  up: boolean;
  /** The operator commands this state allows now: the others are refused, saying why (refusal). */
  allowed: OperatorCommand[];
  active: boolean;
  pid: number | null;
  started_at: number | null;
  up_at: number | null;
  restarts: number;
  last_diag: { at: number; health: ShardHealth[] } | null;
  last_exit: ExitInfo | null;
  down_reason: DownReason | null;
  backoff_ms: number | null;
  failed_reason: string | null;
}

// Snapshots are immutable: one view per snapshot serves every reader until the cluster changes.
const views = new WeakMap<InstanceSnapshot, ClusterView>();

export function viewOf(snapshot: InstanceSnapshot): ClusterView {
  let view = views.get(snapshot);
  if (!view) views.set(snapshot, (view = computeView(snapshot)));
  return view;
}

function computeView(snapshot: InstanceSnapshot): ClusterView {
  const c = snapshot.context;
  const { cluster } = c.input;
  const state = snapshot.value as InstanceState;
  return {
    id: cluster.id,
    name: cluster.name,
    shards: cluster.shards,
    state,
    group: INSTANCE_GROUPS.find((g) => snapshot.hasTag(g))!,
    up: snapshot.hasTag('up'),
    allowed: allowedCommands(snapshot),
    active: c.pid !== null,
    pid: c.pid,
    started_at: c.startedAt,
    up_at: c.upAt,
    restarts: Math.max(0, c.launches - 1),
    last_diag: c.diag.last,
    last_exit: c.lastExit,
    down_reason: state === 'dead' || state === 'backoff' || state === 'failed' ? c.downReason : null,
    backoff_ms: state === 'backoff' ? c.restarts.backoffMs : null,
    failed_reason: state === 'failed' ? c.failedReason : null,
  };
}

export const OPERATOR_COMMANDS = ['start', 'stop', 'restart'] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

// One array per combination, shared: views are compared field by field, by reference.
const allowedLists = new Map<string, OperatorCommand[]>();

/** The commands refusal() lets through in this state. */
function allowedCommands(snapshot: InstanceSnapshot): OperatorCommand[] {
  const allowed = OPERATOR_COMMANDS.filter((command) => refusal(command, snapshot) === null);
  const key = allowed.join();
  let shared = allowedLists.get(key);
  if (!shared) allowedLists.set(key, (shared = allowed));
  return shared;
}

/** Why an operator command cannot be carried out in this state, or null when it can. */
export function refusal(command: OperatorCommand, snapshot: InstanceSnapshot): string | null {
  const state = snapshot.value as InstanceState;
  const who = `cluster ${snapshot.context.input.cluster.id}`;
  switch (command) {
    case 'start':
      if (['idle', 'stopped', 'failed', 'backoff'].includes(state)) return null;
      if (state === 'dead') return `${who} is dead and will restart by itself once its process is gone`;
      if (state === 'stopping') return `${who} is stopping; start it once it has stopped`;
      return `${who} is already ${state === 'queued' ? 'queued to start' : state === 'restarting' ? 'restarting' : 'running'} (${state})`;
    case 'stop':
      return state === 'stopped' ? `${who} is already stopped` : state === 'stopping' ? `${who} is already stopping` : null;
    case 'restart':
      if (snapshot.hasTag('alive') && state !== 'dead' && state !== 'stopping' && state !== 'restarting') return null;
      return `${who} is not running (${state}); use start`;
  }
}
