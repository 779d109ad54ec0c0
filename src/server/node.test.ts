import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SESSION_MS, SESSIONS_KEPT, type ApiOptions } from './index.js';
import { createLiveState, SNAPSHOT_LOG_BYTES } from './liveState.js';
import { Registry } from 'prom-client';
import { PROMETHEUS_TEXT, startWebServer, type WebServer } from './node.js';

/** The Node adapter on a real port: WebSocket clients come and go without leaving anything behind. */

let server: WebServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const TOKEN = 'a-token-of-sixteen+';

async function start(overrides: Partial<Omit<ApiOptions, 'live' | 'assets' | 'upgradeWebSocket' | 'port'>> = {}) {
  const live = createLiveState({ busKind: 'ipc' });
  let subscribers = 0;
  const counted = {
    ...live,
    snapshot: () => live.snapshot(),
    subscribe(listener: Parameters<typeof live.subscribe>[0]) {
      subscribers++;
      const unsubscribe = live.subscribe(listener);
      return () => {
        subscribers--;
        unsubscribe();
      };
    },
  };
  server = await startWebServer(
    { host: '127.0.0.1', port: 0 },
    {
      token: 'a-token-of-sixteen+',
      live: counted as typeof live,
      commands: { send: async () => ({ ok: true }) },
      actionLogs: async () => [],
      maxClientBuffer: 1 << 20,
      ...overrides,
    },
  );
  const base = `http://127.0.0.1:${server.port}`;
  return { live, subscribers: () => subscribers, base, origin: base };
}

type Client = { ws: WebSocket; messages: string[] };

