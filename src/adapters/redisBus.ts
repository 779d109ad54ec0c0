import { Redis, type RedisOptions } from 'ioredis';
import { actionLogKey, clusterChannel, decodeMessage, goJson, launcherChannel } from '../protocol/index.js';
import { busActor, listeners, type Bus, type Transport } from './bus.js';
import type { Logger } from './logger.js';

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
  const u = new URL(redisUrlForClusters(url));
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
 * list `<channel>/actlogs`. It is the production bus, the only one that works
 * across machines and languages. Every cluster sees every message on the
 * channel, so replies and broadcasts are simply published.
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
  const direct = { launcher: launcherChannel(options.channel), clusters: new Set<number>() };
  const actionLogListeners = listeners<Record<string, unknown>>();

  const transport: Transport = {
    listen(onMessage, onStatus) {
      // Up once subscribed and able to publish (a diagnostic sent before that would lose its
      // answer); down when either connection is lost.
      let subscribed = false;
      const report = () => {
        if (subscribed && pub.status === 'ready') onStatus(true);
      };
      const lost = () => onStatus(false);
      const message = (channel: string, raw: string) => {
        if (channel === options.channel) {
          onMessage(raw, undefined);
        } else if (channel === direct.launcher) {
          // From a cluster on a direct channel: it says who it is, and gets its answers on its own channel.
          const decoded = decodeMessage(raw, options.maxMessageBytes);
          if (!decoded.ok) return onMessage(raw, undefined); // the protocol's parsing rejects it, saying why
          const from = (decoded.json as { from?: unknown } | null)?.from;
          const sender = Number.isInteger(from) && (from as number) >= 0 ? (from as number) : undefined;
          if (sender !== undefined) direct.clusters.add(sender);
          onMessage(decoded.json, sender);
        }
      };
      const ready = () =>
        void sub.subscribe(options.channel, direct.launcher).then(
          () => {
            subscribed = true;
            report();
          },
          (err: Error) => log.error({ err: err.message }, `could not subscribe to ${options.channel}`),
        );
      const close = () => {
        subscribed = false;
        lost();
      };
      sub.on('message', message);
      sub.on('ready', ready);
      sub.on('close', close);
      pub.on('ready', report);
      pub.on('close', lost);
      if (sub.status === 'ready') ready();
      return () => {
        sub.off('message', message);
        sub.off('ready', ready);
        sub.off('close', close);
        pub.off('ready', report);
        pub.off('close', lost);
      };
    },
    send(message, recipient) {
      // To one cluster: on its own channel when it listens there, else on the shared one (it filters).
      const to =
        'to' in recipient && recipient.to !== 'all' && direct.clusters.has(recipient.to)
          ? clusterChannel(options.channel, recipient.to)
          : options.channel;
      pub.publish(to, goJson(message)).catch((err: Error) => log.error({ err: err.message }, 'could not publish'));
    },
    writeActionLog(entry) {
      pub
        .multi()
        .rpush(key, goJson(entry))
        .ltrim(key, -options.actionLogMax, -1)
        .exec()
        .catch((err: Error) => log.error({ err: err.message }, 'could not write the action log'));
    },
  };

  return {
    kind: 'redis',
    actor: busActor(transport, log, { ...options, onActionLog: actionLogListeners.notify }),
    onActionLog: actionLogListeners.subscribe,
    clusterEnv: { MEWLD_BUS: 'redis', MEWLD_REDIS_URL: redisUrlForClusters(options.url), MEWLD_CHANNEL: options.channel },
    ipc: false,
    attach() {},
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
