import {
  and,
  assign,
  enqueueActions,
  fromCallback,
  fromPromise,
  log,
  sendTo,
  setup,
  type ActorSystem,
  type AnyActorRef,
  type SnapshotFrom,
} from 'xstate';
import { buildClusterMap, type ClusterSpec } from '../clusterMap/index.js';
import type { CommandAction } from '../protocol/index.js';
import {
  instanceMachine,
  refusal,
  viewOf,
  type ClusterView,
  type InstanceReport,
  type InstanceSnapshot,
  type InstanceTiming,
  type RestartPolicy,
  instanceActor,
  instanceSystemId,
  type DiagRequest,
} from './instanceMachine.js';

/**
 * The root actor: finds the shard count, builds the cluster map, spawns one
 * instanceMachine per cluster and hands out the launch slot for the first
 * launch, for rolling restarts and for every restart, so that no two clusters
 * identify in one of Discord's identify buckets (shard_id % max_concurrency)
 * at once: with max_concurrency 1, one cluster at a time.
 */

export interface GatewayInfo {
  shards: number;
  source: 'discord' | 'fixed_shard_count';
  sessionStartLimit: { total: number; remaining: number; resetAfter: number; maxConcurrency: number } | null;
}

export interface OrchestratorInput {
  perCluster: number;
  names: string[];
  fixedShardCount?: number | undefined;
  minimumSafeSessions: number;
  /** The config's cap on Discord's max_concurrency (the identify buckets); Discord's value when unset, 1 with neither. */
  maxConcurrency?: number | undefined;
  /** ms */
  startNextDelay: number;
  timing: InstanceTiming;
  restart: RestartPolicy;
  fleet: FleetPolicy;
  nonceSalt: string;
  seed: number;
}

/** Fleet protection: when many clusters die at once, automatic restarts pause. Times in ms. */
export interface FleetPolicy {
  /** More than this fraction of the clusters down within `window` (and at least two): pause. 1 turns it off. */
  crashRatio: number;
  window: number;
  /** The first pause; each pause in a row doubles it, up to 16 times. */
  pause: number;
}

/** Where a reply goes: the systemId of an actor that accepts REPLY (the bus, the HTTP bridge). */
interface ReplyAddress {
  replyTo?: string;
  commandId?: string | number;
}

type ClusterAction = Extract<CommandAction, 'start' | 'stop' | 'restart'>;

/** An operator command, as the bus and the HTTP API send it: `command.<protocol action>`. */
export type Command =
  | ({ type: `command.${ClusterAction}`; id: number } & ReplyAddress)
  | ({ type: `command.${Exclude<CommandAction, ClusterAction>}` } & ReplyAddress);

export type { CommandAction };

export type CommandResult =
  | { ok: true; value?: ClusterView[] | { clusters: number; shards: number } }
  | { ok: false; status: 'conflict' | 'not_found' | 'unavailable'; reason: string };

export interface Reply {
  type: 'REPLY';
  action: CommandAction;
  commandId?: string | number;
  result: CommandResult;
}

/**
 * What a bus adapter feeds in, besides commands. BUS.UP and BUS.DOWN: the bus's
 * status, the first one as soon as it is known; nothing is launched before the
 * first BUS.UP.
 */
export type BusEvent =
  | Command
  | { type: 'BUS.LAUNCH_NEXT'; id: number; at: number }
  | { type: 'BUS.DOWN' }
  | { type: 'BUS.UP' }
  /** Another supervisor runs this bot on this bus: launch nothing, or stop what runs. */
  | { type: 'BUS.REFUSED'; reason: string };

export interface ActionLogEntry {
  event: string;
  [key: string]: unknown;
}

/** What the orchestrator asks of a bus adapter. */
export type BusCommand =
  DiagRequest | { type: 'ANNOUNCE'; action: 'all_clusters_launched' } | { type: 'ACTION_LOG'; entry: ActionLogEntry } | Reply;

export type OrchestratorEvent = BusEvent | InstanceReport | { type: 'ROLLING.SKIP' } | { type: 'FLEET.FORGET'; id: number };

/**
 * Kept under 20 top-level fields (the input is one), as instanceMachine's: XState
 * copies the context with Object.assign on every assign, and V8 makes a copy
 * with more than 19 fields a dictionary. Group before adding.
 */
export interface OrchestratorContext {
  /** What the actor was started with; never changes. */
  input: OrchestratorInput;
  gateway: GatewayInfo | null;
  clusters: ClusterSpec[];
  /** The first launch's order: ids that have not had the launch slot yet. */
  launchOrder: number[];
  /** Restarts and operator starts: served before launchOrder, first come first served. */
  requests: { id: number; automatic: boolean }[];
  /**
   * The clusters holding the launch slot (a wave: their identify buckets are
   * disjoint), and whether any of them got as far as identifying, which the
   * start delay must then follow.
   */
  slot: { holders: number[]; identified: boolean };
  rollingQueue: number[];
  rollingCurrent: number | null;
  /** Clusters a shutdown is still waiting for. */
  awaitingStop: number[];
  /**
   * Discord's session starts left, as last told less the shards launched
   * since; null when Discord is not asked (fixed_shard_count).
   */
  sessionsLeft: number | null;
  /** False until the bus says it is up. */
  busUp: boolean;
  exitCode: number;
  fatalError: string | null;
  /** Ids of clusters that went down within the fleet window (one entry per time). */
  recentDowns: number[];
  restartsPaused: boolean;
  /** Pauses in a row, since the bot was last whole. */
  pauses: number;
}

