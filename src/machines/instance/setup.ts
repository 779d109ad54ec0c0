import { assertEvent, assign, enqueueActions, fromCallback, log, sendParent, sendTo, setup, type AnyActorRef } from 'xstate';
import { BUS_SYSTEM_ID } from '../../interfaces/bus.js';
import type { ProcessCommand, ProcessEvent, ProcessInput } from '../../interfaces/clusterProcess.js';
import { closeForExitCode, describeFatalClose, sanitizeHealth } from '../../protocol/index.js';
import { actionOf, record, reply, type AnyActorSystem } from '../record.js';
import { backoffDelay, nextRandom, restartsWithin } from './backoff.js';
import type { RestartCause } from '../../interfaces/clusterView.js';
import type { InstanceContext, InstanceEvent, InstanceInput, InstanceTag, InstanceView } from './types.js';
import { refusal } from './view.js';

/** What the Instance machine's actions, guards and delays do (the statechart is machine.ts). */

/** The exits a cluster keeps (for cluster_failed, and for the next run of the supervisor). */
export const RECENT_EXITS = 5;

/**
 * How long a cluster past a deadline waits at most for the bus to catch up
 * before it is judged anyway: a bound on a bus that never confirms, not a
 * part of the normal path (it confirms within milliseconds).
 */
export const OVERDUE_LIMIT_MS = 60_000;

/** The diagnostic state once no answer is awaited (answered, abandoned, or a new process). */
const withoutNonce = ({ context }: { context: InstanceContext }) => ({ ...context.diag, nonce: null });

/**
 * Why the cluster is launched again: a restart on purpose says by whom; one
 * the backoff queued, how the last process went down (no answer or no
 * launch_next is a hang); any other start is an operator's.
 */
function restartCause(context: InstanceContext): RestartCause {
  if (context.restarting !== false) return context.restarting;
  if (!context.automatic) return 'operator';
  return context.downReason === 'ping_timeout' || context.downReason === 'launch_timeout' ? 'hang' : 'crash';
}

/** A new process: nothing it says is known yet, and what the last one said is no longer current. */
const newProcess = ({ context }: { context: InstanceContext }) => ({ ...context.diag, nonce: null, fresh: false });

/** What a launch's bus.catchUp is known by: its process's number, so that a late answer for an earlier launch is told apart. */
const launchToken = (context: Pick<InstanceContext, 'launches'>) => `launch-${context.launches}`;

/** The bus actor, where what a cluster owes is asked for and checked. */
const bus = ({ system }: { system: AnyActorSystem }) => system.get(BUS_SYSTEM_ID) as AnyActorRef;

