import { and, assertEvent, assign, enqueueActions, fromPromise, log, sendParent, sendTo, setup, type SnapshotFrom } from 'xstate';
import { BUS_SYSTEM_ID } from '../../interfaces/bus.js';
import type { GatewayInfo } from '../../interfaces/gateway.js';
import { cluster, record, type AnyActorSystem } from '../record.js';
import type { LaunchSlotContext, LaunchSlotEvent, LaunchSlotInput } from './types.js';
import { nextWave, shardsOf, tooFewSessions, without } from './waves.js';

/**
 * The launch slot (docs/architecture.md): one wave of clusters starts at a
 * time (one cluster with max_concurrency 1), then cluster_start_next_delay
 * passes. Every start goes through it: the first launch in order, restarts
 * and operators' starts before what is left of it. It keeps the count of
 * Discord's session starts, asks Discord again when the count says too few,
 * and holds every start until Discord's reset when that says so too.
 */

/** Clusters waiting for the slot, in turn: restarts and operator starts first; only operators' while restarts are paused. */
function* queuedInTurn(context: LaunchSlotContext): Generator<number> {
  for (const r of context.requests) if (!context.restartsPaused || !r.automatic) yield r.id;
  if (!context.restartsPaused) yield* context.launchOrder;
}

const wave = (context: LaunchSlotContext) => nextWave(queuedInTurn(context), context.input.clusters, context.input.buckets);

/** Session starts the next wave would use. */
const nextLaunchNeeds = (context: LaunchSlotContext) => shardsOf(context.input.clusters, wave(context));

const tooFew = (context: LaunchSlotContext, remaining: number | null) =>
  tooFewSessions(remaining, nextLaunchNeeds(context), context.input.minimumSafeSessions);

/** Discord's identify window, when the config does not scale it. */
export const DISCORD_IDENTIFY_WINDOW_MS = 5000;

/** The identify buckets of cluster `id`'s shards. */
const bucketsOf = (context: LaunchSlotContext, id: number) =>
  context.input.clusters[id]!.shards.map((shard) => shard % context.input.buckets);

/**
 * Whether cluster `id` may identify now: no window runs on any of its buckets, and no other cluster
 * that had its turn in one of them has yet said it identified (its window has not even begun).
 */
const bucketsOpen = (context: LaunchSlotContext, id: number) => {
  const mine = bucketsOf(context, id);
  const pending = new Set(context.hadTurn.filter((other) => other !== id).flatMap((other) => bucketsOf(context, other)));
  return mine.every((b) => !context.closedBuckets[b] && !pending.has(b));
};

/** Tells cluster `id`, through the bus, that it may identify now. */
const sendTurn = (enqueue: { sendTo(to: unknown, event: unknown): void }, id: number) =>
  enqueue.sendTo(({ system }: { system: AnyActorSystem }) => system.get(BUS_SYSTEM_ID), { type: 'identify.turn', id });

/** What a failed request to Discord says. */
export const errorText = (error: unknown) => String((error as Error | undefined)?.message ?? error);