export interface OrchestratorOutput {
  exitCode: number;
  error: string | null;
}

function instanceSnapshot(system: ActorSystem<any>, id: number): InstanceSnapshot | undefined {
  return instanceActor(system, id)?.getSnapshot() as InstanceSnapshot | undefined;
}

export function clusterViews(system: ActorSystem<any>, clusters: readonly ClusterSpec[]): ClusterView[] {
  // A loop, not flatMap: statuses and the web API ask for every cluster's view, and flatMap makes an array per cluster.
  const views: ClusterView[] = [];
  for (const c of clusters) {
    const snapshot = instanceSnapshot(system, c.id);
    if (snapshot) views.push(viewOf(snapshot));
  }
  return views;
}

/** How long a SIGKILLed process may take to be seen gone before a shutdown stops waiting for it. */
const KILL_GRACE_MS = 1000;

const NOT_LAUNCHED: CommandResult = { ok: false, status: 'unavailable', reason: 'the clusters are not launched yet' };
const SHUTTING_DOWN: CommandResult = { ok: false, status: 'unavailable', reason: 'the supervisor is shutting down' };

/** Sends a command's result to whoever asked (the actor registered as `replyTo`), if anyone did. */
function enqueueReply(
  enqueue: { sendTo: (to: AnyActorRef, event: Reply) => void },
  event: OrchestratorEvent,
  system: ActorSystem<any>,
  result: CommandResult,
) {
  const e = event as Command;
  const to = e.replyTo ? (system.get(e.replyTo) as AnyActorRef | undefined) : undefined;
  if (!to) return;
  const reply: Reply = { type: 'REPLY', action: e.type.slice('command.'.length) as CommandAction, result };
  if (e.commandId !== undefined) reply.commandId = e.commandId;
  enqueue.sendTo(to, reply);
}

/** The list without `id`; cheap in the common case, where `id` is at its head (the launch order is taken in order). */
const without = (list: number[], id: number) => (list[0] === id ? list.slice(1) : list.includes(id) ? list.filter((x) => x !== id) : list);

/** Cluster ids are 0 to K-1. */
const isCluster = (context: OrchestratorContext, id: number) => Number.isInteger(id) && id >= 0 && id < context.clusters.length;

/** Clusters waiting for the launch slot, in turn: restarts and operator starts first; only operators' while restarts are paused. */
function* queuedInTurn(context: OrchestratorContext): Generator<number> {
  for (const r of context.requests) if (!context.restartsPaused || !r.automatic) yield r.id;
  if (!context.restartsPaused) yield* context.launchOrder;
}

/** Discord's identify buckets (max_concurrency), capped by the config's; 1 when neither says. */
export function identifyBuckets(context: Pick<OrchestratorContext, 'gateway' | 'input'>): number {
  const discord = context.gateway?.sessionStartLimit?.maxConcurrency;
  const configured = context.input.maxConcurrency;
  return Math.max(1, Math.min(configured ?? discord ?? 1, discord ?? Infinity));
}

/**
 * The next wave to get the launch slot: the next cluster in turn, and those
 * after it for as long as each one's shards fall in buckets no earlier member
 * uses. Stops at the first that overlaps, so the turn order holds.
 */
function nextWave(context: OrchestratorContext): number[] {
  const buckets = identifyBuckets(context);
  const wave: number[] = [];
  const used = new Set<number>();
  for (const id of queuedInTurn(context)) {
    const mine = context.clusters[id]!.shards.map((shard) => shard % buckets);
    if (mine.some((b) => used.has(b))) break;
    wave.push(id);
    for (const b of mine) used.add(b);
    if (used.size === buckets) break;
  }
  return wave;
}

/**
 * Too few session starts left for a launch that needs `needed`: fewer than
 * minimum_safe_sessions_remaining (the Go version's rule, here before every
 * launch), or fewer than it needs (Discord resets the bot token when they run
 * out). Unknown (`null`, with fixed_shard_count): never too few.
 */
function tooFewSessions(context: OrchestratorContext, remaining: number | null, needed: number) {
  return remaining !== null && (remaining < context.input.minimumSafeSessions || remaining < needed);
}

/** The gateway actor's answer, in the transitions that take it (onDone). */
const gatewayAnswer = (event: unknown) => (event as { output: GatewayInfo }).output;

/** Why the gateway actor failed (onError). */
function gatewayError(event: unknown): string {
  const error = (event as { error?: unknown }).error;
  return String((error as Error | undefined)?.message ?? error);
}

/** Session starts a launch of these clusters uses: one per shard. */
const shardsOf = (context: OrchestratorContext, ids: number[]) => ids.reduce((sum, id) => sum + context.clusters[id]!.shards.length, 0);

