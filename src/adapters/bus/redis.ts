import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { actionLogKey, clusterChannel, clusterKey, decodeMessage, goJson, launcherChannel, withinDepth } from '../../protocol/index.js';
import type { BusAdapter } from '../../interfaces/busAdapter.js';
import type { Session } from '../../interfaces/sessions.js';
import { busActor, listeners, type Transport } from './busActor.js';
import { redisHistoryStore } from '../history/redis.js';
import { limitedWarnings, type Logger } from '../logger.js';
import { processInfo } from '../runFiles.js';

export interface RedisBusOptions {
  /** redis://host:port/db, rediss://..., host:port (as the Go config wrote it) or a unix socket path. */
  url: string;
  channel: string;
  actionLogMax: number;
  maxMessageBytes?: number;
  /** This run of the supervisor: names its private barrier channel. */
  runId?: string;
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
export function createRedisBus(options: RedisBusOptions, logger: Logger): BusAdapter {
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
  const launcher = launcherChannel(options.channel);
  // The supervisor's own: it publishes a marker here and knows it has read everything before it when the marker comes back.
  const barrierChannel = `${options.channel}/barrier/${options.runId ?? randomBytes(8).toString('hex')}`;
  let barrierSeq = 0;
  const barriers = new Map<number, () => void>();
  // Never leaves this process but in cluster processes' environments: each cluster's key is derived from it.
  const runSecret = randomBytes(32).toString('hex');
  const actionLogListeners = listeners<Record<string, unknown>>();
  const warn = limitedWarnings(log);
  const claim = busClaim(pub, options.channel, options.runId ?? randomBytes(8).toString('hex'));

  const transport: Transport = {
    listen(onMessage, onStatus, onRefused) {
      // Up once subscribed, able to publish (a diagnostic sent before that would lose its
      // answer) and holding the bus (no other supervisor runs it); down when either connection is lost.
      let subscribed = false;
      let claimed = false;
      const report = () => {
        if (subscribed && pub.status === 'ready' && claimed) onStatus(true);
      };
      const stopClaim = claim.hold(
        () => {
          claimed = true;
          report();
        },
        (reason) => {
          claimed = false;
          onRefused(reason);
        },
        (err) => warn('claim', {}, `could not renew the claim on the bus: ${err.message}`),
      );
      const lost = () => onStatus(false);
      const message = (channel: string, raw: string) => {
        if (channel === options.channel) {
          onMessage(raw, undefined);
        } else if (channel === launcher) {
          // From a cluster on mewld/client: it says who it is (`from`), which only a proof can confirm.
          const decoded = decodeMessage(raw, options.maxMessageBytes);
          if (!decoded.ok) return onMessage(raw, undefined); // the protocol's parsing rejects it, saying why
          const from = (decoded.json as { from?: unknown } | null)?.from;
          const sender = Number.isInteger(from) && (from as number) >= 0 ? { id: from as number, proven: false } : undefined;
          onMessage(decoded.json, sender);
        } else if (channel === barrierChannel) {
          const seq = Number(raw);
          for (const [n, resolve] of barriers) {
            if (n > seq) break;
            barriers.delete(n);
            resolve();
          }
        }
      };
      const ready = () =>
        void sub.subscribe(options.channel, launcher, barrierChannel).then(
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
        stopClaim();
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
        'to' in recipient && recipient.to !== 'all' && recipient.ownChannel
          ? clusterChannel(options.channel, recipient.to)
          : options.channel;
      pub.publish(to, goJson(message)).catch((err: Error) => log.error({ err: err.message }, 'could not publish'));
    },
    // Redis hands a subscriber its messages in the order it took them, whatever the channel: a
    // marker published now comes back after every message published before it.
    barrier: () =>
      new Promise<void>((resolve, reject) => {
        const seq = ++barrierSeq;
        barriers.set(seq, resolve);
        pub.publish(barrierChannel, String(seq)).catch((err: Error) => {
          barriers.delete(seq);
          reject(err);
        });
      }),
    writeActionLog(entry) {
      pub.eval(APPEND_ACTION_LOG, 1, key, goJson(entry), options.actionLogMax).then(
        (converted) => {
          if (converted === 1) sayConverted();
        },
        // Never silently: a refused write is an entry lost, and the operator must hear of it.
        (err: Error) => warn('action_log_write', { key }, `could not write the action log ${key}: ${err.message}`),
      );
    },
  };

  // The Go mewld (since 2024) SETs its last entry as a string at the same key: turned into the list, that entry first.
  const sayConverted = () =>
    log.warn({ key }, `${key} held the Go mewld's action log (its last entry, a string): it is now a list, with that entry first`);
  const convertGoActionLog = () =>
    pub.eval(CONVERT_GO_ACTION_LOG, 1, key).then(
      (converted) => {
        if (converted === 1) sayConverted();
      },
      (err: Error) => warn('action_log_convert', { key }, `could not read the action log ${key}: ${err.message}`),
    );
  pub.on('ready', () => void convertGoActionLog());

  /** The action log's last `limit` entries; anyone on the server may have written there: what is not an entry, or is nested too deep, is left out. */
  const readActionLog = async (limit = options.actionLogMax): Promise<Record<string, unknown>[]> => {
    let rows: string[];
    try {
      await convertGoActionLog();
      rows = await pub.lrange(key, -limit, -1);
    } catch (err) {
      warn('action_log_read', { key }, `could not read the action log ${key}: ${(err as Error).message}`);
      return [];
    }
    // Anyone on the server may have written there: what is not an entry, or is nested too deep to show, is left out.
    let skipped = 0;
    const entries = rows.flatMap((row) => {
      const decoded = decodeMessage(row, options.maxMessageBytes);
      if (
        decoded.ok &&
        typeof decoded.json === 'object' &&
        decoded.json !== null &&
        !Array.isArray(decoded.json) &&
        withinDepth(decoded.json)
      )
        return [decoded.json as Record<string, unknown>];
      skipped++;
      return [];
    });
    if (skipped > 0) warn('action_log_entry', { key, skipped }, `left out ${skipped} entries of ${key} that are not action log entries`);
    return entries;
  };

  return {
    kind: 'redis',
    actor: busActor(transport, log, {
      ...options,
      onActionLog: actionLogListeners.notify,
      clusterKey: (id) => clusterKey(runSecret, id),
    }),
    link: {
      env: (id) => ({
        MEWLD_BUS: 'redis',
        MEWLD_REDIS_URL: redisUrlForClusters(options.url),
        MEWLD_CHANNEL: options.channel,
        MEWLD_CLUSTER_KEY: clusterKey(runSecret, id),
      }),
      ipc: false,
      // Clusters reach Redis by themselves.
      attach() {},
    },
    actionLog: { recent: readActionLog, subscribe: actionLogListeners.subscribe },
    // Kept in Redis: a session outlives the supervisor's restart. Only hashes of the ids are keys.
    sessions: {
      async get(id) {
        const raw = await pub.get(`${options.channel}/session/${id}`);
        let session: Session | undefined;
        try {
          session = raw === null ? undefined : (JSON.parse(raw) as Session);
        } catch {
          return undefined; // not one this supervisor wrote: no session
        }
        return session && typeof session === 'object' && typeof session.expires === 'number' ? session : undefined;
      },
      async set(id, session) {
        const ttl = Math.max(1, session.expires - Date.now());
        await pub.set(`${options.channel}/session/${id}`, JSON.stringify(session), 'PX', ttl);
      },
      async delete(id) {
        await pub.del(`${options.channel}/session/${id}`);
      },
    },
    history: redisHistoryStore(pub, options.channel),
    async publish(raw) {
      await pub.publish(options.channel, raw);
    },
    async close() {
      await claim.release().catch(() => {});
      sub.disconnect();
      // QUIT after what is queued, but do not hang on a Redis that is gone.
      await Promise.race([pub.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
      pub.disconnect();
    },
  };
}

/** How long a claim on the bus lasts unless renewed (a third of it): a supervisor killed on another machine frees the bus after this. */
export const CLAIM_TTL_MS = 15_000;

// Renews (or gives up) the claim only while it is still this run's.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const TAKE_OVER = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

interface ClaimHolder {
  host: string;
  pid: number;
  startTime: number;
  runId: string;
}

/**
 * One supervisor per bus (Redis server and channel), whatever its config file
 * and machine: two would launch every cluster twice. `<channel>/supervisor`
 * holds the run that has the bus, with a TTL it renews. A claim left by a
 * supervisor of this machine that is gone (killed) is taken over at once;
 * one from another machine once it expires.
 */
function busClaim(redis: Redis, channel: string, runId: string) {
  const key = `${channel}/supervisor`;
  const me: ClaimHolder = { host: hostname(), pid: process.pid, startTime: processInfo(process.pid)?.startTime ?? 0, runId };
  const value = JSON.stringify(me);

  const describe = (raw: string | null) => {
    const other = parseHolder(raw);
    return other ? `pid ${other.pid} on ${other.host} (run ${other.runId})` : `an unknown holder (${String(raw).slice(0, 80)})`;
  };
  /** true: ours; otherwise why not. */
  const take = async (): Promise<true | string> => {
    if ((await redis.set(key, value, 'PX', CLAIM_TTL_MS, 'NX')) === 'OK') return true;
    const current = await redis.get(key);
    if (current === value) return true;
    if (current === null) return take();
    const other = parseHolder(current);
    const gone = other !== undefined && other.host === me.host && processInfo(other.pid)?.startTime !== other.startTime;
    if (gone && (await redis.eval(TAKE_OVER, 1, key, current, value, CLAIM_TTL_MS)) === 1) return true;
    return `another supervisor runs the bus ${channel} on this Redis: ${describe(current)}; stop it first (two would run every shard twice)`;
  };

  return {
    /** Takes the claim and keeps it: `onHeld` once it is this run's, `onRefused` when it is another's. */
    hold(onHeld: () => void, onRefused: (reason: string) => void, onError: (err: Error) => void) {
      let held = false;
      let stopped = false;
      const attempt = async () => {
        try {
          if (held) {
            if ((await redis.eval(RENEW, 1, key, value, CLAIM_TTL_MS)) === 1) return;
            held = false; // expired (Redis restarted, or this process was frozen): take it again, if no one else has
          }
          const result = await take();
          if (stopped) return;
          if (result === true) {
            held = true;
            onHeld();
          } else {
            stopped = true;
            clearInterval(timer);
            onRefused(result);
          }
        } catch (err) {
          onError(err as Error);
        }
      };
      const timer = setInterval(() => void attempt(), CLAIM_TTL_MS / 3);
      timer.unref();
      const ready = () => void attempt();
      redis.on('ready', ready);
      if (redis.status === 'ready') ready();
      return () => {
        stopped = true;
        clearInterval(timer);
        redis.off('ready', ready);
      };
    },
    release: () => redis.eval(RELEASE, 1, key, value),
  };
}

function parseHolder(raw: string | null): ClaimHolder | undefined {
  try {
    const holder = JSON.parse(raw ?? '') as ClaimHolder;
    return typeof holder?.pid === 'number' && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** A Go-era action log (a string) becomes the list, its entry first; 1 when it did. */
const CONVERT_GO_ACTION_LOG = `
if redis.call('type', KEYS[1]).ok == 'string' then
  local old = redis.call('get', KEYS[1])
  redis.call('del', KEYS[1])
  redis.call('rpush', KEYS[1], old)
  return 1
end
return 0`;

/** Appends an entry and keeps the last ARGV[2], converting a Go-era string first; refuses any other type, with what it is. */
const APPEND_ACTION_LOG = `
local kind = redis.call('type', KEYS[1]).ok
local converted = 0
if kind == 'string' then
  local old = redis.call('get', KEYS[1])
  redis.call('del', KEYS[1])
  redis.call('rpush', KEYS[1], old)
  converted = 1
elseif kind ~= 'list' and kind ~= 'none' then
  return redis.error_reply('it is a ' .. kind .. ', not a list')
end
redis.call('rpush', KEYS[1], ARGV[1])
redis.call('ltrim', KEYS[1], -tonumber(ARGV[2]), -1)
return converted`;
