import { execFile } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLI, eventually, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * A health figure with no current diagnostic behind it reads as unknown in
 * every view: the API, the live stream, statuses' Go-era routes, /metrics and
 * `mewld status`; totals count only current figures.
 */

const running: RunningSupervisor[] = [];
afterAll(() => stopAll(running));

type ApiCluster = {
  id: number;
  state: string;
  pid: number | null;
  health_fresh: boolean;
  health: { shards_up: number } | null;
  last_diag: { at: number } | null;
};

function mewldStatus(configFile: string, runtimeDir: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [CLI, 'status', '--config', configFile],
      { env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir } },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
}

describe('stale health', () => {
  it('a stopped and a failed cluster show no current health anywhere, and the totals drop', async () => {
    // max_restarts 1: the second kill -9 within the minute leaves cluster 2 failed.
    const s = runSupervisor({
      module: 'client_cluster.mjs',
      fixed_shard_count: 6,
      per_cluster: 2,
      ping_interval: 0.5,
      web: { port: 0 },
      restart: { max_restarts: 1, within: 60 },
    });
    running.push(s);
    await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 3);
    const web = await s.web();
    const call = (path: string, init: RequestInit = {}) =>
      fetch(new URL(path, web.base), { ...init, headers: { ...web.auth, ...(init.headers as Record<string, string>) } });
    const clusters = async () => ((await (await call('/api/clusters')).json()) as { clusters: ApiCluster[] }).clusters;
    const metric = async (name: string) => {
      const text = await (await call('/metrics')).text();
      return new Map(
        [...text.matchAll(new RegExp(`^${name}\\{cluster="(\\d+)"\\} (\\S+)$`, 'gm'))].map((m) => [Number(m[1]), Number(m[2])]),
      );
    };

    // Every cluster answered: current figures everywhere, 6 shards up in all.
    await eventually(
      async () => (await clusters()).every((c) => c.health_fresh && c.health?.shards_up === 2),
      15_000,
      'every cluster diagnosed',
    );
    expect([...(await metric('mewld_cluster_shards_up')).values()].reduce((a, b) => a + b, 0)).toBe(6);
    expect((await metric('mewld_cluster_guilds')).size).toBe(3);

    const socket = new WebSocket(new URL('/api/ws', web.base.replace(/^http/, 'ws')), { headers: web.auth });
    const messages: { type: string; cluster?: ApiCluster }[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));

    // Cluster 1 stopped by the operator; cluster 2 killed twice, and given up on.
    expect((await call('/api/clusters/1/stop', { method: 'POST' })).status).toBe(200);
    for (let kill = 0; kill < 2; kill++) {
      const { pid } = await eventually(
        async () => (await clusters()).find((c) => c.id === 2 && c.state === 'running'),
        15_000,
        'cluster 2 running',
      );
      process.kill(pid!, 'SIGKILL');
      await eventually(async () => (await clusters())[2]!.pid !== pid, 15_000, 'cluster 2 down');
    }
    const api = await eventually(
      async () => {
        const all = await clusters();
        return all[1]!.state === 'stopped' && all[2]!.state === 'failed' ? all : undefined;
      },
      15_000,
      'cluster 1 stopped and cluster 2 failed',
    );
    for (const c of [api[1]!, api[2]!]) {
      // The last answer is kept, with its time, but marked stale and not summarized as current.
      expect(c).toMatchObject({ health_fresh: false, health: null, last_diag: { at: expect.any(Number) } });
    }
    expect(api[0]).toMatchObject({ health_fresh: true, health: { shards_up: 2 } });

    // The live stream said so as it happened.
    const streamed = messages.filter((m) => m.type === 'cluster' && (m.cluster!.id === 1 || m.cluster!.id === 2));
    expect(streamed.at(-1)!.cluster).toMatchObject({ health_fresh: false, health: null });
    socket.close();

    // Prometheus: only cluster 0's figures; the shards-up total drops to its 2.
    for (const name of ['mewld_cluster_shards_up', 'mewld_cluster_latency_seconds', 'mewld_cluster_guilds']) {
      expect([...(await metric(name)).keys()], name).toEqual([0]);
    }
    expect((await metric('mewld_cluster_last_diagnostic_time_seconds')).size).toBe(3);

    // The Go version's instance list: no ClusterHealth for what is not current.
    const list = (await (await call('/instance-list')).json()) as { Instances: { ClusterID: number; ClusterHealth: unknown[] | null }[] };
    expect(list.Instances.map((i) => i.ClusterHealth === null)).toEqual([false, true, true]);

    // mewld status: unknown (-) for shards up and latency of the two, figures for cluster 0.
    const lines = (await mewldStatus(s.configFile, s.dir)).trimEnd().split('\n').slice(2);
    const cells = lines.map((l) => l.trim().split(/ {2,}/));
    expect(cells[0]!.slice(-2)).toEqual(['2/2', expect.stringMatching(/^\d+ ms$/)]);
    expect(cells[1]!.slice(-2)).toEqual(['-', '-']);
    expect(cells[2]!.slice(-2)).toEqual(['-', '-']);
  });
});
