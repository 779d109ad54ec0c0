import { randomUUID } from 'node:crypto';
import {
  answerMessage,
  botMessage,
  callMessage,
  commandMessage,
  describeFatalClose,
  diagAnswerMessage,
  exitCodeForClose,
  interpretForCluster,
  clusterChannel,
  launchNextMessage,
  identifiedMessage,
  identifyWaitMessage,
  launcherChannel,
  refusalOf,
  replyCommandId,
  type BusMessage,
  type CallOutcome,
  type ClusterInbound,
  type CommandOutput,
  type FatalCloseCode,
  type ShardHealth,
} from '../protocol/index.js';

export type { CommandOutputs, StatusesEntry } from '../protocol/index.js';
/** For a cluster that exits by itself: the exit code for a fatal close code, and what each means. */
export { exitCodeForClose, FATAL_CLOSE_CODES } from '../protocol/index.js';

/**
 * mewld/client: the cluster side of the mewld protocol, for bots written in
 * TypeScript or JavaScript. It knows which cluster it is, talks on whichever
 * bus the supervisor chose, answers diagnostics, and leaves when the
 * supervisor is gone. It imports nothing of the supervisor.
 */

export type { ShardHealth };

/** Who this cluster is, from the MEWLD_* environment or, under the Go mewld, from argv. */
export interface ClusterInfo {
  id: number;
  name: string;
  shards: number[];
  shardCount: number;
  /** null under the Go mewld, which does not say. */
  clusterCount: number | null;
  /** The working directory the supervisor gave (argv's last element). */
  workDir: string | null;
  bus: 'ipc' | 'redis';
  channel: string;
}

export interface ClusterOptions {
  /** The shards' health, for diagnostics. Answer quickly: the supervisor waits ping_timeout at most. */
  health?: () => ShardHealth[] | Promise<ShardHealth[]>;
  /** Default timeout of request(), ms. */
  requestTimeout?: number;
  /**
   * On Redis: exit when no diagnostic came for this long (ms) while connected,
   * counted from ready(). The supervisor sends one every ping_interval, so
   * make it several ping_intervals. On IPC the cluster leaves as soon as the
   * channel closes.
   */
  orphanTimeout?: number;
  /**
   * Called before the process exits because the supervisor is gone or was
   * replaced by another run, and on SIGTERM/SIGINT (the supervisor's stop)
   * when given: close your Discord connections here. Bounded by shutdownTimeout.
   */
  shutdown?: (reason: LeaveReason) => void | Promise<void>;
  shutdownTimeout?: number;
  /** Redis address when MEWLD_REDIS_URL is not set (as under the Go mewld). */
  redisUrl?: string;
  /** Defaults to process.env and process.argv. */
  env?: Environment;
  argv?: string[];
}

/**
 * Why a cluster leaves by itself: its supervisor is gone (`orphaned`), another
 * run of the supervisor has taken over its shards (`replaced`), or it was
 * asked to stop (`signal`).
 */
export type LeaveReason = 'orphaned' | 'replaced' | 'signal';

/** An environment as process.env is one: the published types need no @types/node for it. */
export type Environment = Record<string, string | undefined>;

export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
}

/** The supervisor refused the command (an unknown cluster, a conflicting state...): `reason` says why, as it said it. */
export class RequestRefusedError extends Error {
  override name = 'RequestRefusedError';
  constructor(
    readonly action: string,
    readonly reason: string,
  ) {
    super(`${action} refused: ${reason}`);
  }
}

/** Who asks a handler to run (`handle`): the asking cluster's id. */
export interface CallMeta {
  from: number;
}

/** A named handler that other clusters (and this one) can ask to run: its value goes back to the asker. */
export type CallHandler<A = unknown, T = unknown> = (args: A, meta: CallMeta) => T | Promise<T>;

/** One cluster's answer to collect(): the handler's value, or why there is none (no such handler, or what it threw). */
export type CollectEntry<T> = { cluster: number; value: T } | { cluster: number; error: string };

/**
 * collect() timed out: `answers` holds the clusters that answered (in cluster
 * id order, as collect's result would), `missing` the ids of those that did not
 * (stopped, restarting, or too slow).
 */
