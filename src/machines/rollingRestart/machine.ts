import { assign, enqueueActions, log, setup, type SnapshotFrom } from 'xstate';
import { actionOf, announceAllLaunched, cluster, record, reply } from '../record.js';
import type { RollingRestartContext, RollingRestartEvent, RollingRestartInput, RollingRestartReport } from './types.js';

/**
 * A rolling restart (docs/architecture.md): every live cluster restarted in
 * launch order, one at a time, each up (or given up on) before the next.
 * Stopped, failed and already restarting clusters say so and are left as
 * they are. Operators may pause it (the cluster restarting finishes first),
 * resume it and cancel it. The orchestrator invokes it while it runs; it ends
 * in `done` or `cancelled`. Its tags are the progress operators are shown.
 */
const rollingRestartSetup = setup({
  types: {
    context: {} as RollingRestartContext,
    events: {} as RollingRestartEvent,
    input: {} as RollingRestartInput,
  },
  guards: {
    nothingLeft: ({ context }) => context.queue.length === 0,
    fromCurrent: ({ context, event }) => 'id' in event && event.id === context.current,
  },
  actions: {
    begin: enqueueActions(({ context, enqueue }) => record(enqueue, { event: 'rolling_restart', clusters: context.total })),
    takeNext: assign(({ context }) => ({ current: context.queue[0]!, queue: context.queue.slice(1) })),
    restartCurrent: enqueueActions(({ context, enqueue }) => {
      const id = context.current!;
      enqueue(log(() => ({ level: 'info', cluster: id, msg: `rolling restart: restarting cluster ${id}` })));
      enqueue.sendTo(cluster(id), { type: 'cluster.restart', by: 'rollout' });
    }),
    currentDone: assign(({ context }) => ({ done: [...context.done, context.current!], current: null })),
    accept: enqueueActions(({ event, system, enqueue }) => {
      if ('id' in event) return;
      reply(enqueue, system, event, actionOf(event.type), { ok: true });
    }),
    recordPaused: enqueueActions(({ context, enqueue }) =>
      record(enqueue, {
        event: 'rolling_restart_paused',
        done: context.done.length,
        total: context.total,
        ...(context.current !== null && { current: context.current }),
      }),
    ),
    recordResumed: enqueueActions(({ context, enqueue }) =>
      record(enqueue, { event: 'rolling_restart_resumed', done: context.done.length, total: context.total }),
    ),
    recordCancelled: enqueueActions(({ context, enqueue }) =>
      record(enqueue, { event: 'rolling_restart_cancelled', done: context.done.length, total: context.total }),
    ),
    finish: enqueueActions(({ enqueue }) => {
      // As after the first launch: the clusters hear that the bot is whole again.
      announceAllLaunched(enqueue);
      record(enqueue, { event: 'rolling_restart_done' });
    }),
  },
});

/** The current cluster's reports that say it is done with, whichever way: then on to `target`. */
const whenCurrentSettles = (target: string) =>
  Object.fromEntries(
    (['cluster.up', 'cluster.down', 'cluster.stopped', 'cluster.failed', 'cluster.restartSkipped'] as const).map((type) => [
      type,
      { guard: 'fromCurrent', target, actions: 'currentDone' },
    ]),
  ) as Record<RollingRestartReport['type'], { guard: 'fromCurrent'; target: string; actions: 'currentDone' }>;

export const rollingRestartMachine = rollingRestartSetup.createMachine({
  id: 'rollingRestart',
  context: ({ input }) => ({ total: input.clusters.length, queue: input.clusters, current: null, done: [] }),
  entry: 'begin',
  initial: 'next',
  on: {
    'command.rollingrestart_cancel': { target: '.cancelled', actions: 'accept' },
  },
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
      initial: 'continuing',
      states: {
        continuing: {
          tags: ['restarting'],
          on: {
            ...whenCurrentSettles('#rollingRestart.next'),
            'command.rollingrestart_pause': { target: 'pausing', actions: ['accept', 'recordPaused'] },
            'command.rollingrestart_resume': { actions: 'accept' },
          },
        },
        pausing: {
          tags: ['pausing'],
          description: 'Paused by an operator: the cluster restarting finishes, and no other is begun.',
          on: {
            ...whenCurrentSettles('#rollingRestart.paused'),
            'command.rollingrestart_pause': { actions: 'accept' },
            'command.rollingrestart_resume': { target: 'continuing', actions: ['accept', 'recordResumed'] },
          },
        },
      },
    },
    paused: {
      tags: ['paused'],
      description: 'Waits for an operator to resume or cancel it; every cluster runs meanwhile.',
      on: {
        'command.rollingrestart_pause': { actions: 'accept' },
        'command.rollingrestart_resume': { target: 'next', actions: ['accept', 'recordResumed'] },
      },
    },
    done: { type: 'final', tags: ['done'], entry: 'finish' },
    cancelled: {
      type: 'final',
      tags: ['cancelled'],
      description: 'Cancelled by an operator: the clusters not yet restarted are left as they are; one restarting finishes its restart.',
      entry: 'recordCancelled',
    },
  },
});

export type RollingRestartSnapshot = SnapshotFrom<typeof rollingRestartMachine>;
