import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../helpers/discord.js';
import { redisHarness } from '../helpers/harness.js';
import WebSocket from 'ws';
import { eventually, FIXTURES } from '../helpers/supervisor.js';

const harness = redisHarness('launch');
const supervise = (config: Record<string, unknown>, env?: Record<string, string>) =>
  harness.supervise(config, env, { waitForLaunch: false });

describe('launching', () => {
  it('launches 4 clusters strictly in order, each after the previous launch_next, with the Go argv and the MEWLD_* env', async () => {
    const { s, channel } = await supervise(
      { fixed_shard_count: 8, per_cluster: 2, names: ['Alpha', 'Beta'], cluster_start_next_delay: 0.2, token: 'secret-token' },
      { FIXTURE_START_MS: '150' },
    );
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4);
    const starts = events.filter((e) => e.event === 'start');
    const nexts = events.filter((e) => e.event === 'launch_next');
    expect(starts.map((e) => e.id)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < 4; i++) {
      // Cluster i starts only after cluster i-1's launch_next plus cluster_start_next_delay.
      expect(starts[i]!.at - nexts[i - 1]!.at).toBeGreaterThanOrEqual(190);
    }
    // all_clusters_launched comes after the last launch_next.
    const announced = events.filter((e) => e.event === 'all_clusters_launched');
    expect(Math.min(...announced.map((e) => e.at))).toBeGreaterThanOrEqual(nexts[3]!.at);

    expect(starts[2]!.argv).toEqual(['[4, 5]', '8', '2', 'Alpha 2', '0', FIXTURES]);
    expect(starts[2]!.cwd).toBe(FIXTURES);
    expect(starts[2]!.env).toMatchObject({
      MEWLD_CHANNEL: channel,
      MTOKEN: 'secret-token',
      MEWLD_CLUSTER_ID: '2',
      MEWLD_CLUSTER_NAME: 'Alpha 2',
      MEWLD_SHARDS: '[4, 5]',
      MEWLD_SHARD_COUNT: '8',
      MEWLD_CLUSTER_COUNT: '4',
      MEWLD_REDIS_URL: harness.redis.url,
    });
  });

  it('runs interp from where PATH has it, with argv[0] as written', async () => {
    const { s } = await supervise({ fixed_shard_count: 2, per_cluster: 1, cluster_start_next_delay: 0 });
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next').length === 2);
    const node = execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim();
    const started = s.logs.filter((l) => /^cluster process \d+ started$/.test(String(l.msg)));
    expect(started.map((l) => [l.program, (l.argv as string[])[0]])).toEqual([
      [node, 'node'],
      [node, 'node'],
    ]);
    // What ps shows is unchanged: `node <module> ...`.
    const pid = events.find((e) => e.event === 'start')!.pid as number;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2)).toEqual(['node', join(FIXTURES, 'cluster.mjs')]);
  });

  it('an interp that is gone by the next launch (an upgrade removed it): each launch fails with a clear error, and the supervisor carries on', async () => {
    // A missing interp is refused at load (tests/faults/config.test.ts); this one is there at load, and removed after.
    const bin = mkdtempSync(join(tmpdir(), 'mewld-interp-'));
    const interp = join(bin, 'node-copy');
    symlinkSync(process.execPath, interp);
    const { s, bus } = await supervise({ fixed_shard_count: 1, per_cluster: 1, interp });
    await s.waitForEvents((e) => e.some((x) => x.event === 'launch_next'));
    rmSync(bin, { recursive: true });
    process.kill(s.events().find((e) => e.event === 'start')!.pid, 'SIGKILL');
    await s.waitForLog((l) => l.msg === `could not start ${interp}` && /ENOENT/.test(JSON.stringify(l.err)));
    const status = ((await bus.request('statuses')).output as Record<string, { status: string; active: boolean }>)['0']!;
    expect(status.active).toBe(false);
    expect(['starting', 'dead', 'backoff', 'queued']).toContain(status.status);
  });

  it('answers statuses and num_processes', async () => {
    // Launched: every cluster heard all_clusters_launched, which the supervisor sends once it has every launch_next
    // (a cluster writes its launch_next event before it sends it: the supervisor may not have it yet).
    const { s, bus } = await harness.supervise({ fixed_shard_count: 6, per_cluster: 2 });
    const statuses = (await bus.request('statuses')).output as Record<string, Record<string, unknown>>;
    expect(Object.keys(statuses)).toEqual(['0', '1', '2']);
    const starts = s.events().filter((e) => e.event === 'start');
    for (const [id, status] of Object.entries(statuses)) {
      expect(status).toMatchObject({
        active: true,
        name: `Cluster ${id}`,
        shard_list: [Number(id) * 2, Number(id) * 2 + 1],
        pid: starts.find((e) => e.id === Number(id))!.pid,
      });
      expect(['running', 'diagPending', 'diagOverdue']).toContain(status.status);
      expect(Math.abs((status.started_at as number) - Date.now() / 1000)).toBeLessThan(60);
    }
    expect((await bus.request('num_processes')).output).toEqual({ clusters: 3, shards: 6 });
  });

  it('diagnoses clusters and reports a summary of their shard health in statuses', async () => {
    const { bus } = await supervise({ fixed_shard_count: 2, per_cluster: 2 });
    // Until the supervisor has read an answer: a cluster records its answer as it sends it.
    const lastDiag = await eventually(
      // A short wait per request: one sent before the supervisor has subscribed is never answered.
      async () => ((await bus.request('statuses', undefined, 1_000)).output as Record<string, { last_diag: unknown }>)['0']!.last_diag,
      15_000,
      'a diagnostic of cluster 0 in statuses',
    );
    // The fixture's shards answer latencies 40 and 41 ms.
    expect(lastDiag).toEqual({ at: expect.any(Number), shards_up: 2, shards: 2, latency: 40.5, fresh: true });
  });

  it('runs a cluster written in Python that speaks the protocol over a raw socket', async () => {
    const { s, bus } = await supervise({
      fixed_shard_count: 4,
      per_cluster: 2,
      module: 'cluster.py',
      interp: 'python3',
      ping_interval: 0.3,
    });
    type Status = { status: string; restarts: number; last_diag: { shards_up: number; latency: number } | null };
    // Every cluster's answer read by the supervisor (the fixture records an answer as it sends it, and four
    // answers in all may all be cluster 0's).
    const statuses = await eventually(
      async () => {
        const all = (await bus.request('statuses', undefined, 1_000)).output as Record<string, Status>;
        return Object.keys(all).length === 2 && Object.values(all).every((c) => c.last_diag !== null) ? all : undefined;
      },
      15_000,
      'a diagnostic of both clusters in statuses',
    );
    expect(
      s
        .events()
        .filter((e) => e.event === 'start')
        .map((e) => e.argv),
    ).toEqual([
      ['[0, 1]', '4', '0', 'Cluster 0', '0', FIXTURES],
      ['[2, 3]', '4', '1', 'Cluster 1', '0', FIXTURES],
    ]);
    expect(s.events().some((e) => e.event === 'diag' && e.lang === 'python')).toBe(true);
    for (const status of Object.values(statuses)) {
      expect(status.restarts).toBe(0);
      expect(status.last_diag).toMatchObject({ shards_up: 2, latency: 12.5 });
    }
  });
});

