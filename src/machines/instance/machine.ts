import type { SnapshotFrom } from 'xstate';
import { instanceSetup, RECENT_EXITS } from './setup.js';

export { OVERDUE_LIMIT_MS } from './setup.js';

/**
 * One cluster's life, as a statechart (README, "How a cluster lives";
 * docs/architecture.md); what its actions, guards and delays do is in
 * setup.ts. The machine never touches a process, a socket or the clock: it
 * sends commands to its `process` child (an adapter) and to its parent, and
 * reads time only from XState delays and from the `at` stamps that adapters
 * put on the events they send.
 */

/** Every state with a live process: an exit makes the cluster dead; stop and restart end the process first. */
const whileAlive = {
  'process.exited': { target: 'dead', actions: ['recordExit', { type: 'markDown', params: { reason: 'exited' } }] },
  'cluster.stop': 'stopping',
  'cluster.restart': 'restarting',
} as const;

/** While a diagnostic awaits its answer (in time or overdue). */
const awaitingAnswer = {
  'diag.answer': [{ guard: 'nonceMatches', target: 'running', actions: 'recordDiag' }, { actions: 'warnIgnored' }],
  // No deadline runs while the bus is down: the silence is the bus's, not the cluster's.
  'bus.down': { target: 'running', actions: ['forgetNonce', { type: 'setBusUp', params: { up: false } }] },
  ...whileAlive,
} as const;

/** SIGTERM, SIGKILL after kill_timeout (or at once on cluster.kill), then `then` once the process is gone. */
function terminating(then: 'stopped' | 'queued', description: string, also: { entry?: 'reportRestarting'; stop?: 'stopping' } = {}) {
  return instanceSetup.createStateConfig({
    description,
    tags: ['stopping', 'alive'],
    entry: also.entry ? ['terminate', also.entry] : 'terminate',
    after: { killTimeout: { actions: 'kill' } },
    on: {
      'cluster.kill': { actions: 'kill' },
      'process.exited': { target: then, actions: 'recordExit' },
      'process.spawnFailed': { target: then, actions: 'recordSpawnFailure' },
      ...(also.stop && { 'cluster.stop': also.stop }),
    },
  });
}

const judged = (reason: 'ping_timeout' | 'launch_timeout') =>
  ({ target: 'dead', actions: { type: 'markDown', params: { reason } } }) as const;

