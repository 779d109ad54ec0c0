import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../helpers/redis.js';
import { eventually, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/** The HTTP API, the live stream and the inspector relay, against a running supervisor with real clusters. */

const running: RunningSupervisor[] = [];
afterAll(() => stopAll(running));

async function supervise(config: Record<string, unknown> = {}, args: string[] = []) {
  const s = runSupervisor(
    { module: 'client_cluster.mjs', fixed_shard_count: 8, per_cluster: 2, ping_interval: 0.5, web: { port: 0 }, ...config },
    {},
    args,
  );
  running.push(s);
  await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4);
  const web = await s.web();
  const call = (path: string, init: RequestInit = {}) =>
    fetch(new URL(path, web.base), { ...init, headers: { ...web.auth, ...(init.headers as Record<string, string>) } });
  return { s, web, call };
}

/**
 * The local addresses on which process `pid` listens on TCP `port`, read from
 * /proc/net/tcp and /proc/net/tcp6 (its own sockets only, by inode).
 */
function listeningOn(pid: number, port: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  // The kernel writes each 32-bit word of an address in host (little-endian) byte order.
  const bytes = (hex: string) =>
    hex.match(/.{8}/g)!.flatMap((word) =>
      word
        .match(/../g)!
        .reverse()
        .map((b) => parseInt(b, 16)),
    );
  const address = (hex: string) => {
    const b = bytes(hex);
    if (b.length === 4) return b.join('.');
    // IPv6, uncompressed ("0:0:0:0:0:0:0:0" for ::).
    return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
  };
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      const [hex, portHex] = local!.split(':');
      // 0A: LISTEN.
      if (state === '0A' && parseInt(portHex!, 16) === port && inodes.has(inode!)) found.push(address(hex!));
    }
  }
  return found;
}

type Message = { type: string; seq: number; [key: string]: unknown };

/** A WebSocket client of /api/ws that keeps every message it gets. */
async function listen(base: string, headers: Record<string, string>) {
  const ws = new WebSocket(new URL('/api/ws', base.replace(/^http/, 'ws')), { headers });
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return { ws, messages };
}

