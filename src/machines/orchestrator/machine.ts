import { forwardTo, log, type SnapshotFrom } from 'xstate';
import type { CommandResult } from '../../interfaces/commands.js';
import { bucketsOf, NO_ROLLING_RESTART, NOT_LAUNCHED, orchestratorSetup, SHUTTING_DOWN } from './setup.js';

export { bucketsOf } from './setup.js';

/**
 * The root actor (docs/architecture.md), as a statechart: finds the shard
 * count, builds the cluster map, spawns one Instance machine per cluster, and
 * keeps the supervisor's lifecycle, operators' commands and fleet protection.
 * The launch slot and rolling restarts are machines of their own, its
 * children. What its actions, guards and delays do is in setup.ts.
 */

const refuse = (result: CommandResult) => ({ actions: { type: 'reply', params: result } }) as const;
const accept = refuse({ ok: true });

export const orchestratorMachine = orchestratorSetup.createMachine({
  id: 'orchestrator',
  context: ({ input }) => ({
    input,
    gateway: null,
    clusters: [],
    standing: [],
    awaitingStop: [],
    busUp: false,
    exitCode: 0,
    fatalError: null,
    recentDowns: [],
    pauses: 0,
  }),
  output: ({ context }) => ({ exitCode: context.exitCode, error: context.fatalError }),
  invoke: [
    { id: 'bus', systemId: 'bus', src: 'bus' },
    { id: 'api', systemId: 'api', src: 'api' },
  ],
  on: {
    'command.statuses': { actions: 'replyStatuses' },
    'command.num_processes': { actions: 'replyNumProcesses' },
    // The rolling restart answers these itself while it runs (phase.rollingRestart).
    'command.rollingrestart_pause': refuse(NO_ROLLING_RESTART),
    'command.rollingrestart_resume': refuse(NO_ROLLING_RESTART),
    'command.rollingrestart_cancel': refuse(NO_ROLLING_RESTART),
    'command.shutdown': { target: '.shuttingDown', actions: [accept.actions, 'beginShutdown'] },
    'command.restartproc': { target: '.shuttingDown', actions: [accept.actions, 'beginShutdown'] },
    'bus.refused': { target: '.shuttingDown', actions: 'beginShutdown' },
    'bus.launchNext': { actions: 'forwardLaunchNext' },
    'bus.down': {
      actions: [{ type: 'setBusUp', params: { up: false } }, log(() => ({ level: 'error', msg: 'the bus is down: diagnostics paused' }))],
    },
    'bus.up': {
      actions: [{ type: 'setBusUp', params: { up: true } }, log(() => ({ level: 'info', msg: 'the bus is back: diagnostics resume' }))],
    },
  },
  initial: 'discovering',
  states: {
    discovering: {
      description: "Finds the shard count (fixed_shard_count, or Discord's GET /gateway/bot), and waits for the bus.",
      initial: 'choosing',
      on: {
        'command.start': refuse(NOT_LAUNCHED),
        'command.stop': refuse(NOT_LAUNCHED),
        'command.restart': refuse(NOT_LAUNCHED),
        'command.rollingrestart': refuse(NOT_LAUNCHED),
        'bus.down': {
          actions: [
            { type: 'setBusUp', params: { up: false } },
            log(() => ({ level: 'error', msg: 'the bus is down: no cluster is launched until it is up' })),
          ],
        },
        'bus.up': { actions: [{ type: 'setBusUp', params: { up: true } }, log(() => ({ level: 'info', msg: 'the bus is up' }))] },
        'bus.refused': { target: '#orchestrator.fatal', actions: 'refuseBus' },
      },
      states: {
        choosing: {
          tags: ['discovering'],
          always: [{ guard: 'shardCountFixed', target: 'waitingForBus', actions: 'useFixedShardCount' }, { target: 'askingDiscord' }],
        },
        askingDiscord: {
          tags: ['discovering'],
          description: 'The shard count, and the session starts left for launching that many.',
          invoke: {
            src: 'gateway',
            onDone: [
              {
                guard: { type: 'sessionsLow', params: ({ event }) => event.output },
                target: 'waitingForSessions',
                actions: { type: 'useGatewayAnswer', params: ({ event }) => event.output },
              },
              { target: 'waitingForBus', actions: { type: 'useGatewayAnswer', params: ({ event }) => event.output } },
            ],
            onError: {
              target: '#orchestrator.fatal',
              actions: { type: 'failDiscovery', params: ({ event }: { event: { error: unknown } }) => event.error },
            },
          },
        },
        waitingForSessions: {
          tags: ['waiting for sessions'],
          description:
            'Fewer identify sessions left than minimum_safe_sessions_remaining, or than the shards need: wait for the reset, then ask again.',
          entry: 'logWaitingForSessions',
          after: { sessionsReset: 'askingDiscord' },
        },
        waitingForBus: {
          tags: ['waiting for the bus'],
          description:
            'Nothing is launched before the bus is first up (Redis subscribed): a cluster could not send its launch_next, and would be killed for it.',
          always: { guard: 'busUp', target: '#orchestrator.supervising' },
        },
      },
    },
    supervising: {
      type: 'parallel',
      entry: ['spawnInstances', 'logClusterMap'],
      invoke: {
        id: 'launchSlot',
        src: 'launchSlot',
        input: ({ context }) => ({
          clusters: context.clusters,
          buckets: bucketsOf(context.gateway, context.input),
          shardCount: context.gateway!.shards,
          startNextDelay: context.input.startNextDelay,
          ...(context.input.identifyWindow === undefined ? {} : { identifyWindow: context.input.identifyWindow }),
          minimumSafeSessions: context.input.minimumSafeSessions,
          sessionStartLimit: context.gateway!.sessionStartLimit,
        }),
      },
      // The clusters' reports, each taken here only: no region takes one (in XState, a region that
      // takes an event keeps it from its parallel parent), so what depends on the phase asks stateIn.
      on: {
        'command.start': { actions: 'forwardToCluster' },
        'command.stop': { actions: 'forwardToCluster' },
        'command.restart': { actions: 'forwardToCluster' },
        'slot.request': { actions: [{ type: 'stand', params: 'down' }, forwardTo('launchSlot')] },
        // Identify turns are the launch slot's alone (docs/architecture.md, identify turns).
        'bus.identifyWait': { actions: forwardTo('launchSlot') },
        'bus.identified': { actions: forwardTo('launchSlot') },
        // While a rolling restart runs, it hears the reports too: the one it waits for says that cluster is done.
        'cluster.up': [
          {
            guard: 'rollingRestartRunning',
            actions: [{ type: 'stand', params: 'up' }, forwardTo('launchSlot'), forwardTo('rollingRestart')],
          },
          { guard: 'firstLaunchOver', actions: [{ type: 'stand', params: 'up' }, forwardTo('launchSlot'), 'announceIfWhole'] },
          { actions: [{ type: 'stand', params: 'up' }, forwardTo('launchSlot')] },
        ],
        'cluster.down': [
          {
            guard: 'rollingRestartRunning',
            actions: [{ type: 'stand', params: 'down' }, 'recordDown', 'countDown', forwardTo('launchSlot'), forwardTo('rollingRestart')],
          },
          { actions: [{ type: 'stand', params: 'down' }, 'recordDown', 'countDown', forwardTo('launchSlot')] },
        ],
        'cluster.restarting': { actions: { type: 'stand', params: 'down' } },
        'cluster.restartSkipped': { guard: 'rollingRestartRunning', actions: forwardTo('rollingRestart') },
        'cluster.stopped': [
          {
            guard: 'rollingRestartRunning',
            actions: [{ type: 'stand', params: 'out' }, forwardTo('launchSlot'), forwardTo('rollingRestart')],
          },
          { actions: [{ type: 'stand', params: 'out' }, forwardTo('launchSlot')] },
        ],
        'cluster.failed': [
          { guard: 'rollingRestartRunning', actions: [{ type: 'stand', params: 'out' }, 'recordFailed', forwardTo('rollingRestart')] },
          { actions: [{ type: 'stand', params: 'out' }, 'recordFailed'] },
        ],
        'fleet.forget': { actions: 'forgetDown' },
      },
      states: {
        fleet: {
          description: 'Fleet protection: when too many clusters die at once (a bad deploy), automatic restarts wait.',
          initial: 'healthy',
          states: {
            healthy: {
              always: { guard: 'fleetCrashing', target: 'paused' },
            },
            paused: {
              entry: 'pauseRestarts',
              exit: 'resumeRestarts',
              after: { fleetPause: 'healthy' },
            },
          },
        },
        phase: {
          initial: 'launching',
          states: {
            launching: {
              tags: ['launching'],
              description: 'The first launch, cluster by cluster (a wave at a time).',
              on: {
                'launch.done': { target: 'up', actions: 'announceLaunched' },
                'command.rollingrestart': refuse({ ok: false, status: 'conflict', reason: 'the first launch is still in progress' }),
              },
            },
            up: {
              tags: ['up'],
              on: {
                'command.rollingrestart': { target: 'rollingRestart', ...accept },
              },
            },
            rollingRestart: {
              tags: ['rolling restart'],
              description:
                'Restarts every live cluster in turn, each one up (or given up on) before the next; operators may pause, resume or cancel it.',
              invoke: {
                id: 'rollingRestart',
                src: 'rollingRestart',
                input: ({ context }) => ({ clusters: context.clusters.map((c) => c.id) }),
                onDone: 'up',
              },
              on: {
                'command.rollingrestart': refuse({ ok: false, status: 'conflict', reason: 'a rolling restart is already in progress' }),
                'command.rollingrestart_pause': { actions: forwardTo('rollingRestart') },
                'command.rollingrestart_resume': { actions: forwardTo('rollingRestart') },
                'command.rollingrestart_cancel': { actions: forwardTo('rollingRestart') },
              },
            },
          },
        },
      },
    },
    shuttingDown: {
      tags: ['shutting down'],
      description:
        'Every cluster gets SIGTERM (last launched first), then SIGKILL after kill_timeout; a second request kills at once. Bounded: whatever has not stopped a second after its SIGKILL is left to the process adapters, which kill it as the supervisor ends.',
      always: { guard: 'allStopped', target: 'exited' },
      initial: 'stopping',
      states: {
        stopping: {
          after: { shutdownDeadline: 'forced' },
          on: {
            'command.shutdown': { target: 'killing', actions: [accept.actions, 'killEverything'] },
            'command.restartproc': { target: 'killing', actions: [accept.actions, 'killEverything'] },
          },
        },
        killing: {
          after: { killDeadline: 'forced' },
        },
        forced: {
          entry: 'logShutdownForced',
          always: '#orchestrator.exited',
        },
      },
      on: {
        'command.shutdown': accept,
        'command.restartproc': accept,
        'bus.refused': {},
        'command.start': refuse(SHUTTING_DOWN),
        'command.stop': refuse(SHUTTING_DOWN),
        'command.restart': refuse(SHUTTING_DOWN),
        'command.rollingrestart': refuse(SHUTTING_DOWN),
        'cluster.stopped': { actions: 'forgetStopped' },
        'cluster.down': { actions: 'recordDown' },
        'cluster.failed': { actions: 'recordFailed' },
      },
    },
    exited: { type: 'final' },
    fatal: {
      type: 'final',
      entry: 'logFatal',
    },
  },
});

export type OrchestratorSnapshot = SnapshotFrom<typeof orchestratorMachine>;