export class CollectTimeoutError<T = unknown> extends Error {
  override name = 'CollectTimeoutError';
  constructor(
    readonly handler: string,
    readonly answers: CollectEntry<T>[],
    readonly missing: number[],
    timeout: number,
  ) {
    super(`collect("${handler}"): no answer from cluster${missing.length === 1 ? '' : 's'} ${missing.join(', ')} within ${timeout} ms`);
  }
}

/** ask(): the cluster asked has no handler of that name (registered with handle()). */
export class NoHandlerError extends Error {
  override name = 'NoHandlerError';
  constructor(
    readonly cluster: number,
    readonly handler: string,
  ) {
    super(`cluster ${cluster} has no handler "${handler}"`);
  }
}

/** ask(): the handler threw (or rejected) on the cluster asked; `reason` is its error's message. */
export class HandlerError extends Error {
  override name = 'HandlerError';
  constructor(
    readonly cluster: number,
    readonly handler: string,
    readonly reason: string,
  ) {
    super(`handler "${handler}" failed on cluster ${cluster}: ${reason}`);
  }
}

/** Reads the cluster's identity; throws with what is missing when this is not a cluster process. */
export function clusterInfo(
  env: Environment = process.env,
  argv: string[] = process.argv,
  hasIpcChannel = typeof process.send === 'function',
): ClusterInfo {
  // argv in the Go order: <program> <module> <shards> <shard_count> <cluster_id> <cluster_name> 0 <workdir>
  const [shardsArg, shardCountArg, idArg, nameArg, , workDirArg] = argv.slice(2);
  const pick = (fromEnv: string | undefined, fromArgv: string | undefined, what: string) => {
    const value = fromEnv ?? fromArgv;
    if (value === undefined)
      throw new Error(`mewld/client: no ${what} (neither MEWLD_* environment nor mewld's argv): is this process started by mewld?`);
    return value;
  };
  const id = Number(pick(env.MEWLD_CLUSTER_ID, idArg, 'cluster id'));
  const shards = JSON.parse(pick(env.MEWLD_SHARDS, shardsArg, 'shard list')) as unknown;
  const shardCount = Number(pick(env.MEWLD_SHARD_COUNT, shardCountArg, 'shard count'));
  if (!Number.isInteger(id) || !Array.isArray(shards) || !Number.isInteger(shardCount)) {
    throw new Error(`mewld/client: malformed cluster identity (id ${id}, shards ${JSON.stringify(shards)}, shard count ${shardCount})`);
  }
  const bus = env.MEWLD_BUS === 'ipc' || (env.MEWLD_BUS === undefined && hasIpcChannel) ? 'ipc' : 'redis';
  return {
    id,
    name: env.MEWLD_CLUSTER_NAME ?? nameArg ?? `Cluster ${id}`,
    shards: shards as number[],
    shardCount,
    clusterCount: env.MEWLD_CLUSTER_COUNT !== undefined ? Number(env.MEWLD_CLUSTER_COUNT) : null,
    workDir: workDirArg ?? null,
    bus,
    channel: env.MEWLD_CHANNEL ?? 'mewld',
  };
}

/** How messages travel for a cluster: the Node IPC channel, or Redis pub/sub. */
interface ClusterTransport {
  send(message: BusMessage): Promise<void>;
  close(): Promise<void>;
}

type Handler = (data: unknown, meta: { from: number | undefined; message: BusMessage }) => void;