/** Session starts the next wave would use. */
const nextLaunchNeeds = (context: OrchestratorContext) => shardsOf(context, nextWave(context));

/** For the startup log line: how the launch slot will be shared. */
function launchesAtOnce(context: OrchestratorContext) {
  const buckets = identifyBuckets(context);
  return buckets === 1
    ? 'one cluster launches at a time'
    : `max_concurrency ${buckets}: clusters whose shards are in different identify buckets launch together`;
}

const distinct = (ids: number[]) => new Set(ids).size;

/** How long the fleet's restarts stay paused: doubling with each pause in a row. */
export const fleetPauseMs = (fleet: FleetPolicy, pauses: number) => fleet.pause * 2 ** Math.min(Math.max(pauses - 1, 0), 4);

type ReportOf<T extends InstanceReport['type']> = Extract<InstanceReport, { type: T }>;

const orchestratorSetup = setup({
  types: {
    context: {} as OrchestratorContext,
    events: {} as OrchestratorEvent,
    input: {} as OrchestratorInput,
    output: {} as OrchestratorOutput,
  },
  actors: {
    instance: instanceMachine,
    // Replaced by real adapters (redisBus, fetchGateway) or test doubles through provide().
    bus: fromCallback<BusCommand, void, BusEvent>(() => {
      throw new Error('orchestratorMachine needs a bus actor: provide one');
    }),
    gateway: fromPromise<GatewayInfo>(() => Promise.reject(new Error('orchestratorMachine needs a gateway actor: provide one'))),
    // Operators' commands from outside the bus (the HTTP API); none by default.
    api: fromCallback<Reply, void, Command>(() => {}),
  },
  delays: {
    startNextDelay: ({ context }) => context.input.startNextDelay,
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
    sessionsLow: ({ event, context }) => {
      const answer = gatewayAnswer(event);
      return tooFewSessions(context, answer.sessionStartLimit?.remaining ?? null, answer.shards);
    },
    someoneQueued: ({ context }) => !queuedInTurn(context).next().done,
    // By the running count: ask Discord for a fresh one before launching.
    sessionsRunningLow: ({ context }) => tooFewSessions(context, context.sessionsLeft, nextLaunchNeeds(context)),
    sessionsStillLow: ({ context, event }) =>
      tooFewSessions(context, gatewayAnswer(event).sessionStartLimit?.remaining ?? null, nextLaunchNeeds(context)),
    noStartNextDelay: ({ context }) => context.input.startNextDelay <= 0,
    // Checked after every event (an eventless transition): nothing to count in the common case.
    fleetCrashing: ({ context }) => {
      if (context.recentDowns.length < 2) return false;
      const down = distinct(context.recentDowns);
      return down >= 2 && down > context.input.fleet.crashRatio * context.clusters.length;
    },
    fromSlotHolder: ({ context, event }) => 'id' in event && context.slot.holders.includes(event.id),
    slotFree: ({ context }) => context.slot.holders.length === 0,
    slotFreeAfterIdentify: ({ context }) => context.slot.holders.length === 0 && context.slot.identified,
    fromRollingCurrent: ({ context, event }) => 'id' in event && event.id === context.rollingCurrent,
    everyClusterHadItsTurn: ({ context }) => context.launchOrder.length === 0 && context.slot.holders.length === 0,
    rollingDone: ({ context }) => context.rollingQueue.length === 0,
    allStopped: ({ context }) => context.awaitingStop.length === 0,
    busUp: ({ context }) => context.busUp,
  },
  actions: {
    useFixedShardCount: assign(({ context }) => ({
      gateway: { shards: context.input.fixedShardCount!, source: 'fixed_shard_count' as const, sessionStartLimit: null },
    })),
    useGatewayAnswer: assign(({ event }) => {
      const gateway = gatewayAnswer(event);
      return { gateway, sessionsLeft: gateway.sessionStartLimit?.remaining ?? null };
    }),
    /** A fresh count of session starts; the shard count stays what the clusters were built for. */
    useSessionCount: enqueueActions(({ context, event, enqueue }) => {
      const answer = gatewayAnswer(event);
      const limit = answer.sessionStartLimit;
      enqueue.assign({ gateway: { ...context.gateway!, sessionStartLimit: limit }, sessionsLeft: limit?.remaining ?? null });
      if (answer.shards !== context.gateway!.shards) {
        enqueue(
          log(() => ({
            level: 'warn',
            msg: `Discord now recommends ${answer.shards} shards; the bot runs ${context.gateway!.shards}: restart the supervisor to reshard`,
          })),
        );
      }
    }),
    logSessionsLow: enqueueActions(({ context, enqueue }) => {
      const needed = nextLaunchNeeds(context);
      const limit = context.gateway!.sessionStartLimit!;
      enqueue.sendTo('bus', {
        type: 'ACTION_LOG',
        entry: { event: 'sessions_low', remaining: limit.remaining, needed, reset_after_ms: limit.resetAfter },
      });
      enqueue(
        log(() => ({
          level: 'error',
          msg: `only ${limit.remaining} session starts left, and the next launch needs ${needed} (minimum_safe_sessions_remaining is ${context.input.minimumSafeSessions}): no cluster starts for ${Math.round(limit.resetAfter / 1000)} s, until Discord's reset (running out gets the bot token reset)`,
        })),
      );
    }),
    launchUnchecked: log(({ event }) => ({
      level: 'warn',
      msg: `could not ask Discord how many session starts are left (${gatewayError(event)}): launching anyway`,
    })),
    failDiscovery: assign(({ event }) => ({
      exitCode: 1,
      fatalError: `could not get the shard count from Discord: ${gatewayError(event)}`,
    })),
    refuseBus: assign(({ event }) => ({ exitCode: 1, fatalError: event.type === 'BUS.REFUSED' ? event.reason : 'the bus was refused' })),
    logShutdownForced: log(({ context }) => ({
      level: 'error',
      msg: `clusters ${context.awaitingStop.join(', ')} did not stop in time: killing what is left of them and exiting`,
    })),
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
          },
        });
      }
      return { clusters, launchOrder: clusters.map((c) => c.id) };
    }),
    /** Gives the launch slot to the next wave: restarts first, then the first launch's order. */
    grantLaunchSlot: enqueueActions(({ context, enqueue }) => {
      const wave = nextWave(context);
      const requests = context.requests.filter((r) => !wave.includes(r.id));
      const launchOrder = context.launchOrder.filter((id) => !wave.includes(id));
      const sessionsLeft = context.sessionsLeft === null ? null : context.sessionsLeft - shardsOf(context, wave);
      enqueue.assign({ slot: { holders: wave, identified: false }, requests, launchOrder, sessionsLeft });
      for (const id of wave) enqueue.sendTo(instanceSystemId(id), { type: 'LAUNCH' });
    }),
    /** A holder is done with the slot: up or down (it identified, or may have), or stopped before that. */
    leaveSlot: assign(({ context, event }, params: { identified: boolean }) => ({
      slot: {
        holders: without(context.slot.holders, (event as { id: number }).id),
        identified: context.slot.identified || params.identified,
      },
    })),
    releaseSlot: assign({ slot: { holders: [], identified: false } }),
    relaunchSlotHolder: sendTo(({ event }) => instanceSystemId((event as { id: number }).id), { type: 'LAUNCH' }),
    queueLaunchRequest: assign(({ context, event }) => {
      const { id, automatic } = event as ReportOf<'CLUSTER.LAUNCH_REQUEST'>;
      if (context.requests.some((r) => r.id === id) || context.slot.holders.includes(id)) return {};
      return { requests: [...context.requests, { id, automatic }], launchOrder: without(context.launchOrder, id) };
    }),
    forgetStoppedCluster: assign(({ context, event }) => {
      const { id } = event as ReportOf<'CLUSTER.STOPPED'>;
      return {
        requests: context.requests.filter((r) => r.id !== id),
        launchOrder: without(context.launchOrder, id),
        awaitingStop: without(context.awaitingStop, id),
      };
    }),
    forwardLaunchNext: enqueueActions(({ event, context, enqueue }) => {
      const e = event as Extract<BusEvent, { type: 'BUS.LAUNCH_NEXT' }>;
      if (!isCluster(context, e.id)) {
        enqueue(log(() => ({ level: 'warn', msg: `ignored launch_next for unknown cluster ${e.id}` })));
        return;
      }
      enqueue.sendTo(instanceSystemId(e.id), { type: 'LAUNCH_NEXT', at: e.at });
    }),
    setBusUp: enqueueActions(({ context, enqueue }, params: { up: boolean }) => {
      enqueue.assign({ busUp: params.up });
      for (const c of context.clusters) enqueue.sendTo(instanceSystemId(c.id), { type: params.up ? 'BUS_UP' : 'BUS_DOWN' });
    }),
    logClusterDown: enqueueActions(({ context, event, enqueue }) => {
      const e = event as ReportOf<'CLUSTER.DOWN'>;
      const name =
        e.reason === 'ping_timeout'
          ? 'ping_failure'
          : !e.launching
            ? 'cluster_died'
            : e.id === context.rollingCurrent
              ? 'cluster_restart_failed'
              : 'cluster_start_failed';
      const entry: ActionLogEntry = { event: name, id: e.id, reason: e.reason };
      if (e.exit) Object.assign(entry, { code: e.exit.code, signal: e.exit.signal });
      if (e.error) entry.error = e.error;
      enqueue.sendTo('bus', { type: 'ACTION_LOG', entry });
      enqueue(log(() => ({ level: 'warn', cluster: e.id, msg: `cluster ${e.id} is down (${describeDown(e)})` })));
    }),
    /** Remembers a cluster's death for fleet_window, for fleet protection. */
    countDown: enqueueActions(({ context, event, enqueue }) => {
      const { id } = event as ReportOf<'CLUSTER.DOWN'>;
      enqueue.assign({ recentDowns: [...context.recentDowns, id] });
      enqueue.raise({ type: 'FLEET.FORGET', id }, { delay: 'fleetWindow' });
    }),
    forgetDown: assign(({ context, event }) => {
      const { id } = event as Extract<OrchestratorEvent, { type: 'FLEET.FORGET' }>;
      const at = context.recentDowns.indexOf(id);
      return at < 0 ? {} : { recentDowns: context.recentDowns.filter((_, i) => i !== at) };
    }),
    pauseRestarts: enqueueActions(({ context, enqueue }) => {
      const pauses = context.pauses + 1;
      const ms = fleetPauseMs(context.input.fleet, pauses);
      const down = [...new Set(context.recentDowns)];
      enqueue.assign({ restartsPaused: true, pauses });
      enqueue.sendTo('bus', { type: 'ACTION_LOG', entry: { event: 'fleet_paused', clusters: down, pause_ms: ms } });
      enqueue(
        log(() => ({
          level: 'error',
          msg: `${down.length} of ${context.clusters.length} clusters went down within ${context.input.fleet.window / 1000} s: automatic restarts paused for ${ms / 1000} s (operator starts still work)`,
        })),
      );
    }),
    resumeRestarts: enqueueActions(({ enqueue }) => {
      enqueue.assign({ restartsPaused: false, recentDowns: [] });
      enqueue.sendTo('bus', { type: 'ACTION_LOG', entry: { event: 'fleet_resumed' } });
      enqueue(log(() => ({ level: 'warn', msg: 'automatic restarts resume, through the launch slot' })));
    }),
    logClusterFailed: enqueueActions(({ event, enqueue }) => {
      const e = event as ReportOf<'CLUSTER.FAILED'>;
      enqueue.sendTo('bus', {
        type: 'ACTION_LOG',
        entry: { event: 'cluster_failed', id: e.id, why: e.why, exits: e.exits, last_lines: e.lastLines },
      });
      enqueue(
        log(() => ({ level: 'error', cluster: e.id, msg: `cluster ${e.id} failed and stays down until an operator starts it: ${e.why}` })),
      );
    }),
    announceAllLaunched: enqueueActions(({ context, system, enqueue }) => {
      const down = clusterViews(system, context.clusters).filter((v) => !v.up);
      enqueue.sendTo('bus', { type: 'ANNOUNCE', action: 'all_clusters_launched' });
      enqueue.sendTo('bus', { type: 'ACTION_LOG', entry: { event: 'all_clusters_launched', not_up: down.map((v) => v.id) } });
      enqueue(
        log(() => ({
          level: 'info',
          msg: down.length === 0 ? 'all clusters launched' : `all clusters had their launch; not up: ${down.map((v) => v.id).join(', ')}`,
        })),
      );
    }),
    /** As the Go version did after every later launch_next: tell the clusters when the bot is whole again. */
    announceIfAllUp: enqueueActions(({ context, system, enqueue }) => {
      const views = clusterViews(system, context.clusters);
      if (views.every((v) => v.up || v.state === 'stopped' || v.state === 'failed')) {
        enqueue.sendTo('bus', { type: 'ANNOUNCE', action: 'all_clusters_launched' });
        enqueue.assign({ pauses: 0 });
      }
    }),
    planRollingRestart: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ rollingQueue: context.clusters.map((c) => c.id), rollingCurrent: null });
      enqueue.sendTo('bus', { type: 'ACTION_LOG', entry: { event: 'rolling_restart', clusters: context.clusters.length } });
      enqueue(log(() => ({ level: 'info', msg: 'rolling restart: begins' })));
    }),
    takeNextRolling: assign(({ context }) => ({ rollingCurrent: context.rollingQueue[0]!, rollingQueue: context.rollingQueue.slice(1) })),
    restartRollingCurrent: enqueueActions(({ context, system, enqueue }) => {
      const id = context.rollingCurrent!;
      const snapshot = instanceSnapshot(system, id);
      // Stopped, failed or already restarting clusters are left as they are.
      if (!snapshot || refusal('restart', snapshot) !== null) {
        enqueue.raise({ type: 'ROLLING.SKIP' });
        return;
      }
      enqueue(log(() => ({ level: 'info', cluster: id, msg: `rolling restart: restarting cluster ${id}` })));
      enqueue.sendTo(instanceSystemId(id), { type: 'RESTART' });
    }),
    finishRollingRestart: enqueueActions(({ enqueue }) => {
      enqueue.assign({ rollingCurrent: null, rollingQueue: [] });
      enqueue.sendTo('bus', { type: 'ANNOUNCE', action: 'all_clusters_launched' });
      enqueue.sendTo('bus', { type: 'ACTION_LOG', entry: { event: 'rolling_restart_done' } });
      enqueue(log(() => ({ level: 'info', msg: 'rolling restart: done' })));
    }),
    /** Operator start/stop/restart: checked against the instance's state, so conflicts get a reason. */
    commandCluster: enqueueActions(({ context, event, system, enqueue }) => {
      const e = event as Extract<Command, { id: number }>;
      const action = e.type.slice('command.'.length) as 'start' | 'stop' | 'restart';
      const snapshot = isCluster(context, e.id) ? instanceSnapshot(system, e.id) : undefined;
      let result: CommandResult;
      if (!snapshot) {
        result = { ok: false, status: 'not_found', reason: `no cluster with id ${e.id} (ids are 0 to ${context.clusters.length - 1})` };
      } else {
        const why = refusal(action, snapshot);
        result = why === null ? { ok: true } : { ok: false, status: 'conflict', reason: why };
      }
      if (result.ok) {
        enqueue.sendTo(instanceSystemId(e.id), { type: action === 'start' ? 'START' : action === 'stop' ? 'STOP' : 'RESTART' });
        enqueue.sendTo('bus', { type: 'ACTION_LOG', entry: { event: `cluster_${action}`, id: e.id } });
        enqueue(log(() => ({ level: 'info', cluster: e.id, msg: `${action} cluster ${e.id}: by operator` })));
      } else {
        enqueue(log(() => ({ level: 'warn', cluster: e.id, msg: `refused to ${action} cluster ${e.id}: ${result.reason}` })));
      }
      enqueueReply(enqueue, event, system, result);
    }),
    reply: enqueueActions(({ event, system, enqueue }, result: CommandResult) => enqueueReply(enqueue, event, system, result)),
    replyStatuses: enqueueActions(({ context, event, system, enqueue }) =>
      enqueueReply(enqueue, event, system, { ok: true, value: clusterViews(system, context.clusters) }),
    ),
    replyNumProcesses: enqueueActions(({ context, event, system, enqueue }) =>
      enqueueReply(enqueue, event, system, {
        ok: true,
        value: { clusters: context.clusters.length, shards: context.gateway?.shards ?? 0 },
      }),
    ),
    beginShutdown: enqueueActions(({ context, event, enqueue }) => {
      const refused = event.type === 'BUS.REFUSED' ? event.reason : null;
      const exitCode = event.type === 'command.restartproc' || refused !== null ? 1 : 0;
      enqueue.assign({ exitCode, awaitingStop: context.clusters.map((c) => c.id), fatalError: refused });
      enqueue.sendTo('bus', {
        type: 'ACTION_LOG',
        entry: refused !== null ? { event: 'bus_refused', reason: refused } : { event: exitCode === 0 ? 'shutdown' : 'restartproc' },
      });
      enqueue(
        log(() =>
          refused !== null
            ? { level: 'error', msg: `${refused}: stopping every cluster (exit 1)` }
            : { level: 'info', msg: `${exitCode === 0 ? 'shutting down' : 'restarting the supervisor (exit 1)'}: stopping every cluster` },
        ),
      );
      // Reverse launch order: the last cluster up is the first one down.
      for (const c of [...context.clusters].reverse()) enqueue.sendTo(instanceSystemId(c.id), { type: 'STOP' });
    }),
    killEverything: enqueueActions(({ context, enqueue }) => {
      enqueue(log(() => ({ level: 'warn', msg: 'second shutdown request: killing every cluster now' })));
      for (const c of context.clusters) enqueue.sendTo(instanceSystemId(c.id), { type: 'KILL' });
    }),
  },
});

