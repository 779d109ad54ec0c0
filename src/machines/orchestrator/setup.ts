import { assertEvent, assign, enqueueActions, fromCallback, fromPromise, log, setup, stateIn } from 'xstate';
import { buildClusterMap } from '../../clusterMap/index.js';
import { instanceSystemId, type BusCommand, type BusEvent } from '../../interfaces/bus.js';
import type { Command, CommandReply, CommandResult } from '../../interfaces/commands.js';
import type { GatewayInfo } from '../../interfaces/gateway.js';
import type { DownEvent } from '../../protocol/index.js';
import { instanceMachine, type InstanceSnapshot } from '../instance/machine.js';
import { viewOf } from '../instance/view.js';
import { errorText, launchSlotMachine } from '../launchSlot/machine.js';
import { identifyBuckets, tooFewSessions } from '../launchSlot/waves.js';
import { actionOf, announceAllLaunched, record, reply } from '../record.js';
import { rollingRestartMachine } from '../rollingRestart/machine.js';
import { fleetCrashing, fleetPauseMs } from './fleet.js';
import { crossOff, nobodyLeft, stillAwaited, waitFor } from './waitList.js';
import type { OrchestratorContext, OrchestratorEvent, OrchestratorInput, OrchestratorOutput, Phase, Standing } from './types.js';

/** What the orchestrator's actions, guards and delays do (the statechart is machine.ts). */

/** How long a SIGKILLed process may take to be seen gone before a shutdown stops waiting for it. */
const KILL_GRACE_MS = 1000;

export const NOT_LAUNCHED: CommandResult = { ok: false, status: 'unavailable', reason: 'the clusters are not launched yet' };
export const SHUTTING_DOWN: CommandResult = { ok: false, status: 'unavailable', reason: 'the supervisor is shutting down' };
export const NO_ROLLING_RESTART: CommandResult = { ok: false, status: 'conflict', reason: 'no rolling restart is in progress' };

/** Cluster ids are 0 to K-1. */
const isCluster = (context: OrchestratorContext, id: number) => Number.isInteger(id) && id >= 0 && id < context.clusters.length;

/** The identify buckets the launch slot shares out (max_concurrency, capped by the config). */
export const bucketsOf = (gateway: GatewayInfo | null, input: Pick<OrchestratorInput, 'maxConcurrency'>) =>
  identifyBuckets(gateway?.sessionStartLimit?.maxConcurrency, input.maxConcurrency);

/** How a down cluster's entry is named: it hung, it died up, or its launch (or relaunch) failed. */
const downEvent = (e: { reason: string; launching: boolean; restart: boolean }): DownEvent =>
  e.reason === 'ping_timeout'
    ? 'ping_failure'
    : !e.launching
      ? 'cluster_died'
      : e.restart
        ? 'cluster_restart_failed'
        : 'cluster_start_failed';