export interface Cluster {
  readonly info: ClusterInfo;
  /** Tells the supervisor this cluster is fully up (launch_next): the next cluster may start. */
  ready(): Promise<void>;
  /**
   * Optional: resolves when this cluster may identify its shards (identify_wait, answered by
   * identify_turn): call it once loaded, before the first identify, and the supervisor starts
   * the next clusters while Discord's identify window runs (docs/architecture.md, identify
   * turns). Under the Go mewld, at once; with no word within `timeout` ms (default 30 s: a
   * supervisor that does not know it), with a warning.
   */
  identifyTurn(options?: { timeout?: number }): Promise<void>;
  /** Optional, after identifyTurn(): every shard has sent its identify (identified). */
  identified(): Promise<void>;
  /**
   * Sends a launcher command (statuses, restart, ...) and resolves with the
   * reply's output, matched by command_id ("ok", or the payload of statuses
   * and num_processes, typed); rejects with RequestRefusedError when the
   * supervisor refuses it, and with RequestTimeoutError when no reply comes
   * in time (default 10 s).
   */
  request<A extends string>(action: A, args?: Record<string, unknown>, options?: { timeout?: number }): Promise<CommandOutput<A>>;
  /** Sends a message to every other cluster of the bot (scope "bot"). */
  broadcast(action: string, data?: unknown): Promise<void>;
  /** Messages from other clusters with this action; returns a function that unsubscribes. */
  on(action: string, handler: Handler): () => void;
  /**
   * Registers handler `name`, which every cluster of the bot (this one too) can
   * run with collect() or ask(); a second handler of the same name replaces the
   * first. Returns a function that unregisters it.
   */
  handle<A = unknown, T = unknown>(name: string, handler: CallHandler<A, T>): () => void;
  /**
   * Runs handler `name` on every cluster of the bot (this one locally) and
   * resolves with every cluster's answer, in cluster id order: its value, or
   * the error (no such handler, or what the handler threw). Rejects with
   * CollectTimeoutError, which holds the answers received and the clusters
   * missing, when not all have answered in time (default: requestTimeout).
   */
  collect<T = unknown>(name: string, args?: unknown, options?: { timeout?: number }): Promise<CollectEntry<T>[]>;
  /**
   * Runs handler `name` on cluster `cluster` and resolves with its value;
   * rejects with NoHandlerError when it has no such handler, HandlerError when
   * the handler threw, RequestTimeoutError when no answer came in time, and
   * RangeError at once when `cluster` is no cluster of the bot.
   */
  ask<T = unknown>(cluster: number, name: string, args?: unknown, options?: { timeout?: number }): Promise<T>;
  /** The supervisor announces that every cluster has launched. */
  onAllClustersLaunched(handler: () => void): () => void;
  /**
   * Discord closed a shard's gateway with `closeCode`: when it is one that no
   * restart can help (4004, 4010-4014), says why, closes the bus and exits
   * with the code the supervisor reads (100 + closeCode - 4000), so that it
   * does not restart this cluster in a loop. Resolves false and does nothing
   * for any other code (a reconnect may help). docs/client.md, "When Discord says no".
   */
  exitForClose(closeCode: number): Promise<boolean>;
  /**
   * Watches a discord.js Client (`shardDisconnect`) or an @discordjs/ws
   * WebSocketManager (`closed`): a fatal close code makes this cluster exit
   * as exitForClose says. Returns a function that stops watching.
   */
  exitOnFatalClose(gateway: GatewayEvents): () => void;
  close(): Promise<void>;
}