const launchSlotSetup = setup({
  types: {
    context: {} as LaunchSlotContext,
    events: {} as LaunchSlotEvent,
    input: {} as LaunchSlotInput,
    tags: {} as 'waiting for sessions',
  },
  actors: {
    // Replaced by the real adapter (fetchGateway) or a test double through provide().
    gateway: fromPromise<GatewayInfo>(() => Promise.reject(new Error('launchSlotMachine needs a gateway actor: provide one'))),
  },
  delays: {
    startNextDelay: ({ context }) => context.input.startNextDelay,
    sessionsReset: ({ context }) => context.sessionStartLimit?.resetAfter ?? 0,
    identifyWindow: ({ context }) => context.input.identifyWindow ?? DISCORD_IDENTIFY_WINDOW_MS,
  },
  guards: {
    someoneQueued: ({ context }) => !queuedInTurn(context).next().done,
    // By the running count: ask Discord for a fresh one before launching.
    sessionsRunningLow: ({ context }) => tooFew(context, context.sessionsLeft),
    sessionsStillLow: ({ context }, answer: GatewayInfo) => tooFew(context, answer.sessionStartLimit?.remaining ?? null),
    noStartNextDelay: ({ context }) => context.input.startNextDelay <= 0,
    fromHolder: ({ context, event }) => 'id' in event && context.holders.includes(event.id),
    slotFree: ({ context }) => context.holders.length === 0,
    // Every holder waited for its turn and identified: the next wave may start while the window runs.
    slotFreeAfterTurns: ({ context }) => context.holders.length === 0 && context.identified && context.byTurn,
    slotFreeAfterIdentify: ({ context }) => context.holders.length === 0 && context.identified,
    hadItsTurn: ({ context, event }) => 'id' in event && context.hadTurn.includes(event.id),
    holderThatHadItsTurn: ({ context, event }) => 'id' in event && context.holders.includes(event.id) && context.hadTurn.includes(event.id),
    everyClusterHadItsTurn: ({ context }) => context.launchOrder.length === 0 && context.holders.length === 0,
  },
  actions: {
    /** Gives the slot to the next wave: restarts first, then the first launch's order. */
    grant: enqueueActions(({ context, enqueue }) => {
      const ids = wave(context);
      const used = shardsOf(context.input.clusters, ids);
      enqueue.assign({
        holders: ids,
        identified: false,
        byTurn: true,
        requests: context.requests.filter((r) => !ids.includes(r.id)),
        launchOrder: context.launchOrder.filter((id) => !ids.includes(id)),
        sessionsLeft: context.sessionsLeft === null ? null : context.sessionsLeft - used,
      });
      for (const id of ids) enqueue.sendTo(cluster(id), { type: 'slot.granted' });
    }),
    /**
     * A holder is done with the slot: identified after its turn, up or down (it identified, or may
     * have), or stopped before that. Only the first keeps the wave one that waited for its turns.
     */
    leave: assign(({ context, event }, params: { identified: boolean; byTurn: boolean }) => {
      assertEvent(event, ['cluster.up', 'cluster.down', 'cluster.stopped', 'bus.identified']);
      return {
        holders: without(context.holders, event.id),
        credited: without(context.credited, event.id),
        identified: context.identified || params.identified,
        byTurn: context.byTurn && (params.byTurn || !params.identified),
        hadTurn: without(context.hadTurn, event.id),
        waitingTurn: without(context.waitingTurn, event.id),
      };
    }),
    release: assign({ holders: [], credited: [], identified: false }),
    /** Identify now if every bucket of the cluster is open; else when they open. */
    turnOrWait: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'bus.identifyWait');
      if (context.waitingTurn.includes(event.id)) return;
      if (!bucketsOpen(context, event.id)) {
        enqueue.assign({ waitingTurn: [...context.waitingTurn, event.id] });
        return;
      }
      if (!context.hadTurn.includes(event.id)) enqueue.assign({ hadTurn: [...context.hadTurn, event.id] });
      sendTurn(enqueue, event.id);
    }),
    /**
     * A cluster identified after its turn: its buckets are closed for identify_window from now,
     * when the supervisor knows the identifies were sent, so the next turn in them is a full window
     * after Discord saw them whatever the bus's latency.
     */
    closeBuckets: enqueueActions(({ context, event, enqueue }) => {
      // Down or stopped after its turn: it may have identified, so its buckets close the same way.
      assertEvent(event, ['bus.identified', 'cluster.down', 'cluster.stopped']);
      const buckets = bucketsOf(context, event.id);
      const closed = [...context.closedBuckets];
      for (const b of buckets) closed[b] = (closed[b] ?? 0) + 1;
      enqueue.assign({ closedBuckets: closed, hadTurn: without(context.hadTurn, event.id) });
      enqueue.raise({ type: 'identify.bucketsOpen', buckets }, { delay: 'identifyWindow' });
    }),
    /** A window has ended: every waiting cluster whose buckets are all open now identifies, in order. */
    openBuckets: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'identify.bucketsOpen');
      const closed = [...context.closedBuckets];
      for (const b of event.buckets) closed[b] = Math.max(0, (closed[b] ?? 0) - 1);
      const now = { ...context, closedBuckets: closed };
      const turned = context.waitingTurn.filter((id) => bucketsOpen(now, id));
      enqueue.assign({
        closedBuckets: closed,
        waitingTurn: context.waitingTurn.filter((id) => !turned.includes(id)),
        hadTurn: [...context.hadTurn, ...turned],
      });
      for (const id of turned) sendTurn(enqueue, id);
    }),
    /**
     * A launch_next that named no cluster (the Go version took it as "next,
     * please"): the holder's. In a wave of several, the first holder not yet
     * given one: each holder sends one, so each gets one, in some order.
     */
    creditHolder: enqueueActions(({ context, event, enqueue, system }) => {
      assertEvent(event, 'bus.launchNext');
      const id = context.holders.find((h) => !context.credited.includes(h));
      if (id === undefined) {
        enqueue(
          log(() => ({ level: 'warn', msg: 'ignored a launch_next that names no cluster: every holder of the launch slot has had one' })),
        );
        return;
      }
      enqueue.assign({ credited: [...context.credited, id] });
      enqueue.sendTo(cluster(id)({ system }), { type: 'bus.launchNext', at: event.at });
    }),
    ignoreLaunchNext: log(() => ({ level: 'warn', msg: 'ignored a launch_next that names no cluster: no cluster holds the launch slot' })),
    // Restarted while it held the slot: it stopped and asks again; it still has the slot.
    grantAgain: sendTo(
      ({ event, system }) => {
        assertEvent(event, 'slot.request');
        return cluster(event.id)({ system });
      },
      { type: 'slot.granted' },
    ),
    queue: assign(({ context, event }) => {
      assertEvent(event, 'slot.request');
      if (context.requests.some((r) => r.id === event.id) || context.holders.includes(event.id)) return {};
      return {
        requests: [...context.requests, { id: event.id, automatic: event.automatic }],
        launchOrder: without(context.launchOrder, event.id),
      };
    }),
    forget: assign(({ context, event }) => {
      assertEvent(event, 'cluster.stopped');
      return {
        requests: context.requests.filter((r) => r.id !== event.id),
        launchOrder: without(context.launchOrder, event.id),
        waitingTurn: without(context.waitingTurn, event.id),
        hadTurn: without(context.hadTurn, event.id),
      };
    }),
    /** A process that asked for its turn is gone: its next one asks again. */
    forgetTurn: assign(({ context, event }) => {
      assertEvent(event, 'cluster.down');
      return { waitingTurn: without(context.waitingTurn, event.id), hadTurn: without(context.hadTurn, event.id) };
    }),
    pause: assign({ restartsPaused: true }),
    resume: assign({ restartsPaused: false }),
    /** A fresh count of session starts; the shard count stays what the clusters were built for. */
    countSessions: enqueueActions(({ context, enqueue }, answer: GatewayInfo) => {
      const limit = answer.sessionStartLimit;
      enqueue.assign({ sessionStartLimit: limit, sessionsLeft: limit?.remaining ?? null });
      if (answer.shards !== context.input.shardCount) {
        enqueue(
          log(() => ({
            level: 'warn',
            msg: `Discord now recommends ${answer.shards} shards; the bot runs ${context.input.shardCount}: restart the supervisor to reshard`,
          })),
        );
      }
    }),
    recordSessionsLow: enqueueActions(({ context, enqueue }) => {
      const limit = context.sessionStartLimit!;
      record(
        enqueue,
        {
          event: 'sessions_low',
          remaining: limit.remaining,
          needed: nextLaunchNeeds(context),
          minimum: context.input.minimumSafeSessions,
          reset_after_ms: limit.resetAfter,
        },
        'error',
      );
    }),
    launchUnchecked: log((_, error: unknown) => ({
      level: 'warn',
      msg: `could not ask Discord how many session starts are left (${errorText(error)}): launching anyway`,
    })),
    reportDone: sendParent({ type: 'launch.done' }),
  },
});