/** A client of /api/ws that keeps what it receives; rejects with the status of a refused upgrade. */
function connect(headers: Record<string, string>): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/api/ws`, { headers });
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(data.toString()));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

async function until(check: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const bearer = { authorization: `Bearer ${TOKEN}` };

/** Opens the dashboard with the token, as its URL does: the session cookie it sets, as a Cookie header. */
async function signIn(base: string) {
  const response = await fetch(`${base}/?token=${encodeURIComponent(TOKEN)}`, { redirect: 'manual' });
  expect(response.status).toBe(303);
  const setCookie = response.headers.get('set-cookie')!;
  return { setCookie, cookie: setCookie.split(';')[0]! };
}

/** An action log entry 5,000 arrays deep: more than JSON.stringify can take. */
function deep(): Record<string, unknown> {
  let nested: unknown[] = [];
  for (let i = 0; i < 5000; i++) nested = [nested];
  return { event: 'deep', ts: 7, nested };
}

describe('startWebServer', () => {
  it('unsubscribes a WebSocket client when it goes away', async () => {
    const { live, subscribers } = await start();
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/api/ws`, { headers: { authorization: 'Bearer a-token-of-sixteen+' } });
        await new Promise((resolve) => ws.once('message', resolve));
        return ws;
      }),
    );
    expect(subscribers()).toBe(20);
    for (const ws of clients.slice(0, 10)) ws.close();
    for (const ws of clients.slice(10)) ws.terminate();
    await new Promise((r) => setTimeout(r, 300));
    expect(subscribers()).toBe(0);
    live.actionLog({ event: 'after' });
  });

  it('refuses to start on a port that is taken, with the reason', async () => {
    await start();
    await expect(
      startWebServer(
        { host: '127.0.0.1', port: server!.port },
        {
          token: 'x'.repeat(16),
          live: createLiveState({ busKind: 'ipc' }),
          commands: { send: async () => ({ ok: true }) },
          actionLogs: async () => [],
          maxClientBuffer: 1024,
        },
      ),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('who may use the web server', () => {
  it('refuses a WebSocket upgrade from a page of another origin (403), whatever its credentials', async () => {
    const { base, origin } = await start();
    const { cookie } = await signIn(base);
    await expect(connect({ ...bearer, origin: 'https://evil.example' })).rejects.toThrow('upgrade refused: 403');
    await expect(connect({ cookie, origin: 'https://evil.example' })).rejects.toThrow('upgrade refused: 403');
    // Another port of this host is another origin (and gets the cookie: cookies ignore ports).
    await expect(connect({ cookie, origin: 'http://127.0.0.1:1' })).rejects.toThrow('upgrade refused: 403');
    await expect(connect({ cookie, origin: 'null' })).rejects.toThrow('upgrade refused: 403');
    // Its own page, with the session cookie; a client that is not a browser, with the token.
    const own = await connect({ cookie, origin });
    const cli = await connect(bearer);
    await until(() => own.messages.length > 0 && cli.messages.length > 0, 'the snapshots');
    own.ws.close();
    cli.ws.close();
  });

  it('trades the token for a session: the cookie holds no token, has the port in its name, and authenticates', async () => {
    const { base, origin } = await start();
    const { setCookie, cookie } = await signIn(base);
    const port = server!.port;
    expect(setCookie).toMatch(new RegExp(`^mewld_session_${port}=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=/; HttpOnly; SameSite=Strict$`));
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).not.toContain(encodeURIComponent(TOKEN));
    expect((await fetch(`${base}/api/clusters`, { headers: { cookie } })).status).toBe(200);
    // The token itself in a cookie (as before) is not a credential, nor is a made-up session.
    for (const forged of [`mewld_token=${TOKEN}`, `mewld_session_${port}=${TOKEN}`, `mewld_session_${port}=${'A'.repeat(43)}`]) {
      expect((await fetch(`${base}/api/clusters`, { headers: { cookie: forged } })).status, forged).toBe(401);
    }
    // A session of this supervisor under another port's name is not this one's.
    const elsewhere = cookie.replace(`mewld_session_${port}=`, `mewld_session_${port + 1}=`);
    expect((await fetch(`${base}/api/clusters`, { headers: { cookie: elsewhere } })).status).toBe(401);
    // Changes still need this origin.
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/rolling-restart`, { method: 'POST', headers: { cookie, ...headers } });
    expect((await post({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ origin })).status).toBe(200);
  });

  it('ends sessions after SESSION_MS, and the oldest beyond SESSIONS_KEPT', async () => {
    let now = 1_000_000;
    const { base } = await start({ now: () => now });
    const clusters = (cookie: string) => fetch(`${base}/api/clusters`, { headers: { cookie } }).then((r) => r.status);
    const first = (await signIn(base)).cookie;
    now += SESSION_MS - 1;
    expect(await clusters(first)).toBe(200);
    now += 1;
    expect(await clusters(first)).toBe(401);

    const oldest = (await signIn(base)).cookie;
    const second = (await signIn(base)).cookie;
    // The others in between, in any order.
    for (let i = 2; i < SESSIONS_KEPT; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, SESSIONS_KEPT - i) }, () => signIn(base)));
    }
    expect(await clusters(oldest)).toBe(200);
    const newest = (await signIn(base)).cookie;
    expect(await clusters(oldest)).toBe(401);
    expect(await clusters(second)).toBe(200);
    expect(await clusters(newest)).toBe(200);
  });

  it('refuses /api/ws clients beyond maxClients, clearly, and takes one again when another leaves', async () => {
    await start({ maxClients: 3 });
    const clients = await Promise.all([1, 2, 3].map(() => connect(bearer)));
    await expect(connect(bearer)).rejects.toThrow('upgrade refused: 503');
    clients[0]!.ws.close();
    await until(() => clients[0]!.ws.readyState === WebSocket.CLOSED, 'the first client to leave');
    await new Promise((r) => setTimeout(r, 50));
    const again = await connect(bearer);
    await until(() => again.messages.length > 0, 'a snapshot');
    for (const c of [...clients, again]) c.ws.close();
  });
});

describe('what the web server sends, whatever the clusters log', () => {
  it('bounds the first snapshot, with 1,000 fat action log entries', async () => {
    const { live } = await start();
    const blob = 'x'.repeat(100_000);
    for (let i = 0; i < 1000; i++) live.actionLog({ event: 'fat', ts: i, blob });
    const fat = await connect(bearer);
    await until(() => fat.messages.length > 0, 'the snapshot');
    expect(fat.messages[0]!.length).toBeLessThan(SNAPSHOT_LOG_BYTES + 64 * 1024);
    const logs = (JSON.parse(fat.messages[0]!) as { action_logs: Record<string, unknown>[] }).action_logs;
    const bytes = Buffer.byteLength(JSON.stringify({ event: 'fat', ts: 999, blob }));
    expect(logs.at(-1)).toEqual({ event: 'fat', ts: 999, truncated: true, bytes });

    // Entries of 3.5 KiB are kept whole, but not all of them in a snapshot: the newest.
    const mid = 'y'.repeat(3500);
    for (let i = 0; i < 1000; i++) live.actionLog({ event: 'mid', ts: 1000 + i, mid });
    const later = await connect(bearer);
    await until(() => later.messages.length > 0, 'the snapshot');
    expect(later.messages[0]!.length).toBeLessThan(SNAPSHOT_LOG_BYTES + 64 * 1024);
    const kept = (JSON.parse(later.messages[0]!) as { action_logs: Record<string, unknown>[] }).action_logs;
    expect(kept.length).toBeGreaterThan(50);
    expect(kept.at(-1)).toEqual({ event: 'mid', ts: 1999, mid });
    expect(kept.map((e) => e.ts)).toEqual(kept.map((_, i) => 2000 - kept.length + i));

    // Live, too: the entry in short.
    live.actionLog({ event: 'fat', ts: 5000, blob });
    await until(() => later.messages.length > 1, 'the action_log message');
    expect(later.messages[1]!.length).toBeLessThan(4096);
    expect(JSON.parse(later.messages[1]!)).toMatchObject({ type: 'action_log', entry: { event: 'fat', ts: 5000, truncated: true } });
    fat.ws.close();
    later.ws.close();
  });

  it('/api/action-logs answers 200 with an entry 5,000 arrays deep, in short, and 503 when the bus does not answer', async () => {
    let fail = false;
    const entries = [{ event: 'before', ts: 1 }, deep(), { event: 'big', ts: 8, n: 10n }, { event: 'after', ts: 9 }];
    const { base } = await start({
      actionLogs: async () => {
        if (fail) throw new Error('redis is away');
        return entries;
      },
    });
    const response = await fetch(`${base}/api/action-logs`, { headers: bearer });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      entries: [
        { event: 'before', ts: 1 },
        { event: 'deep', ts: 7, truncated: true, bytes: null },
        { event: 'big', ts: 8, truncated: true, bytes: null },
        { event: 'after', ts: 9 },
      ],
    });
    fail = true;
    const away = await fetch(`${base}/api/action-logs`, { headers: bearer });
    expect(away.status).toBe(503);
    expect(await away.json()).toEqual({ ok: false, error: 'the bus did not answer: redis is away' });
  });

  it('passes an entry 5,000 arrays deep on to the live stream in short, and keeps serving snapshots', async () => {
    const { live } = await start();
    const client = await connect(bearer);
    await until(() => client.messages.length > 0, 'the snapshot');
    live.actionLog(deep());
    live.actionLog({ event: 'after', ts: 9 });
    await until(() => client.messages.length > 2, 'the action_log messages');
    expect(client.messages.slice(1).map((m) => JSON.parse(m).entry)).toEqual([
      { event: 'deep', ts: 7, truncated: true, bytes: null },
      { event: 'after', ts: 9 },
    ]);
    const another = await connect(bearer);
    await until(() => another.messages.length > 0, 'the snapshot');
    expect(JSON.parse(another.messages[0]!).action_logs).toEqual([
      { event: 'deep', ts: 7, truncated: true, bytes: null },
      { event: 'after', ts: 9 },
    ]);
    client.ws.close();
    another.ws.close();
  });
});

describe('GET /metrics', () => {
  it('loads prom-client at the first scrape, and answers in its text format under the content type it names', async () => {
    expect(PROMETHEUS_TEXT).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const { base } = await start();
    for (let scrape = 0; scrape < 2; scrape++) {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.headers.get('content-type')).toBe(PROMETHEUS_TEXT);
      expect(await res.text()).toMatch(/^# HELP mewld_/m);
    }
  });
});
