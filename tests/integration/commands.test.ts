import { describe, expect, it } from 'vitest';
import { redisHarness } from '../helpers/harness.js';
import { eventually, isAlive } from '../helpers/supervisor.js';

const harness = redisHarness('commands', { fixed_shard_count: 8, per_cluster: 2 });

describe('operator commands on the bus', () => {
  it('stop: the cluster stops and stays stopped; a second stop is refused with a reason', async () => {
    const { s, bus, status } = await harness.supervise();
    const pid = (await status(1)).pid!;
    const reply = await bus.request('stop', { id: 1 });
    // Byte for byte what the Go mewld publishes.
    expect(reply.raw).toBe(`{"action":"","command_id":"${reply.json!.command_id}","output":"ok","scope":"bot"}`);
    await eventually(async () => (await status(1)).status === 'stopped', 10_000, 'cluster 1 stopped');
    expect(s.clusterPids()).not.toContain(pid);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await status(1)).toMatchObject({ status: 'stopped', active: false, pid: null });
    expect((await bus.request('stop', { id: 1 })).output).toBe('cluster 1 is already stopped');
    bus.close();
  });

  it('stop: what the cluster started goes too (its process group), not only its main process', async () => {
    const { s, bus, status } = await harness.supervise({}, { FIXTURE_GRANDCHILD_1: '1' });
    const helper = s.events().find((e) => e.event === 'grandchild' && e.id === 1)!.child as number;
    expect(isAlive(helper)).toBe(true);
    expect((await bus.request('stop', { id: 1 })).output).toBe('ok');
    await eventually(async () => (await status(1)).status === 'stopped', 10_000, 'cluster 1 stopped');
    await eventually(() => !isAlive(helper), 5000, `the process cluster 1 started (pid ${helper}) to be gone`);
    bus.close();
  });

  it('start: refused for a live cluster (never a second copy), accepted for a stopped one', async () => {
    const { s, bus, status } = await harness.supervise();
    expect((await bus.request('start', { id: 2 })).output).toMatch(/^cluster 2 is already running/);
    expect(s.events().filter((e) => e.event === 'start' && e.id === 2)).toHaveLength(1);
    await bus.request('stop', { id: 2 });
    await eventually(async () => (await status(2)).status === 'stopped', 10_000, 'cluster 2 stopped');
    expect((await bus.request('start', { id: 2 })).output).toBe('ok');
    await eventually(async () => (await status(2)).status === 'running', 10_000, 'cluster 2 running again');
    expect(s.events().filter((e) => e.event === 'start' && e.id === 2)).toHaveLength(2);
    bus.close();
  });

  it('restart: a new process for the same shards, the old one gone first', async () => {
    const { s, bus, status } = await harness.supervise();
    const old = (await status(0)).pid!;
    expect((await bus.request('restart', { id: 0 })).output).toBe('ok');
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next' && x.id === 0).length === 2);
    const fresh = events.filter((e) => e.event === 'start' && e.id === 0)[1]!;
    expect(fresh.pid).not.toBe(old);
    const sigterm = events.find((e) => e.event === 'sigterm' && e.pid === old)!;
    expect(fresh.at).toBeGreaterThanOrEqual(sigterm.at);
    expect(s.clusterPids()).not.toContain(old);
    bus.close();
  });

  it('unknown and malformed ids get a reply that says why', async () => {
    const { bus } = await harness.supervise();
    expect((await bus.request('stop', { id: 42 })).output).toBe('no cluster with id 42 (ids are 0 to 3)');
    expect((await bus.request('stop', { id: '1' })).output).toMatch(/^invalid request: args\.id must be a cluster id/);
    expect((await bus.request('restart', { id: -1 })).output).toMatch(/got -1/);
    expect((await bus.request('frobnicate')).output).toMatch(/^invalid request: unknown action "frobnicate"/);
    bus.close();
  });

  it('rollingrestart: every cluster restarted in order, each after the previous one is up; a second one is refused', async () => {
    const { s, bus } = await harness.supervise({ cluster_start_next_delay: 0.1 }, { FIXTURE_START_MS: '200' });
    const before = s
      .events()
      .filter((e) => e.event === 'start')
      .map((e) => e.pid);
    expect((await bus.request('rollingrestart')).output).toBe('ok');
    expect((await bus.request('rollingrestart')).output).toBe('a rolling restart is already in progress');
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next').length === 8, 30_000);
    const restarts = events.filter((e) => e.event === 'start').slice(4);
    const nexts = events.filter((e) => e.event === 'launch_next').slice(4);
    expect(restarts.map((e) => e.id)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < 4; i++) expect(restarts[i]!.at).toBeGreaterThanOrEqual(nexts[i - 1]!.at);
    // While one cluster restarts, the others keep running: at most one is down at a time.
    for (let i = 0; i < 4; i++) {
      const term = events.find((e) => e.event === 'sigterm' && e.pid === before[i])!;
      if (i > 0) expect(term.at).toBeGreaterThanOrEqual(nexts[i - 1]!.at);
    }
    await s.waitForLog((l) => l.msg === 'rolling restart: done');
    bus.close();
  });

  it('shutdown: replies ok, stops every cluster and exits 0 with no cluster process left', async () => {
    const { s, bus } = await harness.supervise();
    expect(s.clusterPids()).toHaveLength(4);
    expect((await bus.request('shutdown')).output).toBe('ok');
    const { code } = await s.exit;
    expect(code).toBe(0);
    expect(s.clusterPids()).toEqual([]);
    expect(s.events().filter((e) => e.event === 'sigterm')).toHaveLength(4);
    bus.close();
  });

  it('restartproc: the same, with exit code 1 so that systemd starts it again', async () => {
    const { s, bus } = await harness.supervise();
    expect((await bus.request('restartproc')).output).toBe('ok');
    const { code } = await s.exit;
    expect(code).toBe(1);
    expect(s.clusterPids()).toEqual([]);
    bus.close();
  });

  it('SIGTERM to the supervisor: every cluster stopped, exit 0; a cluster ignoring SIGTERM is killed after kill_timeout', async () => {
    const { s, bus } = await harness.supervise({ kill_timeout: 1 }, { FIXTURE_MODE_3: 'ignore-sigterm' });
    bus.close();
    const t0 = Date.now();
    s.kill('SIGTERM');
    const { code } = await s.exit;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.clusterPids()).toEqual([]);
  });

  it('action logs go to the list <channel>/actlogs, with a ts in microseconds, and a message without data crashes nothing', async () => {
    const { bus, channel, status } = await harness.supervise();
    await bus.publish({ scope: 'launcher', action: 'action_logs', data: { event: 'deploy', by: 'ci' } });
    expect((await bus.request('action_logs')).output).toMatch(/action_logs needs data/);
    await bus.request('stop', { id: 0 });
    const redisClient = harness.redis.client();
    const entries = await eventually(
      async () => {
        const rows = (await redisClient.lrange(`${channel}/actlogs`, 0, -1)).map((r) => JSON.parse(r) as Record<string, unknown>);
        return rows.some((r) => r.event === 'cluster_stop') ? rows : undefined;
      },
      10_000,
      'the action log entries',
    );
    expect(entries.map((e) => e.event)).toEqual(['all_clusters_launched', 'deploy', 'cluster_stop']);
    expect(entries[1]).toMatchObject({ event: 'deploy', by: 'ci' });
    for (const e of entries) expect(Math.abs((e.ts as number) / 1000 - Date.now())).toBeLessThan(60_000);
    expect((await status(1)).status).toMatch(/running|diagPending/);
    bus.close();
  });
});
