import { describe, expect, it } from 'vitest';
import { eventually, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';
import { afterAll } from 'vitest';

/** The embedded bus: no `redis` in the config, clusters on mewld/client over their IPC channels. */

const running: RunningSupervisor[] = [];
afterAll(() => stopAll(running));

function supervise(config: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const s = runSupervisor({ module: 'client_cluster.mjs', fixed_shard_count: 8, per_cluster: 2, ...config }, env);
  running.push(s);
  return s;
}

describe('the embedded IPC bus', () => {
  it('launches clusters in order, answers their diagnostics and their requests, and announces the launch', async () => {
    const s = supervise({ cluster_start_next_delay: 0.1, ping_interval: 0.3 }, { CLIENT_REQUEST_3: 'statuses' });
    const events = await s.waitForEvents(
      (e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4 && e.some((x) => x.event === 'reply'),
    );
    await s.waitForLog((l) => l.msg === 'bus: embedded (IPC)');
    const starts = events.filter((e) => e.event === 'start');
    const nexts = events.filter((e) => e.event === 'launch_next');
    expect(starts.map((e) => e.id)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < 4; i++) expect(starts[i]!.at).toBeGreaterThanOrEqual(nexts[i - 1]!.at);
    expect(starts[1]!.info).toMatchObject({ id: 1, name: 'Cluster 1', shards: [2, 3], shardCount: 8, clusterCount: 4, bus: 'ipc' });
    const statuses = events.find((e) => e.event === 'reply')!.output as Record<string, { shard_list: number[] }>;
    expect(Object.keys(statuses)).toEqual(['0', '1', '2', '3']);
    expect(statuses['2']!.shard_list).toEqual([4, 5]);
    await s.waitForEvents((e) => new Set(e.filter((x) => x.event === 'diag').map((x) => x.id)).size === 4);
  });

  it('relays messages between clusters through the supervisor', async () => {
    // The last cluster to start says hello: every other one is up by then.
    const s = supervise({}, { CLIENT_BROADCAST_3: '1' });
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'bot_message').length === 3);
    expect(
      events
        .filter((e) => e.event === 'bot_message')
        .map((e) => e.id)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('kill -9 of a cluster: it comes back on a fresh channel', async () => {
    const s = supervise({ ping_interval: 0.3 });
    await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4);
    const victim = s.events().find((e) => e.event === 'start' && e.id === 1)!.pid;
    process.kill(victim, 'SIGKILL');
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next' && x.id === 1).length === 2);
    const fresh = events.filter((e) => e.event === 'start' && e.id === 1)[1]!.pid;
    expect(fresh).not.toBe(victim);
    // The new process answers diagnostics over its own channel.
    const since = Date.now();
    await eventually(
      () => s.events().some((e) => e.event === 'diag' && e.pid === fresh && e.at > since),
      10_000,
      'a diagnostic answered by the new process',
    );
  });
});
