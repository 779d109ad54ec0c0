import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { eventually, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * What outlives a restart of the supervisor (docs/operations.md): restart
 * counts by cause, last exits and the charts, in Redis on the Redis bus and
 * in the run directory on the IPC bus, with the IPC bus's action log. A real
 * supervisor is stopped and started again on the same config.
 */

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
const running: RunningSupervisor[] = [];
afterAll(async () => {
  await stopAll(running);
  await redis.stop();
});

type Counts = { crash: number; hang: number; operator: number; rollout: number };
type Exit = { code: number | null; signal: string | null; at: number };
type ApiCluster = { id: number; state: string; pid: number | null; restarts: number; restarts_by_cause: Counts; last_exit: Exit | null };
type Point = { t: number; latency_ms: number | null; guilds: number | null };
type Series = { period_ms: number; points: Point[] };
type ClusterHistory = Series & { id: number; restarts: number; restarts_by_cause: Counts; last_exits: Exit[] };

const channel = `history-${process.pid}`;
const buses: [string, () => Record<string, unknown>][] = [
  ['redis', () => ({ redis: redis.url, redis_channel: channel })],
  ['ipc', () => ({})],
];

async function api(s: RunningSupervisor) {
  const web = await s.web();
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(new URL(path, web.base), { headers: web.auth });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const post = (path: string) => fetch(new URL(path, web.base), { method: 'POST', headers: web.auth });
  const clusters = async () => (await get<{ clusters: ApiCluster[] }>('/api/clusters')).clusters;
  const running = (id: number) =>
    eventually(
      async () => (await clusters()).find((c) => c.id === id && c.state === 'running' && c.pid !== null),
      20_000,
      `cluster ${id} running`,
    );
  return { get, post, clusters, running };
}

describe.each(buses)('on the %s bus', (bus, busConfig) => {
  it('restart counts by cause, last exits, the charts (and the action log) are back after a restart of the supervisor', async () => {
    const config = {
      ...busConfig(),
      module: 'client_cluster.mjs',
      fixed_shard_count: 4,
      per_cluster: 2,
      ping_interval: 0.5,
      history_interval: 0.5,
      web: { port: 0 },
    };
    const first = runSupervisor(config);
    running.push(first);
    let a = await api(first);

    // A crash: cluster 0 killed; an operator's restart of cluster 1.
    const { pid } = await a.running(0);
    await a.running(1);
    process.kill(pid!, 'SIGKILL');
    await eventually(async () => (await a.clusters())[0]!.restarts_by_cause.crash === 1, 20_000, 'the crash counted');
    expect((await a.post('/api/clusters/1/restart')).status).toBe(200);
    await eventually(async () => (await a.clusters())[1]!.restarts_by_cause.operator === 1, 20_000, 'the restart counted');
    await a.running(0);
    await a.running(1);
    // Samples with figures in both series (the fixture's shards say 20 + shard ms and 5 guilds each).
    await eventually(async () => (await a.get<Series>('/api/history')).points.some((p) => p.guilds === 20), 20_000, 'a bot sample');
    await eventually(
      async () => (await a.get<ClusterHistory>('/api/clusters/0/history')).points.some((p) => p.latency_ms === 20.5 && p.guilds === 10),
      20_000,
      'a sample of cluster 0',
    );
    const before = await a.clusters();
    const seriesBefore = await a.get<Series>('/api/history');
    const logBefore = (await a.get<{ entries: { event: string; id?: number; ts: number }[] }>('/api/action-logs?limit=1000')).entries;
    const died = logBefore.find((e) => e.event === 'cluster_died' && e.id === 0);
    const restarted = logBefore.find((e) => e.event === 'cluster_restart' && e.id === 1);
    expect(died && restarted).toBeTruthy();

    first.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);

    // The same config (and Redis, or run directory) again.
    const second = runSupervisor(config, {}, [], { dir: first.dir });
    running.push(second);
    a = await api(second);
    await a.running(0);
    await a.running(1);
    const after = await a.clusters();
    expect(after.map((c) => c.restarts_by_cause)).toEqual(before.map((c) => c.restarts_by_cause));
    expect(after[0]).toMatchObject({ restarts: 1, restarts_by_cause: { crash: 1, hang: 0, operator: 0, rollout: 0 } });
    expect(after[1]).toMatchObject({ restarts: 1, restarts_by_cause: { crash: 0, hang: 0, operator: 1, rollout: 0 } });
    // Its last exits: the kill, then the stop of the supervisor (SIGTERM).
    const c0 = await a.get<ClusterHistory>('/api/clusters/0/history');
    expect(c0.restarts_by_cause).toEqual(after[0]!.restarts_by_cause);
    expect(c0.last_exits[0]).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(c0.last_exits.length).toBe(2);
    expect(after[0]!.last_exit).toEqual(c0.last_exits.at(-1));
    expect((await a.get<ClusterHistory>('/api/clusters/1/history')).last_exits).toHaveLength(2);
    // The charts go on from the earlier run's samples.
    const seriesAfter = await a.get<Series>('/api/history');
    expect(seriesAfter.period_ms).toBe(500);
    const firstSample = seriesBefore.points.find((p) => p.guilds === 20)!;
    expect(seriesAfter.points).toContainEqual(firstSample);
    expect((await a.get<ClusterHistory>('/api/clusters/0/history')).points.some((p) => p.t <= seriesBefore.points.at(-1)!.t)).toBe(true);

    // The action log from before the restart: Redis keeps its list; the IPC bus's is restored with the history.
    const logAfter = (await a.get<{ entries: { ts: number }[] }>('/api/action-logs?limit=1000')).entries;
    expect(logAfter).toContainEqual(died);
    expect(logAfter).toContainEqual(restarted);

    // A stopped cluster has no current figures: its samples are gaps, the bot's are cluster 0's alone.
    expect((await a.post('/api/clusters/1/stop')).status).toBe(200);
    const stoppedAt = Date.now();
    await eventually(
      async () => {
        const points = (await a.get<ClusterHistory>('/api/clusters/1/history')).points.filter((p) => p.t > stoppedAt);
        return points.length >= 2 && points.every((p) => p.latency_ms === null && p.guilds === null);
      },
      20_000,
      'gaps for the stopped cluster',
    );
    const bot = (await a.get<Series>('/api/history')).points.filter((p) => p.t > stoppedAt);
    expect(bot.at(-1)).toMatchObject({ latency_ms: 20.5, guilds: 10 });

    // Unknown and malformed ids, and the token, as the other read-only routes.
    await expect(a.get('/api/clusters/7/history')).rejects.toThrow(/404/);
    await expect(a.get('/api/clusters/x/history')).rejects.toThrow(/400/);
    const web = await second.web();
    expect((await fetch(new URL('/api/history', web.base))).status).toBe(401);
    // The sparklines' module, for the dashboard, served as its other files are (no token).
    const charts = await fetch(new URL('/charts.js', web.base));
    expect(charts.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await charts.text()).toContain('export function sparkline');

    if (bus === 'redis') {
      // Kept under the bot's channel.
      expect(await redis.client().exists(`${channel}/history`)).toBe(1);
    }
  });
});
