import type { Redis } from 'ioredis';
import type { Lease, LeaseStore } from '../../interfaces/leases.js';

/**
 * Leases in Redis (docs/scale-out.md): `<prefix>/lease/<name>` holds
 * `<holder>:<fence>` with a time to live; `<prefix>/fence/<name>` counts the
 * holders there have been. Each operation is one Lua script, so that no two
 * nodes can both see a lease free and both take it.
 */

// KEYS[1] lease, KEYS[2] fence counter; ARGV[1] holder, ARGV[2] ttl ms.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence`;

// KEYS[1] lease; ARGV[1] holder:fence, ARGV[2] ttl ms.
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS[1] lease, KEYS[2] fence counter; ARGV[1] holder:fence, ARGV[2] ttl ms, ARGV[3] fence.
// Gone and no later fence given: ours again. Present: only if it is still ours.
const REASSERT = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if held then return 0 end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if last > tonumber(ARGV[3]) then return 0 end
if last < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS[1] lease; ARGV[1] holder:fence.
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/** `redis` is a command connection (not one in subscriber mode). */
export function redisLeaseStore(redis: Redis, prefix: string): LeaseStore {
  const lease = (name: string) => `${prefix}/lease/${name}`;
  const fence = (name: string) => `${prefix}/fence/${name}`;
  const run = (script: string, keys: string[], args: (string | number)[]) => redis.eval(script, keys.length, ...keys, ...args);
  return {
    async acquire(name, holder, ttlMs) {
      const got = await run(ACQUIRE, [lease(name), fence(name)], [holder, Math.ceil(ttlMs)]);
      return got === null ? null : Number(got);
    },
    async renew(name, holder, f, ttlMs) {
      return (await run(RENEW, [lease(name)], [`${holder}:${f}`, Math.ceil(ttlMs)])) === 1;
    },
    async reassert(name, holder, f, ttlMs) {
      return (await run(REASSERT, [lease(name), fence(name)], [`${holder}:${f}`, Math.ceil(ttlMs), f])) === 1;
    },
    async release(name, holder, f) {
      return (await run(RELEASE, [lease(name)], [`${holder}:${f}`])) === 1;
    },
    async read(name) {
      return parseLease(await redis.get(lease(name)));
    },
  };
}

/** `<holder>:<fence>`, the holder possibly holding colons of its own. */
export function parseLease(value: string | null): Lease | null {
  if (value === null) return null;
  const at = value.lastIndexOf(':');
  const fence = Number(value.slice(at + 1));
  return at > 0 && Number.isSafeInteger(fence) ? { holder: value.slice(0, at), fence } : null;
}