describe('the HTTP API', () => {
  it('answers every route with the token, and 401 without it', async () => {
    const { web, call } = await supervise();
    // Liveness for load balancers and systemd, with no token; the Go version's /ping is behind its login, as there.
    expect(await (await fetch(new URL('/healthz', web.base))).text()).toBe('ok');

    const routes: [string, string][] = [
      ['GET', '/api/clusters'],
      ['GET', '/api/clusters/0'],
      ['POST', '/api/clusters/0/restart'],
      ['POST', '/api/rolling-restart'],
      ['GET', '/api/rolling-restart'],
      ['POST', '/api/rolling-restart/pause'],
      ['POST', '/api/rolling-restart/resume'],
      ['POST', '/api/rolling-restart/cancel'],
      ['GET', '/api/action-logs'],
      ['GET', '/api/gateway'],
      ['GET', '/api/phase'],
      ['GET', '/metrics'],
      ['GET', '/ping'],
    ];
    for (const [method, path] of routes) {
      const refused = await fetch(new URL(path, web.base), { method });
      expect(refused.status, `${method} ${path} without a token`).toBe(401);
      const wrong = await fetch(new URL(path, web.base), { method, headers: { authorization: 'Bearer not-the-token' } });
      expect(wrong.status, `${method} ${path} with a wrong token`).toBe(401);
    }

    const { clusters } = (await (await call('/api/clusters')).json()) as { clusters: Record<string, unknown>[] };
    expect(clusters.map((c) => c.id)).toEqual([0, 1, 2, 3]);
    expect(clusters[2]).toMatchObject({
      name: 'Cluster 2',
      shards: [4, 5],
      state: expect.stringMatching(/^(running|diagPending)$/),
      active: true,
      pid: expect.any(Number),
      started_at: expect.any(Number),
      restarts: 0,
      last_exit: null,
    });
    expect(clusters[2]!.transitions).toEqual(expect.arrayContaining([expect.objectContaining({ state: 'running' })]));
    const one = await eventually(
      async () => {
        const c = (await (await call('/api/clusters/2')).json()) as { last_diag: { health: unknown[] } | null };
        return c.last_diag ? c : undefined;
      },
      10_000,
      'a diagnostic of cluster 2',
    );
    expect(one.last_diag!.health).toEqual([
      { shard_id: 4, up: true, latency: 24, guilds: 5, users: 50 },
      { shard_id: 5, up: true, latency: 25, guilds: 5, users: 50 },
    ]);
    expect(await (await call('/api/gateway')).json()).toEqual({
      shards: 8,
      source: 'fixed_shard_count',
      session_start_limit: null,
      identify_buckets: 1,
      session_starts_left: null,
      clusters: 4,
    });
    const logs = (await (await call('/api/action-logs?limit=5')).json()) as { entries: { event: string }[] };
    expect(logs.entries.map((e) => e.event)).toContain('all_clusters_launched');
  });

  it('start, stop, restart and rolling restart go through the orchestrator, with its refusals', async () => {
    const { s, call } = await supervise();
    const post = async (path: string) => {
      const response = await call(path, { method: 'POST' });
      return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string } };
    };
    expect(await post('/api/clusters/abc/stop')).toEqual({ status: 400, body: { ok: false, error: 'not a cluster id: abc' } });
    expect(await post('/api/clusters/-1/stop')).toMatchObject({ status: 400 });
    expect(await post('/api/clusters/1.5/stop')).toMatchObject({ status: 400 });
    expect(await post('/api/clusters/42/stop')).toEqual({
      status: 404,
      body: { ok: false, error: 'no cluster with id 42 (ids are 0 to 3)' },
    });
    expect((await call('/api/clusters/42')).status).toBe(404);
    // With ping_interval 0.5, it may be waiting for a diagnostic answer just then.
    expect(await post('/api/clusters/1/start')).toEqual({
      status: 409,
      body: { ok: false, error: expect.stringMatching(/^cluster 1 is already running \((running|diagPending)\)$/) },
    });

    expect(await post('/api/clusters/1/stop')).toEqual({ status: 200, body: { ok: true } });
    await eventually(
      async () => ((await (await call('/api/clusters/1')).json()) as { state: string }).state === 'stopped',
      10_000,
      'cluster 1 stopped',
    );
    expect(await post('/api/clusters/1/stop')).toMatchObject({ status: 409, body: { error: 'cluster 1 is already stopped' } });
    expect(await post('/api/clusters/1/restart')).toMatchObject({ status: 409 });
    expect(await post('/api/clusters/1/start')).toEqual({ status: 200, body: { ok: true } });
    await eventually(
      async () => ((await (await call('/api/clusters/1')).json()) as { state: string }).state === 'running',
      10_000,
      'cluster 1 running',
    );

    const before = s.events().filter((e) => e.event === 'start' && e.id === 3).length;
    expect(await post('/api/clusters/3/restart')).toEqual({ status: 200, body: { ok: true } });
    await s.waitForEvents((e) => e.filter((x) => x.event === 'start' && x.id === 3).length === before + 1);

    await eventually(async () => (await post('/api/rolling-restart')).status === 200, 10_000, 'a rolling restart accepted');
    expect(await post('/api/rolling-restart')).toEqual({
      status: 409,
      body: { ok: false, error: 'a rolling restart is already in progress' },
    });
    await s.waitForLog((l) => l.msg === 'rolling restart: done', 30_000);
  });

  it('trades the token in the URL for an HttpOnly, SameSite=Strict session cookie (never the token), and refuses cookie-borne cross-origin changes', async () => {
    const { web } = await supervise();
    const bad = await fetch(new URL(`/?token=wrong`, web.base), { redirect: 'manual' });
    expect(bad.status).toBe(401);
    const good = await fetch(new URL(`/?token=${web.token}`, web.base), { redirect: 'manual' });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/');
    const cookie = good.headers.get('set-cookie')!;
    expect(cookie).toMatch(
      new RegExp(`^mewld_session_${new URL(web.base).port}=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=/; HttpOnly; SameSite=Strict$`),
    );
    expect(cookie).not.toContain(web.token);
    const jar = { cookie: cookie.split(';')[0]! };
    expect((await fetch(new URL('/api/clusters', web.base), { headers: jar })).status).toBe(200);
    const foreign = await fetch(new URL('/api/clusters/0/restart', web.base), {
      method: 'POST',
      headers: { ...jar, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    // Bearer tokens are not sent by browsers on their own: no origin check for them.
    const page = await fetch(new URL('/', web.base));
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(new URL('/api/clusters', web.base), { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('listens on 127.0.0.1 by default: its listening socket, not only the URL it prints', async () => {
    const { s, web } = await supervise();
    expect(new URL(web.base).hostname).toBe('127.0.0.1');
    expect(listeningOn(s.proc.pid!, Number(new URL(web.base).port))).toEqual(['127.0.0.1']);
  });
});

describe('GET /metrics', () => {
  /** The samples of a Prometheus text exposition, by series (name and labels as written). */
  const samples = (text: string) =>
    new Map(
      text
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))] as const),
    );

  it("serves each cluster's state, health and restarts, and the supervisor's own, for Prometheus", async () => {
    const { s, call } = await supervise();
    const scrape = async () => {
      const res = await call('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return samples(await res.text());
    };
    // Clusters answer diagnostics in no set order: wait for the one whose figures are read below.
    const first = await eventually(
      async () => {
        const m = await scrape();
        return m.get('mewld_cluster_shards_up{cluster="2"}') === 2 && m.has('mewld_cluster_latency_seconds{cluster="2"}') ? m : undefined;
      },
      10_000,
      'a diagnostic of cluster 2 in the metrics',
    );
    expect(first.get('mewld_phase{phase="up"}')).toBe(1);
    expect(first.get('mewld_bus_up')).toBe(1);
    expect(first.get('mewld_shards')).toBe(8);
    // By what each state means, not by the machine's internal state names.
    expect(first.get('mewld_clusters{state="up"}')).toBe(4);
    expect(first.get('mewld_clusters{state="dead"}')).toBe(0);
    expect([...first.keys()].filter((k) => k.startsWith('mewld_clusters{'))).toEqual(
      ['idle', 'starting', 'up', 'stopping', 'dead', 'backoff', 'failed', 'stopped'].map((g) => `mewld_clusters{state="${g}"}`),
    );
    // With fixed_shard_count there is no session start count: absent, not 0.
    expect(first.has('mewld_session_starts_left')).toBe(false);
    expect(first.get('mewld_cluster_info{cluster="2",name="Cluster 2",shards="4,5"}')).toBe(1);
    expect(first.get('mewld_cluster_latency_seconds{cluster="2"}')).toBeCloseTo(0.0245, 6); // the fixture's 24 and 25 ms
    for (const cause of ['crash', 'hang', 'operator', 'rollout'])
      expect(first.get(`mewld_cluster_restarts_total{cluster="2",cause="${cause}"}`)).toBe(0);
    expect(first.get('mewld_process_resident_memory_bytes')).toBeGreaterThan(10e6);

    // What Prometheus's own checker says of the exposition.
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await (await call('/metrics')).text(), encoding: 'utf8' });
    expect(check.error, 'promtool (the Debian package prometheus)').toBeUndefined();
    expect(check.status, check.stdout + check.stderr).toBe(0);

    process.kill(s.events().find((e) => e.event === 'start' && e.id === 2)!.pid as number, 'SIGKILL');
    await eventually(
      async () => {
        const m = await scrape();
        // A kill -9 is a crash, not an operator's restart.
        return (
          m.get('mewld_cluster_restarts_total{cluster="2",cause="crash"}') === 1 &&
          m.get('mewld_cluster_restarts_total{cluster="2",cause="operator"}') === 0 &&
          m.get('mewld_cluster_up{cluster="2"}') === 1
        );
      },
      10_000,
      'cluster 2 counted as restarted, and up',
    );
  });
});

