import { afterAll, beforeAll } from 'vitest';
import { connectBus } from './busClient.js';
import { startRedis, type RedisServer } from './redis.js';
import { runSupervisor, stopAll, type RunningSupervisor } from './supervisor.js';

/** A cluster as `statuses` reports it (the fields the tests read). */
export interface ClusterStatus {
  active: boolean;
  status: string;
  name: string;
  pid: number | null;
  restarts: number;
  started_at: number;
  shard_list: number[];
  last_exit: { code: number | null; signal: string | null } | null;
  last_diag: { at: number; health: unknown[] } | null;
}

/**
 * One real redis-server for a test file, and supervisors on it, each on a
 * channel of its own; everything is stopped, and checked gone, after the file.
 */
export function redisHarness(name: string, defaults: Record<string, unknown> = {}) {
  let redis: RedisServer | undefined;
  const supervisors: RunningSupervisor[] = [];
  const buses: { close(): void }[] = [];
  let seq = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const bus of buses) bus.close();
    await stopAll(supervisors);
    await redis?.stop();
  });

  return {
    get redis(): RedisServer {
      if (!redis) throw new Error('redis-server is not started yet (use the harness inside tests)');
      return redis;
    },
    /**
     * Starts a supervisor on its own channel, with an operator's bus client on it;
     * unless told not to, waits until every cluster has heard all_clusters_launched.
     */
    async supervise(config: Record<string, unknown> = {}, env?: Record<string, string>, options: { waitForLaunch?: boolean } = {}) {
      const channel = `${name}-${process.pid}-${seq++}`;
      const full: Record<string, unknown> = { redis: this.redis.address, redis_channel: channel, ...defaults, ...config };
      const s = runSupervisor(full, env);
      supervisors.push(s);
      if (options.waitForLaunch ?? true) {
        const clusters = Math.ceil(Number(full.fixed_shard_count) / Number(full.per_cluster));
        await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === clusters);
      }
      const bus = await connectBus(this.redis.url, channel);
      buses.push(bus);
      const statuses = async () => (await bus.request('statuses')).output as Record<string, ClusterStatus>;
      return { s, bus, channel, statuses, status: async (id: number) => (await statuses())[String(id)]! };
    },
  };
}
