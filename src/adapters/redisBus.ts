import { Redis, type RedisOptions } from 'ioredis';
import { fromCallback, type CallbackActorLogic } from 'xstate';
import type { ActionLogEntry, BusCommand, BusEvent } from '../machines/orchestratorMachine.js';
import {
  actionLogKey,
  busOutput,
  formatActionLog,
  formatBroadcast,
  formatDiagRequest,
  formatReply,
  parseInbound,
  randomLetters,
  type Inbound,
} from '../protocol/index.js';
import type { Logger } from './logger.js';

/**
 * A message bus as the orchestrator sees it: an actor that turns messages into
 * events and the orchestrator's requests into messages, plus what lives
 * outside the machine's life (reading the action log, closing connections).
 */
export interface Bus {
  actor: CallbackActorLogic<BusCommand, void, BusEvent>;
  /** The most recent action log entries, oldest first. */
  actionLogs(limit?: number): Promise<Record<string, unknown>[]>;
  /** Flushes what is queued (the reply to `shutdown`, say) and disconnects. */
  close(): Promise<void>;
}

export interface RedisBusOptions {
  /** redis://host:port/db, rediss://..., host:port (as the Go config wrote it) or a unix socket path. */
  url: string;
  channel: string;
  actionLogMax: number;
  maxMessageBytes?: number;
}

/** Reads the config's `redis` value the way the Go version did (host:port) and as URLs. */
export function redisConnectionOptions(url: string): RedisOptions {
  if (url.startsWith('/')) return { path: url };
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length) };
  const withScheme = /^[a-z]+:\/\//i.test(url) ? url : `redis://${url}`;
  const u = new URL(withScheme);
  const options: RedisOptions = { host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) options.db = Number(db);
  if (u.protocol === 'rediss:') options.tls = {};
  return options;
}

/** The address clusters get in MEWLD_REDIS_URL: always a URL. */
export function redisUrlForClusters(url: string): string {
  if (url.startsWith('/')) return `unix://${url}`;
  return /^[a-z]+:\/\//i.test(url) ? url : `redis://${url}`;
}

/**
 * The Redis bus: pub/sub on one channel, one connection to listen and one to
 * publish (a subscribed connection cannot publish), the action log in the
 * list `<channel>/actlogs`. Diagnostic answers carry no cluster id, so the
 * bus remembers which cluster each outstanding nonce was sent to, one per
 * cluster: a new diagnostic replaces the old, and the map stays bounded.
 */
export function createRedisBus(options: RedisBusOptions, logger: Logger): Bus {
  const log = logger.child({ component: 'redis' });
  const base: RedisOptions = {
    ...redisConnectionOptions(options.url),
    // Keep retrying while Redis is away; commands wait in the offline queue.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  };
  let lastError = '';
  const connect = (role: string) => {
    const redis = new Redis({ ...base, connectionName: `mewld-${role}` });
    redis.on('error', (err: Error) => {
      // One line per distinct error, not one per retry.
      if (err.message !== lastError) log.error({ role }, `redis: ${err.message}`);
      lastError = err.message;
    });
    return redis;
  };
  const sub = connect('subscriber');
  const pub = connect('publisher');
  const key = actionLogKey(options.channel);
  const publish = (message: string) =>
    pub.publish(options.channel, message).catch((err: Error) => log.error({ err: err.message }, 'could not publish'));

  const actor = fromCallback<BusCommand, void, BusEvent>(({ sendBack, receive }) => {
    const clusterOfNonce = new Map<string, number>();
    const nonceOfCluster = new Map<number, string>();
    let up = true;
    let stopped = false;
    const setUp = (value: boolean) => {
      if (stopped || up === value) return;
      up = value;
      sendBack({ type: value ? 'BUS.UP' : 'BUS.DOWN' });
    };

    const handle = (inbound: Inbound, raw: string) => {
      switch (inbound.kind) {
        case 'ignored':
          return;
        case 'invalid':
          log.warn({ reason: inbound.reason, message: raw.slice(0, 200) }, `rejected a message on ${options.channel}: ${inbound.reason}`);
          if (inbound.commandId !== undefined) void publish(formatReply(inbound.commandId, `invalid request: ${inbound.reason}`));
          return;
        case 'command': {
          const event = { type: `command.${inbound.action}`, replyTo: 'bus' } as Record<string, unknown>;
          if (inbound.id !== undefined) event.id = inbound.id;
          if (inbound.commandId !== undefined) event.commandId = inbound.commandId;
          sendBack(event as BusEvent);
          return;
        }
        case 'launch_next':
          sendBack({ type: 'BUS.LAUNCH_NEXT', id: inbound.id, at: Date.now() });
          return;
        case 'action_log':
          void writeActionLog(inbound.data);
          return;
        case 'diag': {
          const id = clusterOfNonce.get(inbound.nonce);
          if (id === undefined) {
            log.warn({ nonce: inbound.nonce }, 'ignored a diagnostic answer with an unknown or stale nonce');
            return;
          }
          clusterOfNonce.delete(inbound.nonce);
          nonceOfCluster.delete(id);
          sendBack({ type: 'BUS.DIAG_ANSWER', id, nonce: inbound.nonce, health: inbound.health, at: Date.now() });
        }
      }
    };

    const onMessage = (channel: string, raw: string) => {
      if (channel === options.channel) handle(parseInbound(raw, options.maxMessageBytes), raw);
    };
    // Up only once subscribed: a diagnostic sent before that would lose its answer.
    const onReady = () =>
      void sub.subscribe(options.channel).then(
        () => setUp(true),
        (err: Error) => log.error({ err: err.message }, `could not subscribe to ${options.channel}`),
      );
    const onClose = () => setUp(false);
    sub.on('message', onMessage);
    sub.on('ready', onReady);
    sub.on('close', onClose);
    if (sub.status === 'ready') onReady();

    receive((command) => {
      switch (command.type) {
        case 'DIAG_REQUEST': {
          const previous = nonceOfCluster.get(command.id);
          if (previous !== undefined) clusterOfNonce.delete(previous);
          nonceOfCluster.set(command.id, command.nonce);
          clusterOfNonce.set(command.nonce, command.id);
          void publish(formatDiagRequest(command.id, command.nonce));
          return;
        }
        case 'REPLY':
          void publish(formatReply(command.commandId, busOutput(command.action, command.result)));
          return;
        case 'ANNOUNCE':
          void publish(formatBroadcast(command.action, randomLetters(16)));
          return;
        case 'ACTION_LOG':
          void writeActionLog(command.entry);
      }
    });

    return () => {
      stopped = true;
      sub.off('message', onMessage);
      sub.off('ready', onReady);
      sub.off('close', onClose);
    };
  });

  const writeActionLog = async (entry: ActionLogEntry | Record<string, unknown>) => {
    try {
      await pub.multi().rpush(key, formatActionLog(entry)).ltrim(key, -options.actionLogMax, -1).exec();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not write the action log');
    }
  };

  return {
    actor,
    async actionLogs(limit = options.actionLogMax) {
      const rows = await pub.lrange(key, -limit, -1);
      return rows.flatMap((row) => {
        try {
          return [JSON.parse(row) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    },
    async close() {
      sub.disconnect();
      // QUIT after what is queued, but do not hang on a Redis that is gone.
      await Promise.race([pub.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
      pub.disconnect();
    },
  };
}