describe('the shard count from Discord', () => {
  const gatewayBot = JSON.parse(readFileSync(join(FIXTURES, 'discord/gateway-bot.json'), 'utf8'));

  it('asks the proxy GET /api/gateway/bot with the bot token, as the Go version did, and waits out a 429', async () => {
    const discord = await startFakeDiscord([
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.3, global: false } },
      { status: 200, body: { ...gatewayBot, shards: 3 } },
    ]);
    try {
      const { s } = await supervise({ per_cluster: 1, proxy: discord.url, token: 'tok3n', cluster_start_next_delay: 0 });
      await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next').length === 3);
      expect(discord.requests.map((r) => [r.path, r.authorization])).toEqual([
        ['/api/gateway/bot', 'Bot tok3n'],
        ['/api/gateway/bot', 'Bot tok3n'],
      ]);
      expect(discord.requests[1]!.at - discord.requests[0]!.at).toBeGreaterThanOrEqual(290);
      expect(
        s
          .events()
          .filter((e) => e.event === 'start')
          .map((e) => (e.argv as string[])[1]),
      ).toEqual(['3', '3', '3']);
    } finally {
      await discord.close();
    }
  });

  it('retries 5xx answers with backoff', async () => {
    const discord = await startFakeDiscord([
      { status: 502, body: { message: 'bad gateway' } },
      { status: 200, body: { ...gatewayBot, shards: 1 } },
    ]);
    try {
      const { s } = await supervise({ per_cluster: 1, proxy: discord.url, token: 't' });
      await s.waitForEvents((e) => e.some((x) => x.event === 'launch_next'));
      expect(discord.requests).toHaveLength(2);
      await s.waitForLog((l) => /server error 502; retrying/.test(String(l.msg)));
    } finally {
      await discord.close();
    }
  });

  it('a 401 is fatal: exit 1 with a message about the token, and nothing launched', async () => {
    const discord = await startFakeDiscord([{ status: 401, body: { message: '401: Unauthorized', code: 0 } }]);
    try {
      const { s } = await supervise({ per_cluster: 1, proxy: discord.url, token: 'bad' });
      const { code } = await s.exit;
      expect(code).toBe(1);
      expect(s.logs.some((l) => /Discord refused the bot token \(401 Unauthorized/.test(String(l.msg)))).toBe(true);
      expect(s.events()).toEqual([]);
      expect(discord.requests).toHaveLength(1);
    } finally {
      await discord.close();
    }
  });

  it("launches clusters in different identify buckets together, as Discord's max_concurrency allows, a wave at a time", async () => {
    // max_concurrency 16, 4 shards a cluster: clusters 0-3 cover the 16 buckets, then clusters 4-7 do again.
    const large = JSON.parse(readFileSync(join(FIXTURES, 'discord/gateway-bot-large.json'), 'utf8'));
    const discord = await startFakeDiscord([{ status: 200, body: { ...large, shards: 32 } }]);
    try {
      const { s } = await supervise(
        { per_cluster: 4, proxy: discord.url, token: 't', cluster_start_next_delay: 0.2, web: { port: 0 } },
        { FIXTURE_START_MS: '150', FIXTURE_START_MS_2: '700' },
      );
      const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 8);
      // When the supervisor spawned each one (a cluster's own start event comes later, the later the busier the machine).
      const forkOf = (id: number) => s.logs.find((l) => l.cluster === id && typeof l.forked_at === 'number')!.forked_at as number;
      const nextOf = (id: number) => events.find((e) => e.event === 'launch_next' && e.id === id)!.at;
      const firstNext = Math.min(...[0, 1, 2, 3].map(nextOf));
      for (const id of [0, 1, 2, 3]) expect(forkOf(id)).toBeLessThan(firstNext);
      // The second wave waits for the slowest of the first (cluster 2) and the start delay.
      for (const id of [4, 5, 6, 7]) expect(forkOf(id) - nextOf(2)).toBeGreaterThanOrEqual(150);
      expect(Math.max(...[4, 5, 6, 7].map(forkOf))).toBeLessThan(Math.min(...[4, 5, 6, 7].map(nextOf)));
      expect(s.logs.some((l) => /max_concurrency 16: clusters whose shards are in different identify buckets/.test(String(l.msg)))).toBe(
        true,
      );
      const web = await s.web();
      expect(await (await fetch(`${web.base}api/gateway`, { headers: web.auth })).json()).toMatchObject({
        shards: 32,
        session_start_limit: { max_concurrency: 16 },
        identify_buckets: 16,
        // Discord said 3861; each of the 32 shards launched took one.
        session_starts_left: 3861 - 32,
      });
      const metrics = await (await fetch(`${web.base}metrics`, { headers: web.auth })).text();
      expect(metrics).toMatch(/^mewld_session_starts_left 3829$/m);
      expect(metrics).toMatch(/^mewld_identify_buckets 16$/m);
    } finally {
      await discord.close();
    }
  });

  it('with identify turns, starts the next wave while the identify window runs, and lets it identify when the window ends', async () => {
    // max_concurrency 16, 4 shards a cluster: waves 0-3, 4-7, cluster i + 4 in the buckets of cluster i.
    // Clusters ready 400 ms after identified.
    const large = JSON.parse(readFileSync(join(FIXTURES, 'discord/gateway-bot-large.json'), 'utf8'));
    const discord = await startFakeDiscord([{ status: 200, body: { ...large, shards: 32 } }]);
    try {
      const { s } = await supervise(
        // A start delay of 30 s: it would stand between the waves if they did not take turns.
        {
          module: 'client_cluster.mjs',
          per_cluster: 4,
          proxy: discord.url,
          token: 't',
          cluster_start_next_delay: 30,
          identify_window: 0.5,
        },
        { FIXTURE_START_MS: '100', CLIENT_TURNS: '400' },
      );
      const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next').length === 8, 20_000);
      const forkOf = (id: number) => s.logs.find((l) => l.cluster === id && typeof l.forked_at === 'number')!.forked_at as number;
      const at = (event: string, id: number) => events.find((e) => e.event === event && e.id === id)!.at;
      const firstWave = [0, 1, 2, 3];
      const secondWave = [4, 5, 6, 7];
      // The second wave's processes start at the first wave's last identified, not at its launch_next (400 ms later).
      const lastFirstTurn = Math.max(...firstWave.map((i) => at('turn', i)));
      const last = firstWave.find((i) => at('turn', i) === lastFirstTurn)!;
      for (const id of secondWave) expect(forkOf(id)).toBeLessThan(at('launch_next', last));
      // Each one's turn comes a window after the turn of the cluster before it in the same buckets (id - 4):
      // no earlier (the identify rule), and not after the 30 s start delay.
      for (const id of secondWave) {
        expect(at('turn', id) - at('turn', id - 4)).toBeGreaterThanOrEqual(500);
        expect(at('turn', id) - at('turn', id - 4)).toBeLessThan(10_000);
      }
    } finally {
      await discord.close();
    }
  });

  it("counts the session starts that restarts use, and holds a restart that would leave too few until Discord's reset", async () => {
    const limit = (remaining: number, reset_after: number) => ({ ...gatewayBot.session_start_limit, remaining, reset_after });
    // 7 left, 1 shard a cluster, minimum_safe_sessions_remaining 5: the launch leaves 5, the first restart 4.
    const discord = await startFakeDiscord([
      { status: 200, body: { ...gatewayBot, shards: 2, session_start_limit: limit(7, 60_000) } },
      { status: 200, body: { ...gatewayBot, shards: 2, session_start_limit: limit(4, 800) } },
      { status: 200, body: { ...gatewayBot, shards: 2, session_start_limit: limit(1000, 60_000) } },
    ]);
    try {
      const { s, channel } = await supervise({
        per_cluster: 1,
        proxy: discord.url,
        token: 't',
        cluster_start_next_delay: 0,
        web: { port: 0 },
      });
      const startsOf0 = (n: number) => s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next' && x.id === 0).length === n);
      const kill0 = async (n: number) => {
        const events = await startsOf0(n);
        process.kill(events.filter((e) => e.event === 'start' && e.id === 0).at(-1)!.pid as number, 'SIGKILL');
      };
      await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next').length === 2);
      // The live stream (and so the dashboard) follows the count.
      const web = await s.web();
      const ws = new WebSocket(new URL('/api/ws', web.base.replace(/^http/, 'ws')), { headers: web.auth });
      const left: (number | null)[] = [];
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { type: string; gateway?: { session_starts_left: number | null } };
        if (m.gateway) left.push(m.gateway.session_starts_left);
      });
      await new Promise((resolve) => ws.once('open', resolve));
      await kill0(1);
      await kill0(2);
      // 4 left by the count: Discord is asked, says 4 too, and the restart waits for the reset.
      const events = await startsOf0(3);
      expect(discord.requests).toHaveLength(3);
      expect(discord.requests[2]!.at - discord.requests[1]!.at).toBeGreaterThanOrEqual(790);
      const lastStart = events.filter((e) => e.event === 'start' && e.id === 0).at(-1)!;
      expect(lastStart.at).toBeGreaterThan(discord.requests[2]!.at);
      expect(s.logs.some((l) => /^only 4 session starts left, and the next launch needs 1/.test(String(l.msg)))).toBe(true);
      // 5 in the snapshot, 4 after the first restart, 4 again from Discord, then 1000 from Discord after
      // the reset less the restart it let through at once.
      await eventually(() => left.at(-1) === 999, 5000, 'the live count after the last restart');
      expect(left).toEqual([5, 4, 4, 999]);
      ws.close();
      const entries = (await harness.redis.client().lrange(`${channel}/actlogs`, 0, -1)).map(
        (r) => JSON.parse(r) as Record<string, unknown>,
      );
      expect(entries).toContainEqual(expect.objectContaining({ event: 'sessions_low', remaining: 4, needed: 1, reset_after_ms: 800 }));
    } finally {
      await discord.close();
    }
  });

  it('waits for the session reset when fewer than minimum_safe_sessions_remaining are left, then checks again', async () => {
    const exhausted = JSON.parse(readFileSync(join(FIXTURES, 'discord/gateway-bot-exhausted.json'), 'utf8'));
    const discord = await startFakeDiscord([
      { status: 200, body: { ...exhausted, shards: 1, session_start_limit: { ...exhausted.session_start_limit, reset_after: 700 } } },
      { status: 200, body: { ...exhausted, shards: 1, session_start_limit: { ...exhausted.session_start_limit, reset_after: 400 } } },
      { status: 200, body: { ...gatewayBot, shards: 1 } },
    ]);
    try {
      const { s } = await supervise({ per_cluster: 1, proxy: discord.url, token: 't' });
      await s.waitForEvents((e) => e.some((x) => x.event === 'start'));
      expect(discord.requests).toHaveLength(3);
      expect(discord.requests[1]!.at - discord.requests[0]!.at).toBeGreaterThanOrEqual(690);
      expect(discord.requests[2]!.at - discord.requests[1]!.at).toBeGreaterThanOrEqual(390);
      expect(s.events()[0]!.at).toBeGreaterThan(discord.requests[2]!.at);
      expect(s.logs.some((l) => /only 2 session starts left/.test(String(l.msg)))).toBe(true);
    } finally {
      await discord.close();
    }
  });
});