/** Connects this cluster process to its supervisor's bus. */
/** What exitOnFatalClose needs of a discord.js Client or an @discordjs/ws WebSocketManager: an event emitter. */
export interface GatewayEvents {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

/** The close code in a close event: discord.js gives `{code}`, @discordjs/ws a number (v2) or `{code}` (v1). */
function closeCodeOf(event: unknown): number | null {
  if (typeof event === 'number') return event;
  const code = typeof event === 'object' && event !== null ? (event as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : null;
}

/** The events a close code comes with: discord.js's Client, @discordjs/ws's WebSocketManager. */
const CLOSE_EVENTS = ['shardDisconnect', 'closed'];

export async function connectCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const env = options.env ?? process.env;
  const info = clusterInfo(env, options.argv ?? process.argv);
  const requestTimeout = options.requestTimeout ?? 10_000;
  // Set by mewld (not by the Go version): which run of the supervisor started this process, and this cluster's key for proving its answers.
  const runId = env.MEWLD_RUN_ID || undefined;
  const key = env.MEWLD_CLUSTER_KEY || undefined;
  const pending = new Map<string | number, { resolve(output: unknown): void; timer: NodeJS.Timeout }>();
  const handlers = new Map<string, Set<Handler>>();
  const callHandlers = new Map<string, CallHandler>();
  /** This cluster's calls (collect, ask) waiting for answers, by call id. */
  const calls = new Map<string, { take(from: number, outcome: CallOutcome): void; timer: ReturnType<typeof setTimeout> }>();
  const launchedHandlers = new Set<() => void>();
  let closed = false;
  let isReady = false;
  let orphanTimer: NodeJS.Timeout | undefined;
  let connected = true;

  const armOrphanTimer = () => {
    if (orphanTimer) clearTimeout(orphanTimer);
    orphanTimer = undefined;
    if (info.bus !== 'redis' || !isReady || closed || !connected) return;
    const timeout = options.orphanTimeout ?? 120_000;
    orphanTimer = setTimeout(() => void leave('orphaned', `no diagnostic from the supervisor for ${timeout} ms`), timeout);
    orphanTimer.unref();
  };

  // Only mewld sets MEWLD_BUS, and the Go version has no IPC bus.
  const underMewld = info.bus === 'ipc' || env.MEWLD_BUS === 'redis';
  /** Resolves identifyTurn() when the supervisor's identify_turn comes. */
  let onTurn: (() => void) | undefined;

  const onInbound = (inbound: ClusterInbound) => {
    switch (inbound.kind) {
      case 'identify_turn':
        if (inbound.id === info.id) onTurn?.();
        return;
      case 'diag':
        if (inbound.id !== info.id) return;
        // Another run of the supervisor asks for this cluster: it has replaced the run that started
        // this process, and launches its own process for these shards. Two would run them twice.
        if (runId !== undefined && !inbound.nonce.startsWith(`${runId}-`)) {
          void leave('replaced', 'another run of the supervisor has taken over this cluster');
          return;
        }
        armOrphanTimer();
        void Promise.resolve()
          .then(() => options.health?.() ?? defaultHealth(info.shards))
          .then(
            (health) => transport.send(diagAnswerMessage(inbound.nonce, health, key)),
            (err: unknown) => console.error(`mewld/client: health() failed: ${(err as Error).message}`),
          );
        return;
      case 'reply': {
        const waiting = pending.get(inbound.commandId);
        if (!waiting) return;
        pending.delete(inbound.commandId);
        clearTimeout(waiting.timer);
        waiting.resolve(inbound.output);
        return;
      }
      case 'all_clusters_launched':
        for (const handler of launchedHandlers) handler();
        return;
      case 'call': {
        const { call, to } = inbound;
        // For another cluster (on Redis's shared channel), or this cluster's own collect, echoed by Redis: it ran here already.
        if ((to !== undefined && to !== info.id) || call.from === info.id) return;
        void runHandler(call.name, call.args, call.from).then((outcome) => answer(call.from, call.id, outcome));
        return;
      }
      case 'answer':
        if (inbound.to === info.id) calls.get(inbound.answer.id)?.take(inbound.answer.from, inbound.answer.outcome);
        return;
      case 'bot':
        // Our own broadcast, echoed by Redis; or a message for another cluster, on Redis's shared channel.
        if (inbound.from === info.id || (inbound.to !== undefined && inbound.to !== info.id)) return;
        for (const handler of handlers.get(inbound.action) ?? []) handler(inbound.data, { from: inbound.from, message: inbound.message });
    }
  };

  /** Runs this cluster's handler `name` for cluster `from`. Never throws: a failure is the outcome. */
  const runHandler = async (name: string, args: unknown, from: number): Promise<CallOutcome> => {
    const handler = callHandlers.get(name);
    if (!handler) return { error: `no handler "${name}"`, code: 'no_handler' };
    try {
      // undefined as the wire carries it (no value): null, whether the asker is this cluster or another.
      return { value: (await handler(args ?? null, { from })) ?? null };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err), code: 'failed' };
    }
  };

  const answer = async (to: number, id: string, outcome: CallOutcome) => {
    try {
      await transport.send(answerMessage(info.id, to, id, outcome));
    } catch (err) {
      // A value JSON cannot carry (a BigInt, a cycle): the asker hears why rather than waiting for its timeout.
      const why: CallOutcome = { error: `the handler's value could not be sent: ${(err as Error).message}`, code: 'failed' };
      await transport.send(answerMessage(info.id, to, id, why)).catch(() => {});
    }
  };

  /**
   * Sends call `name` to cluster `to` (every cluster when undefined) and passes
   * each answer to `take` until the returned function ends the call; `expire`
   * after the timeout, `fail` when the call could not be sent.
   */
  const openCall = (
    to: number | undefined,
    name: string,
    args: unknown,
    timeout: number | undefined,
    take: (from: number, outcome: CallOutcome) => void,
    expire: (ms: number) => void,
    fail: (err: Error) => void,
  ) => {
    const id = randomUUID();
    const ms = timeout ?? requestTimeout;
    const end = () => {
      clearTimeout(timer);
      calls.delete(id);
    };
    const timer = setTimeout(() => {
      end();
      expire(ms);
    }, ms);
    calls.set(id, { take, timer });
    transport.send(callMessage(info.id, to, id, name, args)).catch((err: unknown) => {
      end();
      fail(err as Error);
    });
    return end;
  };

  const exitForClose = async (closeCode: number) => {
    const code = exitCodeForClose(closeCode);
    if (code === null) return false;
    console.error(`mewld/client: cluster ${info.id}: ${describeFatalClose(closeCode as FatalCloseCode)}; exiting with ${code}`);
    await close().catch(() => {});
    process.exit(code);
  };

  const leave = async (reason: LeaveReason, why: string) => {
    if (closed) return;
    console.error(`mewld/client: cluster ${info.id} is leaving: ${why}`);
    const done = Promise.resolve(options.shutdown?.(reason)).catch((err: unknown) =>
      console.error(`mewld/client: shutdown failed: ${(err as Error).message}`),
    );
    await Promise.race([done, new Promise((r) => setTimeout(r, options.shutdownTimeout ?? 5000).unref())]);
    await close().catch(() => {});
    process.exit(0);
  };

  const transport: ClusterTransport =
    info.bus === 'ipc'
      ? ipcTransport(onInbound, () => void leave('orphaned', 'the IPC channel to the supervisor closed'))
      : await redisTransport(
          info.channel,
          env.MEWLD_REDIS_URL ?? options.redisUrl ?? 'redis://127.0.0.1:6379',
          // Only mewld listens on direct channels; the Go version does not.
          env.MEWLD_BUS === 'redis' ? { id: info.id } : undefined,
          onInbound,
          (up) => {
            connected = up;
            armOrphanTimer(); // no deadline while our own connection is down
          },
          (commandId) => pending.has(commandId),
        );

  if (options.shutdown) {
    const onSignal = () => void leave('signal', 'asked to stop');
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  const close = async () => {
    if (closed) return;
    closed = true;
    if (orphanTimer) clearTimeout(orphanTimer);
    for (const waiting of [...pending.values(), ...calls.values()]) clearTimeout(waiting.timer);
    pending.clear();
    calls.clear();
    await transport.close();
  };

  return {
    info,
    async ready() {
      await transport.send(launchNextMessage(info.id));
      isReady = true;
      armOrphanTimer();
    },
    async identifyTurn(turnOptions = {}) {
      // The Go mewld has no turns: it never answers.
      if (!underMewld) return;
      const timeout = turnOptions.timeout ?? 30_000;
      const turn = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          console.error(`mewld/client: no identify_turn within ${timeout} ms: identifying anyway`);
          resolve();
        }, timeout);
        onTurn = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      await transport.send(identifyWaitMessage(info.id));
      await turn;
      onTurn = undefined;
    },
    async identified() {
      if (!underMewld) return;
      await transport.send(identifiedMessage(info.id));
    },
    request(action, args, requestOptions = {}) {
      const commandId = randomUUID();
      const timeout = requestOptions.timeout ?? requestTimeout;
      return new Promise<CommandOutput<typeof action>>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(commandId);
          reject(new RequestTimeoutError(`no reply to ${action} within ${timeout} ms: is the supervisor running?`));
        }, timeout);
        const answer = (output: unknown) => {
          const reason = refusalOf(output);
          if (reason === null) resolve(output as CommandOutput<typeof action>);
          else reject(new RequestRefusedError(action, reason));
        };
        pending.set(commandId, { resolve: answer, timer });
        transport.send(commandMessage(action, args, commandId)).catch((err: unknown) => {
          clearTimeout(timer);
          pending.delete(commandId);
          reject(err as Error);
        });
      });
    },
    broadcast: (action, data) => transport.send(botMessage(action, data ?? null, info.id)),
    on(action, handler) {
      let set = handlers.get(action);
      if (!set) handlers.set(action, (set = new Set()));
      set.add(handler);
      return () => void set.delete(handler);
    },
    handle(name, handler) {
      const registered = handler as CallHandler;
      callHandlers.set(name, registered);
      return () => {
        if (callHandlers.get(name) === registered) callHandlers.delete(name);
      };
    },
    collect<T>(name: string, args?: unknown, callOptions: { timeout?: number } = {}) {
      const count = info.clusterCount;
      if (count === null) {
        return Promise.reject(
          new Error('mewld/client: collect() needs the number of clusters (MEWLD_CLUSTER_COUNT), which the Go mewld does not give'),
        );
      }
      const outcomes = new Map<number, CallOutcome>();
      const entries = (): CollectEntry<T>[] =>
        [...outcomes]
          .sort(([a], [b]) => a - b)
          .map(([cluster, outcome]) => ('value' in outcome ? { cluster, value: outcome.value as T } : { cluster, error: outcome.error }));
      return new Promise<CollectEntry<T>[]>((resolve, reject) => {
        const take = (from: number, outcome: CallOutcome) => {
          // One answer per cluster of the bot: a second process of a restarting cluster, or an id beyond the bot, is not one.
          if (from >= count || outcomes.has(from)) return;
          outcomes.set(from, outcome);
          if (outcomes.size < count) return;
          end();
          resolve(entries());
        };
        const missing = () => Array.from({ length: count }, (_, id) => id).filter((id) => !outcomes.has(id));
        const end = openCall(
          undefined,
          name,
          args,
          callOptions.timeout,
          take,
          (ms) => reject(new CollectTimeoutError(name, entries(), missing(), ms)),
          reject,
        );
        void runHandler(name, args, info.id).then((outcome) => take(info.id, outcome));
      });
    },
    ask<T>(cluster: number, name: string, args?: unknown, callOptions: { timeout?: number } = {}) {
      if (cluster === info.id) return runHandler(name, args, info.id).then((outcome) => valueOf<T>(cluster, name, outcome));
      if (!Number.isSafeInteger(cluster) || cluster < 0 || (info.clusterCount !== null && cluster >= info.clusterCount)) {
        return Promise.reject(
          new RangeError(`mewld/client: no cluster ${cluster} in this bot (${info.clusterCount ?? 'an unknown number of'} clusters)`),
        );
      }
      return new Promise<T>((resolve, reject) => {
        const end = openCall(
          cluster,
          name,
          args,
          callOptions.timeout,
          (from, outcome) => {
            if (from !== cluster) return;
            end();
            try {
              resolve(valueOf<T>(cluster, name, outcome));
            } catch (err) {
              reject(err as Error);
            }
          },
          (ms) => reject(new RequestTimeoutError(`no answer from cluster ${cluster} to "${name}" within ${ms} ms`)),
          reject,
        );
      });
    },
    onAllClustersLaunched(handler) {
      launchedHandlers.add(handler);
      return () => void launchedHandlers.delete(handler);
    },
    exitForClose,
    exitOnFatalClose(gateway) {
      const onClose = (event: unknown) => {
        const code = closeCodeOf(event);
        if (code !== null) void exitForClose(code);
      };
      for (const name of CLOSE_EVENTS) gateway.on(name, onClose);
      return () => {
        for (const name of CLOSE_EVENTS) gateway.removeListener(name, onClose);
      };
    },
    close,
  };
}