describe('the live stream', () => {
  it('starts with a snapshot that matches GET /api/clusters', async () => {
    // No diagnostic round between the snapshot and the GET: the shared clock ticks on multiples of ping_interval.
    const { web, call } = await supervise({ ping_interval: 3600 });
    const { ws, messages } = await listen(web.base, web.auth);
    await eventually(() => messages.length > 0, 5000, 'the snapshot');
    const { clusters } = (await (await call('/api/clusters')).json()) as { clusters: unknown[] };
    const snapshot = messages[0]!;
    expect(snapshot.type).toBe('snapshot');
    expect(snapshot.phase).toBe('up');
    expect(snapshot.bus).toEqual({ kind: 'ipc', up: true });
    expect(snapshot.clusters).toEqual(clusters);
    ws.close();
  });

  it('kill -9 of a cluster: dead, then starting ... running, in order, with increasing seq', async () => {
    const { s, web } = await supervise();
    const { ws, messages } = await listen(web.base, web.auth);
    const victim = s.events().find((e) => e.event === 'start' && e.id === 2)!.pid;
    process.kill(victim, 'SIGKILL');
    const statesOf2 = () =>
      messages.flatMap((m) =>
        m.type === 'cluster' && (m.cluster as { id: number }).id === 2 ? [(m.cluster as { state: string }).state] : [],
      );
    await eventually(
      () => statesOf2().includes('dead') && statesOf2().lastIndexOf('running') > statesOf2().indexOf('dead'),
      10_000,
      'dead then running',
    );
    const states = statesOf2();
    const dead = states.indexOf('dead');
    const starting = states.indexOf('starting', dead);
    const back = states.indexOf('running', starting);
    expect(dead).toBeGreaterThanOrEqual(0);
    expect(starting).toBeGreaterThan(dead);
    expect(back).toBeGreaterThan(starting);
    expect(states.slice(dead, back + 1)).toEqual(['dead', 'backoff', 'queued', 'starting', 'waitingLaunchNext', 'running']);
    const seqs = messages.map((m) => m.seq);
    for (let i = 2; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    expect(messages.some((m) => m.type === 'action_log' && (m.entry as { event: string }).event === 'cluster_died')).toBe(true);
    ws.close();
  });

  it('refuses an upgrade without the token', async () => {
    const { web } = await supervise();
    await expect(listen(web.base, {})).rejects.toThrow('upgrade refused: 401');
    await expect(listen(web.base, { authorization: 'Bearer wrong' })).rejects.toThrow('upgrade refused: 401');
  });

  it('drops a client that never reads, while the others keep receiving', async () => {
    const { s, web, call } = await supervise({ web: { port: 0, max_client_buffer: 16384 } });
    const good = await listen(web.base, web.auth);
    const slow = await listen(web.base, web.auth);
    const slowSocket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    slowSocket.pause(); // reads nothing from now on
    let slowClosed = false;
    slow.ws.on('close', () => (slowClosed = true));
    slow.ws.on('error', () => (slowClosed = true));
    // Snapshot requests pile data up on the slow client's side until the server gives up on it.
    for (let i = 0; i < 3000; i++) slow.ws.send('{"type":"snapshot"}');
    const dropped = (l: Record<string, unknown>) => /^dropped a WebSocket client that fell \d+ bytes behind/.test(String(l.msg));
    // However long a busy machine takes to answer them all, the client reads nothing until then.
    await eventually(() => s.logs.some(dropped), 15_000, 'the server to give up on the slow client');
    slowSocket.resume();
    await eventually(() => slowClosed, 10_000, 'the slow client to be dropped');
    expect(s.logs.filter(dropped)).toHaveLength(1);
    const seen = good.messages.length;
    expect((await call('/api/clusters/0/restart', { method: 'POST' })).status).toBe(200);
    await eventually(() => good.messages.length > seen + 3, 10_000, 'the good client to keep receiving');
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
    good.ws.close();
  });
});

describe('mewld --inspect', () => {
  it('serves a relay that passes on the inspection events of the Instance actors', async () => {
    const port = await freePort();
    const { s } = await supervise({}, [`--inspect=${port}`]);
    // The relay's URL carries its token: without it, neither the page nor the stream.
    const { url } = await s.waitForLog((l) => typeof l.url === 'string' && l.url.startsWith(`http://127.0.0.1:${port}/?token=`));
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(401);
    const received: { type: string; snapshot?: string | { context?: { input?: { cluster?: { id: number } } } } }[] = [];
    const token = new URL(url as string).searchParams.get('token')!;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?token=${encodeURIComponent(token)}`, { origin: `http://127.0.0.1:${port}` });
    ws.on('message', (data) => received.push(JSON.parse(data.toString())));
    await new Promise((resolve) => ws.once('open', resolve));
    const page = await fetch(url as string);
    expect(await page.text()).toContain('https://stately.ai/inspect');
    const clusterIds = () =>
      new Set(
        received.flatMap((e) => {
          if (e.type !== '@xstate.snapshot') return [];
          const snapshot = typeof e.snapshot === 'string' ? JSON.parse(e.snapshot) : e.snapshot;
          const id = snapshot?.context?.input?.cluster?.id;
          return id === undefined ? [] : [id];
        }),
      );
    await eventually(() => clusterIds().size === 4, 10_000, 'snapshots of the four Instance actors');
    ws.close();
  });
});
