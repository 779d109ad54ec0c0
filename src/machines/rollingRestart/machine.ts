import { assign, enqueueActions, log, setup, type SnapshotFrom } from 'xstate';
import { announceAllLaunched, cluster, record } from '../record.js';
import type { RollingRestartContext, RollingRestartEvent, RollingRestartInput } from './types.js';

/**
 * A rolling restart (docs/architecture.md): every live cluster restarted in
 * launch order, one at a time, each up (or given up on) before the next.
 * Stopped, failed and already restarting clusters say so and are left as
 * they are. The orchestrator invokes it while it runs; it ends in `done`.
 */
const rollingRestartSetup = setup({
  types: {
    context: {} as RollingRestartContext,
    events: {} as RollingRestartEvent,
    input: {} as RollingRestartInput,
  },
  guards: {
    nothingLeft: ({ context }) => context.queue.length === 0,
    fromCurrent: ({ context, event }) => event.id === context.current,
  },
  actions: {
    begin: enqueueActions(({ context, enqueue }) => record(enqueue, { event: 'rolling_restart', clusters: context.queue.length })),
    takeNext: assign(({ context }) => ({ current: context.queue[0]!, queue: context.queue.slice(1) })),
    restartCurrent: enqueueActions(({ context, enqueue }) => {
      const id = context.current!;
      enqueue(log(() => ({ level: 'info', cluster: id, msg: `rolling restart: restarting cluster ${id}` })));
      enqueue.sendTo(cluster(id), { type: 'cluster.restart', by: 'rollout' });
    }),
    finish: enqueueActions(({ enqueue }) => {
      // As after the first launch: the clusters hear that the bot is whole again.
      announceAllLaunched(enqueue);
      record(enqueue, { event: 'rolling_restart_done' });
    }),
  },
});

export const rollingRestartMachine = rollingRestartSetup.createMachine({
  id: 'rollingRestart',
  context: ({ input }) => ({ queue: input.clusters, current: null }),
  entry: 'begin',
  initial: 'next',
  states: {
    next: {
      always: [
        { guard: 'nothingLeft', target: 'done' },
        { target: 'restarting', actions: 'takeNext' },
      ],
    },
    restarting: {
      description: 'One cluster: stopped, started again, and up (or down, stopped, failed, or not restartable).',
      entry: 'restartCurrent',
      on: {
        'cluster.up': { guard: 'fromCurrent', target: 'next' },
        'cluster.down': { guard: 'fromCurrent', target: 'next' },
        'cluster.stopped': { guard: 'fromCurrent', target: 'next' },
        'cluster.failed': { guard: 'fromCurrent', target: 'next' },
        'cluster.restartSkipped': { guard: 'fromCurrent', target: 'next' },
      },
    },
    done: { type: 'final', entry: 'finish' },
  },
});

export type RollingRestartSnapshot = SnapshotFrom<typeof rollingRestartMachine>;