/**
 * Asks Discord (the gateway actor) how many session starts are left: with too
 * few, `wait` (for Discord's reset); else `then`. Either way `record` keeps the answer.
 */
function askingDiscord(o: {
  tooFew: 'sessionsLow' | 'sessionsStillLow';
  record: 'useGatewayAnswer' | 'useSessionCount';
  wait: string;
  then: string;
  onError: { target: string; actions: 'failDiscovery' | 'launchUnchecked' };
  description: string;
}) {
  return orchestratorSetup.createStateConfig({
    description: o.description,
    invoke: {
      src: 'gateway',
      onDone: [
        { guard: o.tooFew, target: o.wait, actions: o.record },
        { target: o.then, actions: o.record },
      ],
      onError: o.onError,
    },
  });
}

export const orchestratorMachine = orchestratorSetup.createMachine({
  id: 'orchestrator',
  context: ({ input }) => ({
    input,
    gateway: null,
    clusters: [],
    launchOrder: [],
    requests: [],
    slot: { holders: [], identified: false },
    sessionsLeft: null,
    rollingQueue: [],
    rollingCurrent: null,
    awaitingStop: [],
    busUp: false,
    exitCode: 0,
    fatalError: null,
    recentDowns: [],
    restartsPaused: false,
    pauses: 0,
  }),
  output: ({ context }) => ({ exitCode: context.exitCode, error: context.fatalError }),
  invoke: [
    { id: 'bus', systemId: 'bus', src: 'bus' },
    { id: 'api', systemId: 'api', src: 'api' },
  ],
  // Only events that no parallel region of `supervising` handles belong here:
  // an event a region does not take bubbles up, and would run twice.
  on: {
    'command.statuses': { actions: 'replyStatuses' },
    'command.num_processes': { actions: 'replyNumProcesses' },
    'command.shutdown': { target: '.shuttingDown', actions: [{ type: 'reply', params: { ok: true } }, 'beginShutdown'] },
    'command.restartproc': { target: '.shuttingDown', actions: [{ type: 'reply', params: { ok: true } }, 'beginShutdown'] },
    'BUS.REFUSED': { target: '.shuttingDown', actions: 'beginShutdown' },
    'BUS.LAUNCH_NEXT': { actions: 'forwardLaunchNext' },
    'BUS.DOWN': {
      actions: [{ type: 'setBusUp', params: { up: false } }, log(() => ({ level: 'error', msg: 'the bus is down: diagnostics paused' }))],
    },
    'BUS.UP': {
      actions: [{ type: 'setBusUp', params: { up: true } }, log(() => ({ level: 'info', msg: 'the bus is back: diagnostics resume' }))],
    },
  },
  initial: 'discovering',
  states: {
    discovering: {
      description: "Finds the shard count (fixed_shard_count, or Discord's GET /gateway/bot), and waits for the bus.",
      initial: 'choosing',
      on: {
        'command.start': { actions: { type: 'reply', params: NOT_LAUNCHED } },
        'command.stop': { actions: { type: 'reply', params: NOT_LAUNCHED } },
        'command.restart': { actions: { type: 'reply', params: NOT_LAUNCHED } },
        'command.rollingrestart': { actions: { type: 'reply', params: NOT_LAUNCHED } },
        'BUS.DOWN': {
          actions: [
            { type: 'setBusUp', params: { up: false } },
            log(() => ({ level: 'error', msg: 'the bus is down: no cluster is launched until it is up' })),
          ],
        },
        'BUS.UP': { actions: [{ type: 'setBusUp', params: { up: true } }, log(() => ({ level: 'info', msg: 'the bus is up' }))] },
        'BUS.REFUSED': { target: '#orchestrator.fatal', actions: 'refuseBus' },
      },
      states: {
        choosing: {
          always: [{ guard: 'shardCountFixed', target: 'waitingForBus', actions: 'useFixedShardCount' }, { target: 'askingDiscord' }],
        },
        askingDiscord: askingDiscord({
          description: 'The shard count, and the session starts left for launching that many.',
          tooFew: 'sessionsLow',
          record: 'useGatewayAnswer',
          wait: 'waitingForSessions',
          then: 'waitingForBus',
          onError: { target: '#orchestrator.fatal', actions: 'failDiscovery' },
        }),
        waitingForSessions: {
          description:
            'Fewer identify sessions left than minimum_safe_sessions_remaining, or than the shards need: wait for the reset, then ask again.',
          entry: log(({ context }) => {
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
          after: { sessionsReset: 'askingDiscord' },
        },
        waitingForBus: {
          description:
            'Nothing is launched before the bus is first up (Redis subscribed): a cluster could not send its launch_next, and would be killed for it.',
          always: { guard: 'busUp', target: '#orchestrator.supervising' },
        },
      },
    },
    supervising: {
      type: 'parallel',
      entry: [
        'spawnInstances',
        log(({ context }) => ({
          level: 'info',
          msg: `${context.gateway!.shards} shards in ${context.clusters.length} clusters of up to ${context.input.perCluster} (shard count from ${context.gateway!.source}); ${launchesAtOnce(context)}`,
        })),
      ],
      on: {
        'command.start': { actions: 'commandCluster' },
        'command.stop': { actions: 'commandCluster' },
        'command.restart': { actions: 'commandCluster' },
      },
      states: {
        reports: {
          description: "Keeps the books on every cluster's reports, whatever the other regions are doing.",
          initial: 'listening',
          states: {
            listening: {
              on: {
                'CLUSTER.LAUNCH_REQUEST': { actions: 'queueLaunchRequest' },
                'CLUSTER.STOPPED': { actions: 'forgetStoppedCluster' },
                'CLUSTER.DOWN': { actions: ['logClusterDown', 'countDown'] },
                'CLUSTER.FAILED': { actions: 'logClusterFailed' },
                'FLEET.FORGET': { actions: 'forgetDown' },
              },
            },
          },
        },
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
        scheduler: {
          description:
            'The launch slot: one wave of clusters starts at a time (one cluster, with max_concurrency 1), then cluster_start_next_delay passes.',
          initial: 'idle',
          states: {
            idle: {
              always: [
                { guard: and(['someoneQueued', 'sessionsRunningLow']), target: 'checkingSessions' },
                { guard: 'someoneQueued', target: 'launching' },
              ],
            },
            checkingSessions: askingDiscord({
              description: 'A fresh count of session starts, when the running count says too few are left for the next launch.',
              tooFew: 'sessionsStillLow',
              record: 'useSessionCount',
              wait: 'waitingForSessionReset',
              then: 'launching',
              onError: { target: 'launching', actions: 'launchUnchecked' },
            }),
            waitingForSessionReset: {
              description: "Too few session starts left: no cluster starts until Discord's reset (running out gets the bot token reset).",
              entry: 'logSessionsLow',
              after: { sessionsReset: 'checkingSessions' },
            },
            launching: {
              entry: 'grantLaunchSlot',
              exit: 'releaseSlot',
              always: [
                { guard: 'slotFreeAfterIdentify', target: 'cooldown' },
                { guard: 'slotFree', target: 'idle' },
              ],
              on: {
                'CLUSTER.UP': { guard: 'fromSlotHolder', actions: { type: 'leaveSlot', params: { identified: true } } },
                'CLUSTER.DOWN': { guard: 'fromSlotHolder', actions: { type: 'leaveSlot', params: { identified: true } } },
                'CLUSTER.STOPPED': { guard: 'fromSlotHolder', actions: { type: 'leaveSlot', params: { identified: false } } },
                // Restarted while it held the slot: it stopped and asks again; it still has the slot.
                'CLUSTER.LAUNCH_REQUEST': { guard: 'fromSlotHolder', actions: 'relaunchSlotHolder' },
              },
            },
            cooldown: {
              // No timer at all for no delay: a timer's turn of the event loop is a millisecond lost.
              always: { guard: 'noStartNextDelay', target: 'idle' },
              after: { startNextDelay: 'idle' },
            },
          },
        },
        phase: {
          initial: 'launching',
          states: {
            launching: {
              description: 'The first launch, cluster by cluster.',
              always: { guard: 'everyClusterHadItsTurn', target: 'up', actions: 'announceAllLaunched' },
              on: {
                'command.rollingrestart': {
                  actions: { type: 'reply', params: { ok: false, status: 'conflict', reason: 'the first launch is still in progress' } },
                },
              },
            },
            up: {
              on: {
                'command.rollingrestart': { target: 'rollingRestart', actions: { type: 'reply', params: { ok: true } } },
                'CLUSTER.UP': { actions: 'announceIfAllUp' },
              },
            },
            rollingRestart: {
              description: 'Restarts every live cluster in turn, each one up (or given up on) before the next.',
              entry: 'planRollingRestart',
              initial: 'next',
              on: {
                'command.rollingrestart': {
                  actions: { type: 'reply', params: { ok: false, status: 'conflict', reason: 'a rolling restart is already in progress' } },
                },
              },
              states: {
                next: {
                  always: [
                    { guard: 'rollingDone', target: '#orchestrator.supervising.phase.up', actions: 'finishRollingRestart' },
                    { target: 'restartingCluster', actions: 'takeNextRolling' },
                  ],
                },
                restartingCluster: {
                  entry: 'restartRollingCurrent',
                  on: {
                    'ROLLING.SKIP': 'next',
                    'CLUSTER.UP': { guard: 'fromRollingCurrent', target: 'next' },
                    'CLUSTER.DOWN': { guard: 'fromRollingCurrent', target: 'next' },
                    'CLUSTER.STOPPED': { guard: 'fromRollingCurrent', target: 'next' },
                    'CLUSTER.FAILED': { guard: 'fromRollingCurrent', target: 'next' },
                  },
                },
              },
            },
          },
        },
      },
    },
    shuttingDown: {
      description:
        'Every cluster gets SIGTERM (last launched first), then SIGKILL after kill_timeout; a second request kills at once. Bounded: whatever has not stopped a second after its SIGKILL is left to the process adapters, which kill it as the supervisor ends.',
      always: { guard: 'allStopped', target: 'exited' },
      initial: 'stopping',
      states: {
        stopping: {
          after: { shutdownDeadline: 'forced' },
          on: {
            'command.shutdown': { target: 'killing', actions: [{ type: 'reply', params: { ok: true } }, 'killEverything'] },
            'command.restartproc': { target: 'killing', actions: [{ type: 'reply', params: { ok: true } }, 'killEverything'] },
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
        'command.shutdown': { actions: { type: 'reply', params: { ok: true } } },
        'command.restartproc': { actions: { type: 'reply', params: { ok: true } } },
        'BUS.REFUSED': {},
        'command.start': { actions: { type: 'reply', params: SHUTTING_DOWN } },
        'command.stop': { actions: { type: 'reply', params: SHUTTING_DOWN } },
        'command.restart': { actions: { type: 'reply', params: SHUTTING_DOWN } },
        'command.rollingrestart': { actions: { type: 'reply', params: SHUTTING_DOWN } },
        'CLUSTER.STOPPED': { actions: 'forgetStoppedCluster' },
        'CLUSTER.DOWN': { actions: 'logClusterDown' },
        'CLUSTER.FAILED': { actions: 'logClusterFailed' },
      },
    },
    exited: { type: 'final' },
    fatal: {
      type: 'final',
      entry: log(({ context }) => ({ level: 'fatal', msg: context.fatalError })),
    },
  },
});

function describeDown(e: ReportOf<'CLUSTER.DOWN'>): string {
  switch (e.reason) {
    case 'exited':
      return e.exit?.signal ? `killed by ${e.exit.signal}` : `exited with code ${e.exit?.code}`;
    case 'spawn_failed':
      return `could not start: ${e.error}`;
    case 'launch_timeout':
      return 'no launch_next within launch_timeout';
    case 'ping_timeout':
      return 'no answer to a diagnostic within ping_timeout';
  }
}

export type OrchestratorSnapshot = SnapshotFrom<typeof orchestratorMachine>;