export const orchestratorSetup = setup({
  types: {
    context: {} as OrchestratorContext,
    events: {} as OrchestratorEvent,
    input: {} as OrchestratorInput,
    output: {} as OrchestratorOutput,
    tags: {} as Phase,
  },
  actors: {
    instance: instanceMachine,
    launchSlot: launchSlotMachine,
    rollingRestart: rollingRestartMachine,
    // Replaced by real adapters (the bus, fetchGateway) or test doubles through provide().
    bus: fromCallback<BusCommand, void, BusEvent>(() => {
      throw new Error('orchestratorMachine needs a bus actor: provide one');
    }),
    gateway: fromPromise<GatewayInfo>(() => Promise.reject(new Error('orchestratorMachine needs a gateway actor: provide one'))),
    // Operators' commands from outside the bus (the HTTP API); none by default.
    api: fromCallback<CommandReply, void, Command>(() => {}),
  },
  delays: {
    sessionsReset: ({ context }) => context.gateway?.sessionStartLimit?.resetAfter ?? 0,
    fleetWindow: ({ context }) => context.input.fleet.window,
    fleetPause: ({ context }) => fleetPauseMs(context.input.fleet, context.pauses),
    // Every cluster has had kill_timeout after its SIGTERM, and a second after its SIGKILL.
    shutdownDeadline: ({ context }) => context.input.timing.killTimeout + KILL_GRACE_MS,
    killDeadline: KILL_GRACE_MS,
  },
  guards: {
    shardCountFixed: ({ context }) => context.input.fixedShardCount !== undefined,
    // The first launch needs a session start per shard.
    sessionsLow: ({ context }, answer: GatewayInfo) =>
      tooFewSessions(answer.sessionStartLimit?.remaining ?? null, answer.shards, context.input.minimumSafeSessions),
    busUp: ({ context }) => context.busUp,
    // Checked after every event (an eventless transition): nothing to count in the common case.
    fleetCrashing: ({ context }) => fleetCrashing(context.input.fleet, context.recentDowns, context.clusters.length),
    allStopped: ({ context }) => nobodyLeft(context.awaitingStop),
    firstLaunchOver: stateIn({ supervising: { phase: 'up' } }),
    rollingRestartRunning: stateIn({ supervising: { phase: 'rollingRestart' } }),
  },
  actions: {
    useFixedShardCount: assign(({ context }) => ({
      gateway: { shards: context.input.fixedShardCount!, source: 'fixed_shard_count' as const, sessionStartLimit: null },
    })),
    useGatewayAnswer: assign((_, gateway: GatewayInfo) => ({ gateway })),
    logWaitingForSessions: log(({ context }) => {
      const { shards, sessionStartLimit } = context.gateway!;
      const { remaining, resetAfter } = sessionStartLimit!;
      const why =
        remaining < shards
          ? `for ${shards} shards (Discord resets the bot token when they run out)`
          : `(minimum_safe_sessions_remaining is ${context.input.minimumSafeSessions})`;
      return {
        level: 'warn',
        msg: `only ${remaining} session starts left ${why}: waiting ${Math.round(resetAfter / 1000)} s for Discord's reset`,
      };
    }),
    failDiscovery: assign((_, error: unknown) => ({
      exitCode: 1,
      fatalError: `could not get the shard count from Discord: ${errorText(error)}`,
    })),
    refuseBus: assign(({ event }) => {
      assertEvent(event, 'bus.refused');
      return { exitCode: 1, fatalError: event.reason };
    }),
    logFatal: log(({ context }) => ({ level: 'fatal', msg: context.fatalError })),
    // Spawned inside one assign, not one spawnChild action per cluster: each of those copies the list of children (O(N²) for 10,000).
    spawnInstances: assign(({ context, spawn }) => {
      const clusters = buildClusterMap(context.gateway!.shards, context.input.perCluster, context.input.names);
      for (const cluster of clusters) {
        spawn('instance', {
          id: instanceSystemId(cluster.id),
          systemId: instanceSystemId(cluster.id),
          input: {
            cluster,
            shardCount: context.gateway!.shards,
            clusterCount: clusters.length,
            timing: context.input.timing,
            restart: context.input.restart,
            nonceSalt: context.input.nonceSalt,
            seed: (context.input.seed + cluster.id * 7919) | 0,
            history: context.input.history?.[cluster.id],
          },
        });
      }
      return { clusters, standing: clusters.map((): Standing => 'down') };
    }),
    logClusterMap: log(({ context }) => {
      const buckets = bucketsOf(context.gateway, context.input);
      const together =
        buckets === 1
          ? 'one cluster launches at a time'
          : `max_concurrency ${buckets}: clusters whose shards are in different identify buckets launch together`;
      return {
        level: 'info',
        msg: `${context.gateway!.shards} shards in ${context.clusters.length} clusters of up to ${context.input.perCluster} (shard count from ${context.gateway!.source}); ${together}`,
      };
    }),
    /** Where a cluster stands now, from its report. */
    stand: assign(({ context, event }, standing: Standing) => {
      assertEvent(event, ['slot.request', 'cluster.up', 'cluster.down', 'cluster.restarting', 'cluster.stopped', 'cluster.failed']);
      if (!isCluster(context, event.id) || context.standing[event.id] === standing) return {};
      const next = [...context.standing];
      next[event.id] = standing;
      return { standing: next };
    }),
    forwardLaunchNext: enqueueActions(({ event, context, enqueue }) => {
      assertEvent(event, 'bus.launchNext');
      if (event.id === undefined) {
        enqueue.sendTo('launchSlot', { type: 'bus.launchNext', at: event.at });
        return;
      }
      if (!isCluster(context, event.id)) {
        enqueue(log(() => ({ level: 'warn', msg: `ignored launch_next for unknown cluster ${event.id}` })));
        return;
      }
      enqueue.sendTo(instanceSystemId(event.id), { type: 'bus.launchNext', at: event.at });
    }),
    setBusUp: enqueueActions(({ context, enqueue }, params: { up: boolean }) => {
      enqueue.assign({ busUp: params.up });
      for (const c of context.clusters) enqueue.sendTo(instanceSystemId(c.id), { type: params.up ? 'bus.up' : 'bus.down' });
    }),
    recordDown: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'cluster.down');
      const { id, reason, exit, error } = event;
      record(
        enqueue,
        { event: downEvent(event), id, reason, ...(exit && { code: exit.code, signal: exit.signal }), ...(error && { error }) },
        'warn',
      );
    }),
    recordFailed: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'cluster.failed');
      record(enqueue, { event: 'cluster_failed', id: event.id, why: event.why, exits: event.exits, last_lines: event.lastLines }, 'error');
    }),
    /** Remembers a cluster's death for fleet_window, for fleet protection. */
    countDown: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'cluster.down');
      enqueue.assign({ recentDowns: [...context.recentDowns, event.id] });
      enqueue.raise({ type: 'fleet.forget', id: event.id }, { delay: 'fleetWindow' });
    }),
    forgetDown: assign(({ context, event }) => {
      assertEvent(event, 'fleet.forget');
      const at = context.recentDowns.indexOf(event.id);
      return at < 0 ? {} : { recentDowns: context.recentDowns.filter((_, i) => i !== at) };
    }),
    pauseRestarts: enqueueActions(({ context, enqueue }) => {
      const pauses = context.pauses + 1;
      enqueue.assign({ pauses });
      enqueue.sendTo('launchSlot', { type: 'fleet.paused' });
      const { fleet } = context.input;
      const clusters = [...new Set(context.recentDowns)];
      record(
        enqueue,
        { event: 'fleet_paused', clusters, of: context.clusters.length, window_ms: fleet.window, pause_ms: fleetPauseMs(fleet, pauses) },
        'error',
      );
    }),
    resumeRestarts: enqueueActions(({ enqueue }) => {
      enqueue.assign({ recentDowns: [] });
      enqueue.sendTo('launchSlot', { type: 'fleet.resumed' });
      record(enqueue, { event: 'fleet_resumed' }, 'warn');
    }),
    /** The first launch is over: everyone hears it, and the action log says who is not up. */
    announceLaunched: enqueueActions(({ context, enqueue }) => {
      announceAllLaunched(enqueue);
      record(enqueue, {
        event: 'all_clusters_launched',
        not_up: context.clusters.flatMap((c) => (context.standing[c.id] === 'up' ? [] : [c.id])),
      });
    }),
    /** As the Go version did after every later launch_next: tell the clusters when the bot is whole again. */
    announceIfWhole: enqueueActions(({ context, enqueue }) => {
      if (context.standing.includes('down')) return;
      announceAllLaunched(enqueue);
      enqueue.assign({ pauses: 0 });
    }),
    /** An operator's start, stop or restart of one cluster: the cluster's own machine answers it. */
    forwardToCluster: enqueueActions(({ context, event, system, enqueue }) => {
      assertEvent(event, ['command.start', 'command.stop', 'command.restart']);
      if (isCluster(context, event.id)) {
        enqueue.sendTo(instanceSystemId(event.id), event);
        return;
      }
      const reason = `no cluster with id ${event.id} (ids are 0 to ${context.clusters.length - 1})`;
      enqueue(log(() => ({ level: 'warn', msg: `refused to ${actionOf(event.type)} cluster ${event.id}: ${reason}` })));
      reply(enqueue, system, event, actionOf(event.type), { ok: false, status: 'not_found', reason });
    }),
    reply: enqueueActions(({ event, system, enqueue }, result: CommandResult) => {
      assertEvent(event, [
        'command.start',
        'command.stop',
        'command.restart',
        'command.rollingrestart',
        'command.rollingrestart_pause',
        'command.rollingrestart_resume',
        'command.rollingrestart_cancel',
        'command.shutdown',
        'command.restartproc',
      ]);
      reply(enqueue, system, event, actionOf(event.type), result);
    }),
    // A query, not a decision: it reads what every Instance actor's snapshot says now.
    replyStatuses: enqueueActions(({ context, event, system, enqueue }) => {
      assertEvent(event, 'command.statuses');
      const views = context.clusters.flatMap((c) => {
        const actor = system.get(instanceSystemId(c.id));
        return actor ? [viewOf(actor.getSnapshot() as InstanceSnapshot)] : [];
      });
      reply(enqueue, system, event, 'statuses', { ok: true, value: views });
    }),
    replyNumProcesses: enqueueActions(({ context, event, system, enqueue }) => {
      assertEvent(event, 'command.num_processes');
      reply(enqueue, system, event, 'num_processes', {
        ok: true,
        value: { clusters: context.clusters.length, shards: context.gateway?.shards ?? 0 },
      });
    }),
    beginShutdown: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, ['command.shutdown', 'command.restartproc', 'bus.refused']);
      const refused = event.type === 'bus.refused' ? event.reason : null;
      const exitCode = event.type === 'command.shutdown' ? 0 : 1;
      enqueue.assign({ exitCode, awaitingStop: waitFor(context.clusters.map((c) => c.id)), fatalError: refused });
      if (refused !== null) record(enqueue, { event: 'bus_refused', reason: refused }, 'error');
      else record(enqueue, { event: exitCode === 0 ? 'shutdown' : 'restartproc' });
      // Reverse launch order: the last cluster up is the first one down.
      for (const c of [...context.clusters].reverse()) enqueue.sendTo(instanceSystemId(c.id), { type: 'cluster.stop' });
    }),
    killEverything: enqueueActions(({ context, enqueue }) => {
      enqueue(log(() => ({ level: 'warn', msg: 'second shutdown request: killing every cluster now' })));
      for (const c of context.clusters) enqueue.sendTo(instanceSystemId(c.id), { type: 'cluster.kill' });
    }),
    forgetStopped: assign(({ context, event }) => {
      assertEvent(event, 'cluster.stopped');
      return { awaitingStop: crossOff(context.awaitingStop, event.id) };
    }),
    logShutdownForced: log(({ context }) => ({
      level: 'error',
      msg: `clusters ${stillAwaited(context.awaitingStop).join(', ')} did not stop in time: killing what is left of them and exiting`,
    })),
  },
});