/** What ask() resolves with: the handler's value; or the error that says why there is none. */
function valueOf<T>(cluster: number, name: string, outcome: CallOutcome): T {
  if ('value' in outcome) return outcome.value as T;
  throw outcome.code === 'no_handler' ? new NoHandlerError(cluster, name) : new HandlerError(cluster, name, outcome.error);
}

/** Without a health callback: every shard up, latency unknown. */
function defaultHealth(shards: number[]): ShardHealth[] {
  return shards.map((shard_id) => ({ shard_id, up: true, latency: null, guilds: null, users: null }));
}

function ipcTransport(onInbound: (inbound: ClusterInbound) => void, onGone: () => void): ClusterTransport {
  if (typeof process.send !== 'function') throw new Error('mewld/client: MEWLD_BUS is ipc but this process has no IPC channel');
  const listener = (message: unknown) => onInbound(interpretForCluster(message));
  process.on('message', listener);
  process.once('disconnect', onGone);
  return {
    send: (message) =>
      new Promise((resolve, reject) => {
        if (!process.connected) return reject(new Error('mewld/client: the IPC channel to the supervisor is closed'));
        process.send!(message, undefined, undefined, (err: Error | null) => (err ? reject(err) : resolve()));
      }),
    async close() {
      process.off('message', listener);
      process.off('disconnect', onGone);
      // Let the event loop end: the channel would keep it alive.
      if (process.connected) process.disconnect();
    },
  };
}