export const launchSlotMachine = launchSlotSetup.createMachine({
  id: 'launchSlot',
  context: ({ input }) => ({
    input,
    launchOrder: input.clusters.map((c) => c.id),
    requests: [],
    holders: [],
    credited: [],
    identified: false,
    sessionsLeft: input.sessionStartLimit?.remaining ?? null,
    sessionStartLimit: input.sessionStartLimit,
    restartsPaused: false,
    waitingTurn: [],
    hadTurn: [],
    byTurn: true,
    closedBuckets: [],
  }),
  on: {
    'slot.request': { actions: 'queue' },
    'cluster.stopped': { actions: 'forget' },
    'cluster.down': { actions: 'forgetTurn' },
    'fleet.paused': { actions: 'pause' },
    'fleet.resumed': { actions: 'resume' },
    'bus.launchNext': { actions: 'ignoreLaunchNext' },
  },
  type: 'parallel',
  states: {
    slot: {
      initial: 'free',
      states: {
        free: {
          always: [
            { guard: and(['someoneQueued', 'sessionsRunningLow']), target: 'checkingSessions' },
            { guard: 'someoneQueued', target: 'held' },
          ],
        },
        checkingSessions: {
          description: 'A fresh count of session starts, when the running count says too few are left for the next launch.',
          invoke: {
            src: 'gateway',
            onDone: [
              {
                guard: { type: 'sessionsStillLow', params: ({ event }) => event.output },
                target: 'waitingForSessionReset',
                actions: { type: 'countSessions', params: ({ event }) => event.output },
              },
              { target: 'held', actions: { type: 'countSessions', params: ({ event }) => event.output } },
            ],
            onError: {
              target: 'held',
              actions: { type: 'launchUnchecked', params: ({ event }: { event: { error: unknown } }) => event.error },
            },
          },
        },
        waitingForSessionReset: {
          tags: ['waiting for sessions'],
          description: "Too few session starts left: no cluster starts until Discord's reset (running out gets the bot token reset).",
          entry: 'recordSessionsLow',
          after: { sessionsReset: 'checkingSessions' },
        },
        held: {
          description: 'A wave holds the slot until each member is up, down or stopped.',
          entry: 'grant',
          exit: 'release',
          always: [
            // The window, not cluster_start_next_delay, stands between this wave's identifies and the next's.
            { guard: 'slotFreeAfterTurns', target: 'free' },
            { guard: 'slotFreeAfterIdentify', target: 'cooldown' },
            { guard: 'slotFree', target: 'free' },
          ],
          on: {
            'bus.identified': {
              guard: 'holderThatHadItsTurn',
              actions: { type: 'leave', params: { identified: true, byTurn: true } },
            },
            'cluster.up': { guard: 'fromHolder', actions: { type: 'leave', params: { identified: true, byTurn: false } } },
            'cluster.down': {
              guard: 'fromHolder',
              actions: [{ type: 'leave', params: { identified: true, byTurn: false } }, 'forgetTurn'],
            },
            'cluster.stopped': { guard: 'fromHolder', actions: { type: 'leave', params: { identified: false, byTurn: false } } },
            'slot.request': { guard: 'fromHolder', actions: 'grantAgain' },
            'bus.launchNext': { actions: 'creditHolder' },
          },
        },
        cooldown: {
          description: 'cluster_start_next_delay after a wave that identified.',
          // No timer at all for no delay: a timer's turn of the event loop is a millisecond lost.
          always: { guard: 'noStartNextDelay', target: 'free' },
          after: { startNextDelay: 'free' },
        },
      },
    },
    identifyTurns: {
      description:
        'Turns to identify (docs/architecture.md, identify turns): given when every bucket of the cluster is open; a bucket closes for identify_window at the identified of a cluster that had its turn.',
      on: {
        'bus.identifyWait': { actions: 'turnOrWait' },
        'bus.identified': { guard: 'hadItsTurn', actions: 'closeBuckets' },
        'cluster.down': { guard: 'hadItsTurn', actions: 'closeBuckets' },
        'cluster.stopped': { guard: 'hadItsTurn', actions: 'closeBuckets' },
        'identify.bucketsOpen': { actions: 'openBuckets' },
      },
    },
    firstLaunch: {
      initial: 'underWay',
      states: {
        underWay: {
          always: { guard: 'everyClusterHadItsTurn', target: 'done' },
        },
        done: { entry: 'reportDone' },
      },
    },
  },
});

export type LaunchSlotSnapshot = SnapshotFrom<typeof launchSlotMachine>;
