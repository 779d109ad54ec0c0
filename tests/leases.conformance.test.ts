import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLeaseStore } from '../src/adapters/leases/memory.js';
import { redisLeaseStore } from '../src/adapters/leases/redis.js';
import type { LeaseStore } from '../src/interfaces/leases.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

/**
 * One contract, every lease store (docs/scale-out.md): a real redis-server,
 * and the in-process store on the real clock. Times to live are short and
 * waited out for real; a renewal or a second acquire right after an acquire
 * is well within them.
 */

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

let seq = 0;
const stores: [string, () => LeaseStore][] = [
  ['redis', () => redisLeaseStore(redis.client(), `leases-${process.pid}-${seq++}`)],
  ['memory', () => memoryLeaseStore()],
];

const TTL = 60_000;
const SHORT = 150;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(stores)('the %s lease store', (_, open) => {
  it('gives a free lease to one holder, with fence 1, and refuses it to the others while it is held', async () => {
    const leases = open();
    expect(await leases.read('3')).toBeNull();
    expect(await leases.acquire('3', 'node-a', TTL)).toBe(1);
    expect(await leases.acquire('3', 'node-b', TTL)).toBeNull();
    expect(await leases.acquire('3', 'node-a', TTL)).toBeNull();
    expect(await leases.read('3')).toEqual({ holder: 'node-a', fence: 1 });
    // Another name is another lease.
    expect(await leases.acquire('4', 'node-b', TTL)).toBe(1);
  });

  it('of many nodes asking at once, exactly one gets it', async () => {
    const leases = open();
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => leases.acquire('7', `node-${i}`, TTL)));
    expect(got.filter((f) => f !== null)).toEqual([1]);
    expect((await leases.read('7'))?.holder).toBe(`node-${got.indexOf(1)}`);
  });

  it('renews only for its holder with its fence', async () => {
    const leases = open();
    await leases.acquire('1', 'node-a', SHORT);
    expect(await leases.renew('1', 'node-a', 1, TTL)).toBe(true);
    expect(await leases.renew('1', 'node-a', 2, TTL)).toBe(false);
    expect(await leases.renew('1', 'node-b', 1, TTL)).toBe(false);
    // Renewed for TTL: it outlives its first time to live.
    await wait(SHORT * 2);
    expect(await leases.read('1')).toEqual({ holder: 'node-a', fence: 1 });
  });

  it('expires unrenewed; the next holder gets a higher fence, and the old one can no longer renew or release it', async () => {
    const leases = open();
    expect(await leases.acquire('2', 'node-a', SHORT)).toBe(1);
    await wait(SHORT * 2);
    expect(await leases.read('2')).toBeNull();
    expect(await leases.renew('2', 'node-a', 1, TTL)).toBe(false);
    expect(await leases.acquire('2', 'node-b', TTL)).toBe(2);
    expect(await leases.renew('2', 'node-a', 1, TTL)).toBe(false);
    expect(await leases.release('2', 'node-a', 1)).toBe(false);
    expect(await leases.read('2')).toEqual({ holder: 'node-b', fence: 2 });
  });

  it('is released only by its holder with its fence; then the next holder gets the next fence', async () => {
    const leases = open();
    await leases.acquire('5', 'node-a', TTL);
    expect(await leases.release('5', 'node-b', 1)).toBe(false);
    expect(await leases.release('5', 'node-a', 2)).toBe(false);
    expect(await leases.release('5', 'node-a', 1)).toBe(true);
    expect(await leases.read('5')).toBeNull();
    expect(await leases.acquire('5', 'node-b', TTL)).toBe(2);
  });

  it('is re-asserted by its holder when it was lost and nobody took it since; not when somebody did', async () => {
    const leases = open();
    await leases.acquire('6', 'node-a', SHORT);
    await wait(SHORT * 2);
    // Gone (as a write a failover lost): its holder sets it back, with its fence.
    expect(await leases.reassert('6', 'node-a', 1, TTL)).toBe(true);
    expect(await leases.read('6')).toEqual({ holder: 'node-a', fence: 1 });
    // Still held: re-asserting is renewing.
    expect(await leases.reassert('6', 'node-a', 1, TTL)).toBe(true);
    expect(await leases.reassert('6', 'node-b', 1, TTL)).toBe(false);

    await leases.acquire('8', 'node-a', SHORT);
    await wait(SHORT * 2);
    await leases.acquire('8', 'node-b', SHORT);
    expect(await leases.reassert('8', 'node-a', 1, TTL)).toBe(false);
    await wait(SHORT * 2);
    // node-b's fence 2 was given, even though its lease is gone too: node-a's 1 is over.
    expect(await leases.reassert('8', 'node-a', 1, TTL)).toBe(false);
    expect(await leases.reassert('8', 'node-b', 2, TTL)).toBe(true);
  });

  it('keeps a holder name with colons in it whole', async () => {
    const leases = open();
    await leases.acquire('9', 'host:with:colons', TTL);
    expect(await leases.read('9')).toEqual({ holder: 'host:with:colons', fence: 1 });
    expect(await leases.renew('9', 'host:with:colons', 1, TTL)).toBe(true);
  });
});
