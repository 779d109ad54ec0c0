import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileHistoryStore } from '../src/adapters/history/file.js';
import { historyKey, redisHistoryStore } from '../src/adapters/history/redis.js';
import type { HistoryStore, SavedHistory } from '../src/interfaces/history.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

/**
 * One contract, every history store (as the buses have theirs): a real
 * redis-server and a real directory. Each case makes a "run" of a bot (a
 * store on a namespace: a channel, a run directory), saves, and reads back
 * through a fresh store on the same namespace, as the next run does.
 */

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

interface Backend {
  /** A store of bot `namespace`, as a new run opens it. */
  open(namespace: string): HistoryStore;
  /** Writes raw text where bot `namespace`'s history is kept (as someone else might). */
  corrupt(namespace: string, text: string): Promise<void>;
}

let seq = 0;
const backends: [string, () => Backend][] = [
  [
    'redis',
    () => {
      const prefix = `history-${process.pid}-${seq++}`;
      const client = redis.client();
      return {
        open: (namespace) => redisHistoryStore(redis.client(), `${prefix}-${namespace}`),
        corrupt: async (namespace, text) => void (await client.set(historyKey(`${prefix}-${namespace}`), text)),
      };
    },
  ],
  [
    'file',
    () => {
      const root = mkdtempSync(join(tmpdir(), 'mewld-history-'));
      return {
        open: (namespace) => fileHistoryStore(join(root, namespace)),
        corrupt: async (namespace, text) => {
          const store = fileHistoryStore(join(root, namespace));
          await store.save(history(0)); // makes the directory
          writeFileSync(join(root, namespace, 'history.json'), text);
        },
      };
    },
  ],
];

function history(crashes: number, overrides: Partial<SavedHistory> = {}): SavedHistory {
  return {
    savedAt: 1_700_000_000_000,
    clusters: {
      0: {
        restarts: { crash: crashes, hang: 1, operator: 2, rollout: 3 },
        exits: [{ code: null, signal: 'SIGKILL', at: 1_699_999_999_000 }],
      },
      3: { restarts: { crash: 0, hang: 0, operator: 0, rollout: 0 }, exits: [] },
    },
    series: {
      period_ms: 30_000,
      bot: { end: 1_699_999_980_000, latency_ms: [40.5, null, 42], guilds: [1000, null, 1003] },
      clusters: { 0: { end: 1_699_999_980_000, latency_ms: [40.5], guilds: [500] } },
    },
    actionLog: [{ event: 'cluster_died', id: 0, reason: 'exited', code: null, signal: 'SIGKILL', ts: 1_699_999_999_000_000 }],
    ...overrides,
  };
}

describe.each(backends)('the %s history store', (_name, makeBackend) => {
  it('has nothing for a bot that never saved', async () => {
    expect(await makeBackend().open('a').load()).toBeNull();
  });

  it('gives the next run what the last one saved, as it was', async () => {
    const backend = makeBackend();
    await backend.open('a').save(history(4));
    expect(await backend.open('a').load()).toEqual(history(4));
  });

  it('keeps the latest save: each replaces the one before', async () => {
    const backend = makeBackend();
    const store = backend.open('a');
    await store.save(history(1));
    await store.save(history(2, { series: null, actionLog: null }));
    expect(await backend.open('a').load()).toEqual(history(2, { series: null, actionLog: null }));
  });

  it("keeps two bots apart (two channels on one Redis, two configs' run directories)", async () => {
    const backend = makeBackend();
    await backend.open('a').save(history(1));
    await backend.open('b').save(history(2));
    expect((await backend.open('a').load())!.clusters[0]!.restarts.crash).toBe(1);
    expect((await backend.open('b').load())!.clusters[0]!.restarts.crash).toBe(2);
  });

  it('reads what is not a history as none, and leaves out figures that cannot be true', async () => {
    const backend = makeBackend();
    for (const text of ['', 'not json', '[1,2]', '{"clusters":{}}', '{'.repeat(100_000)]) {
      await backend.corrupt('a', text);
      expect(await backend.open('a').load(), text.slice(0, 20)).toBeNull();
    }
    const tampered = {
      savedAt: 5,
      clusters: {
        0: { restarts: { crash: -1, hang: 0, operator: 0, rollout: 0 }, exits: [] },
        1: { restarts: { crash: 1, hang: 0, operator: 0, rollout: 0 }, exits: [{ at: 'yesterday' }, { code: 1, signal: null, at: 3 }] },
        x: { restarts: { crash: 1, hang: 0, operator: 0, rollout: 0 }, exits: [] },
      },
      series: { period_ms: 30_000, bot: { end: 0, latency_ms: [1, -5, 'fast'], guilds: [1, 2, 3] }, clusters: {} },
      actionLog: [{ event: 'ok' }, 'not an entry', null],
    };
    await backend.corrupt('a', JSON.stringify(tampered));
    expect(await backend.open('a').load()).toEqual({
      savedAt: 5,
      clusters: { 1: { restarts: { crash: 1, hang: 0, operator: 0, rollout: 0 }, exits: [{ code: 1, signal: null, at: 3 }] } },
      series: { period_ms: 30_000, bot: { end: 0, latency_ms: [1, null, null], guilds: [1, 2, 3] }, clusters: {} },
      actionLog: [{ event: 'ok' }],
    });
  });

  it('saves and loads a large bot: 1,000 clusters with an hour of samples each', async () => {
    const backend = makeBackend();
    const points = Array.from({ length: 120 }, (_, i) => (i % 7 === 0 ? null : i));
    const big = history(1);
    for (let id = 0; id < 1000; id++) {
      big.clusters[id] = { restarts: { crash: id, hang: 0, operator: 0, rollout: 0 }, exits: [{ code: 1, signal: null, at: id }] };
      big.series!.clusters[id] = { end: 1_700_000_000_000, latency_ms: points, guilds: points };
    }
    await backend.open('a').save(big);
    expect(await backend.open('a').load()).toEqual(big);
  });
});