/**
 * Redis pub/sub. Under mewld (MEWLD_BUS=redis) on direct channels: what is for
 * the supervisor goes to `<channel>/launcher`, what is for this cluster alone
 * comes on `<channel>/<id>`, so that a large bot's clusters do not all wake for
 * every diagnostic and reply. Under the Go mewld, everything on the shared channel.
 */
async function redisTransport(
  channel: string,
  url: string,
  direct: { id: number } | undefined,
  onInbound: (inbound: ClusterInbound) => void,
  onStatus: (up: boolean) => void,
  expecting: (commandId: string) => boolean,
): Promise<ClusterTransport> {
  const { Redis } = await import('ioredis');
  const connectOptions = url.startsWith('unix://') ? { path: url.slice('unix://'.length) } : {};
  const make = () => {
    // Reconnect quickly after an outage: the supervisor's next diagnostic is on its way.
    const retryStrategy = (times: number) => Math.min(100 * times, 1000);
    const r = url.startsWith('unix://')
      ? new Redis({ ...connectOptions, retryStrategy, maxRetriesPerRequest: null })
      : new Redis(url, { retryStrategy, maxRetriesPerRequest: null });
    r.on('error', () => {}); // ioredis reconnects by itself; the status callbacks say what matters
    return r;
  };
  const sub = make();
  const pub = make();
  const own = direct ? clusterChannel(channel, direct.id) : undefined;
  sub.on('message', (c: string, raw: string) => {
    if (c !== channel && c !== own) return;
    // Every cluster receives every reply: those to others' requests are skipped unread.
    const reply = replyCommandId(raw);
    if (reply !== undefined && !expecting(reply)) return;
    try {
      onInbound(interpretForCluster(JSON.parse(raw)));
    } catch {
      // not JSON: not for us
    }
  });
  sub.on('ready', () => onStatus(true));
  sub.on('close', () => onStatus(false));
  await (own ? sub.subscribe(channel, own) : sub.subscribe(channel));
  return {
    async send(message) {
      if (direct && message.scope === 'launcher') {
        await pub.publish(launcherChannel(channel), JSON.stringify({ ...message, from: direct.id }));
      } else if (direct && message.scope === 'bot' && typeof message.to === 'number') {
        // For one cluster (a call, an answer): on its own channel, so that the others do not wake for it.
        await pub.publish(clusterChannel(channel, message.to), JSON.stringify(message));
      } else {
        await pub.publish(channel, JSON.stringify(message));
      }
    },
    async close() {
      sub.disconnect();
      await pub.quit().catch(() => {});
    },
  };
}