export const instanceMachine = instanceSetup.createMachine({
  id: 'instance',
  context: ({ input }) => ({
    input,
    pid: null,
    startedAt: null,
    upAt: null,
    launches: 0,
    diag: { seq: 0, nonce: null, last: null, fresh: false },
    lastExit: input.history?.exits.at(-1) ?? null,
    recentExits: input.history?.exits.slice(-RECENT_EXITS) ?? [],
    lastLines: [],
    downReason: null,
    spawnError: null,
    failedReason: null,
    restarts: {
      times: [],
      attempt: 0,
      backoffMs: 0,
      seed: input.seed,
      byCause: input.history?.restarts ?? { crash: 0, hang: 0, operator: 0, rollout: 0 },
    },
    stopRequested: false,
    busUp: true,
    automatic: false,
    reconnecting: false,
    restarting: false,
  }),
  invoke: {
    id: 'process',
    src: 'clusterProcess',
    input: ({ context }) => context.input,
  },
  // What no state takes: bus status is always kept; what comes too late or too early is said and dropped.
  on: {
    'bus.down': { actions: { type: 'setBusUp', params: { up: false } } },
    'bus.up': { actions: { type: 'setBusUp', params: { up: true } } },
    'bus.launchNext': { actions: 'warnIgnored' },
    'diag.answer': { actions: 'warnIgnored' },
    'bus.caughtUp': {},
    'cluster.restart': { actions: 'reportRestartSkipped' },
    'command.start': { actions: 'obeyOperator' },
    'command.stop': { actions: 'obeyOperator' },
    'command.restart': { actions: 'obeyOperator' },
  },
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: {
        'slot.granted': 'starting',
        'cluster.start': 'queued',
        'cluster.stop': 'stopped',
      },
    },
    queued: {
      tags: ['starting'],
      description: 'Waiting for the launch slot.',
      entry: 'requestLaunchSlot',
      on: {
        // `automatic` is cleared by each way out, after the launch is counted (exit actions would run first).
        'slot.granted': { target: 'starting', actions: ['countRestart', 'clearAutomatic'] },
        'cluster.stop': { target: 'stopped', actions: 'clearAutomatic' },
      },
    },
    starting: {
      tags: ['starting', 'alive'],
      entry: ['countLaunch', 'spawn'],
      on: {
        'process.spawned': { target: 'waitingLaunchNext', actions: 'recordSpawn' },
        'process.spawnFailed': {
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
        'bus.up': { target: 'waitingLaunchNext', reenter: true, actions: { type: 'setBusUp', params: { up: true } } },
        'bus.launchNext': { target: 'running', actions: ['recordUp', 'reportUp', 'endRestart'] },
        ...whileAlive,
      },
    },
    launchOverdue: {
      tags: ['starting', 'alive'],
      description:
        'launch_timeout has passed: as for a diagnostic, the bus first reads what arrived before now, then the cluster is judged.',
      entry: { type: 'catchUp', params: { on: 'launch' } },
      after: { overdueLimit: judged('launch_timeout') },
      on: {
        'bus.launchNext': { target: 'running', actions: ['recordUp', 'reportUp', 'endRestart'] },
        'bus.caughtUp': { guard: 'caughtUpOnLaunch', ...judged('launch_timeout') },
        // The launch_next may be lost in the outage: a full launch_timeout again once the bus is back.
        'bus.down': { target: 'waitingLaunchNext', actions: { type: 'setBusUp', params: { up: false } } },
        ...whileAlive,
      },
    },
    running: {
      tags: ['up', 'alive'],
      after: {
        pingInterval: [
          { guard: 'busUp', target: 'diagPending' },
          { target: 'running', reenter: true, actions: 'markRoundMissed' },
        ],
      },
      on: {
        ...whileAlive,
        // A fresh deadline, with reconnect_grace for the clusters to be back on the bus first.
        'bus.up': { guard: 'busDown', target: 'running', reenter: true, actions: { type: 'setBusUp', params: { up: true } } },
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
      after: { overdueLimit: judged('ping_timeout') },
      on: {
        ...awaitingAnswer,
        'bus.caughtUp': { guard: 'caughtUpOnDiag', ...judged('ping_timeout') },
      },
    },
    stopping: terminating('stopped', 'An operator stop: no automatic restart follows.'),
    restarting: terminating('queued', 'Stop then start: queues for the launch slot once the process is gone.', {
      entry: 'reportRestarting',
      stop: 'stopping',
    }),
    stopped: {
      tags: ['stopped'],
      entry: 'reportStopped',
      on: {
        'cluster.start': { target: 'queued', actions: 'clearFailure' },
        // Asked again (a shutdown stops every cluster, and waits to hear from each): it says so again.
        'cluster.stop': { actions: 'reportStopped' },
      },
    },
    dead: {
      tags: ['dead', 'alive'],
      description: 'The cluster is down; it leaves this state only once its process is gone.',
      entry: ['reap', 'reportDown', 'endRestart'],
      on: {
        'process.exited': { actions: 'recordExit' },
        'cluster.stop': { actions: 'requestStop' },
        'process.reaped': [
          { guard: 'stopRequested', target: 'stopped' },
          // A cluster that says Discord closed its gateway for good (its exit code: protocol/closeCodes.ts).
          { guard: 'exitSaysDiscordClosed', target: 'failed', actions: 'markFailedByDiscord' },
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
        'cluster.start': 'queued',
        'cluster.stop': 'stopped',
      },
    },
    failed: {
      tags: ['failed'],
      description: 'Restarting cannot help or was tried too often: stays down until an operator start.',
      entry: 'reportFailed',
      on: {
        'cluster.start': { target: 'queued', actions: 'clearFailure' },
        'cluster.stop': 'stopped',
      },
    },
  },
});

export type InstanceSnapshot = SnapshotFrom<typeof instanceMachine>;
export type InstanceState = Extract<InstanceSnapshot['value'], string>;