export const instanceSetup = setup({
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
    nonceMatches: ({ context, event }) => event.type === 'diag.answer' && event.nonce === context.diag.nonce,
    // What the bus caught up on is this deadline's, not an earlier one's.
    caughtUpOnDiag: ({ context, event }) => event.type === 'bus.caughtUp' && event.token === context.diag.nonce,
    caughtUpOnLaunch: ({ context, event }) => event.type === 'bus.caughtUp' && event.token === launchToken(context),
    stopRequested: ({ context }) => context.stopRequested,
    exitSaysDiscordClosed: ({ context }) => context.downReason === 'exited' && closeForExitCode(context.lastExit?.code) !== null,
    exitSaysDoNotRestart: ({ context }) =>
      context.downReason === 'exited' &&
      context.lastExit?.code != null &&
      context.input.restart.noRestartExitCodes.includes(context.lastExit.code),
    restartBudgetSpent: ({ context, event }) => {
      assertEvent(event, 'process.reaped');
      return restartsWithin(context.input.restart, context.restarts.times, event.at).length >= context.input.restart.maxRestarts;
    },
  },
  actions: {
    spawn: sendTo('process', { type: 'process.spawn' }),
    terminate: sendTo('process', { type: 'process.signal', signal: 'SIGTERM' }),
    kill: sendTo('process', { type: 'process.signal', signal: 'SIGKILL' }),
    reap: sendTo('process', { type: 'process.reap' }),
    /** On leaving the queue for a launch, before `automatic` is cleared: a launch after the first is counted by its cause. */
    countRestart: assign({
      restarts: ({ context }) => {
        if (context.launches === 0) return context.restarts;
        const cause = restartCause(context);
        return { ...context.restarts, byCause: { ...context.restarts.byCause, [cause]: context.restarts.byCause[cause] + 1 } };
      },
    }),
    countLaunch: assign({
      launches: ({ context }) => context.launches + 1,
      upAt: null,
      stopRequested: false,
      downReason: null,
      spawnError: null,
      diag: newProcess,
    }),
    recordSpawn: assign(({ event }) => {
      assertEvent(event, 'process.spawned');
      return { pid: event.pid, startedAt: event.at };
    }),
    recordExit: assign(({ context, event }) => {
      assertEvent(event, 'process.exited');
      const exit = { code: event.code, signal: event.signal, at: event.at };
      return {
        pid: null,
        lastExit: exit,
        recentExits: [...context.recentExits, exit].slice(-RECENT_EXITS),
        lastLines: event.lastLines ?? context.lastLines,
      };
    }),
    recordSpawnFailure: assign(({ event }) => {
      assertEvent(event, 'process.spawnFailed');
      return { pid: null, spawnError: event.error };
    }),
    markDown: assign((_, params: { reason: InstanceContext['downReason'] }) => ({ downReason: params.reason })),
    recordUp: assign(({ event }) => {
      assertEvent(event, 'bus.launchNext');
      return { upAt: event.at };
    }),
    recordDiag: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'diag.answer');
      // Held to the cluster's own shards: a cluster cannot report 11,500 shards, or an infinite guild count, for a 2-shard cluster.
      const { health, dropped } = sanitizeHealth(event.health, context.input.cluster.shards);
      enqueue.assign({ diag: { ...context.diag, nonce: null, last: { at: event.at, health }, fresh: true } });
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
      diag: { ...diag, seq: diag.seq + 1, nonce: `${input.nonceSalt}-${input.cluster.id}-${diag.seq + 1}` },
    })),
    forgetNonce: assign({ diag: withoutNonce }),
    // A round with the bus down: no answer can come, so the last one is no longer current.
    markRoundMissed: assign({ diag: ({ context }) => (context.diag.fresh ? { ...context.diag, fresh: false } : context.diag) }),
    requestStop: assign({ stopRequested: true }),
    // `reconnecting` only when the bus comes back from down: a repeated "up" gives no grace.
    setBusUp: assign(({ context }, params: { up: boolean }) => ({ busUp: params.up, reconnecting: params.up && !context.busUp })),
    /** On process.reaped, when the machine has decided to restart the cluster. */
    scheduleRestart: assign(({ context, event }) => {
      assertEvent(event, 'process.reaped');
      const policy = context.input.restart;
      const ranLongEnough = context.upAt !== null && event.at - context.upAt >= policy.resetAfter;
      const attempt = ranLongEnough ? 0 : context.restarts.attempt;
      const [random, seed] = nextRandom(context.restarts.seed);
      return {
        restarts: {
          ...context.restarts,
          attempt: attempt + 1,
          seed,
          backoffMs: backoffDelay(policy, attempt, random),
          times: [...restartsWithin(policy, context.restarts.times, event.at), event.at],
        },
        upAt: null,
      };
    }),
    markFailed: assign((_, params: { why: string }) => ({ failedReason: params.why })),
    markFailedByDiscord: assign(({ context }) => ({ failedReason: describeFatalClose(closeForExitCode(context.lastExit?.code)!) })),
    clearFailure: assign(({ context }) => ({ failedReason: null, restarts: { ...context.restarts, attempt: 0, times: [] } })),
    markAutomatic: assign({ automatic: true }),
    clearAutomatic: assign({ automatic: false }),
    requestLaunchSlot: sendParent(({ context }) => ({ type: 'slot.request', id: context.input.cluster.id, automatic: context.automatic })),
    reportUp: sendParent(({ context }) => ({ type: 'cluster.up', id: context.input.cluster.id })),
    reportDown: sendParent(({ context }) => ({
      type: 'cluster.down',
      id: context.input.cluster.id,
      reason: context.downReason ?? 'exited',
      launching: context.upAt === null,
      restart: context.restarting !== false,
      exit: context.downReason === 'exited' ? context.lastExit : null,
      error: context.spawnError,
    })),
    reportRestarting: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ restarting: event.type === 'cluster.restart' && event.by === 'rollout' ? 'rollout' : 'operator' });
      enqueue.sendParent({ type: 'cluster.restarting', id: context.input.cluster.id });
    }),
    /** A restart ends when the cluster is up, or down again (what follows is an ordinary start). */
    endRestart: assign({ restarting: false }),
    reportRestartSkipped: sendParent(({ context }) => ({ type: 'cluster.restartSkipped', id: context.input.cluster.id })),
    reportStopped: sendParent(({ context }) => ({ type: 'cluster.stopped', id: context.input.cluster.id })),
    reportFailed: sendParent(({ context }) => ({
      type: 'cluster.failed',
      id: context.input.cluster.id,
      why: context.failedReason ?? 'unknown',
      exits: context.recentExits,
      lastLines: context.lastLines,
    })),
    requestDiag: sendTo(bus, ({ context }) => ({
      type: 'diag.request',
      id: context.input.cluster.id,
      nonce: context.diag.nonce!,
      launch: context.launches,
    })),
    catchUp: sendTo(bus, ({ context }, params: { on: 'diag' | 'launch' }) => ({
      type: 'bus.catchUp',
      id: context.input.cluster.id,
      token: params.on === 'diag' ? context.diag.nonce! : launchToken(context),
    })),
    /**
     * An operator's start, stop or restart: refused with the reason (refusal(), the one place that
     * says), or carried out (as cluster.<action>), written down and answered.
     */
    obeyOperator: enqueueActions(({ context, event, self, system, enqueue }) => {
      assertEvent(event, ['command.start', 'command.stop', 'command.restart']);
      const action = actionOf(event.type) as 'start' | 'stop' | 'restart';
      const id = context.input.cluster.id;
      // The state as it is (this transition does not change it).
      const why = refusal(action, self.getSnapshot() as InstanceView);
      if (why !== null) {
        enqueue(log(() => ({ level: 'warn', cluster: id, msg: `refused to ${action} cluster ${id}: ${why}` })));
        reply(enqueue, system, event, action, { ok: false, status: 'conflict', reason: why });
        return;
      }
      enqueue.raise({ type: `cluster.${action}` });
      record(enqueue, { event: `cluster_${action}`, id });
      reply(enqueue, system, event, action, { ok: true });
    }),
    warnIgnored: log(({ context, event }) => ({
      level: 'warn',
      cluster: context.input.cluster.id,
      msg: `ignored ${event.type === 'diag.answer' ? 'a diagnostic answer with a stale nonce' : event.type}: the cluster is not waiting for it`,
    })),
  },
});

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
