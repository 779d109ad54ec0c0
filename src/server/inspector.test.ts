import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { assign, createActor, createMachine } from 'xstate';
import { RECENT_BYTES, startInspectorRelay, type InspectorRelay } from './inspector.js';

/** The --inspect relay on a real port: who may read the actors' events, who may send them, and how much it keeps. */

let relay: InspectorRelay | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await relay?.close();
  relay = undefined;
});

async function start() {
  relay = await startInspectorRelay({ host: '127.0.0.1', port: 0 }, 'http://127.0.0.1:9/inspect');
  const url = new URL(relay.url);
  return { relay, origin: url.origin, token: url.searchParams.get('token') ?? '', ws: `ws://${url.host}` };
}

type Viewer = { ws: WebSocket; messages: string[]; closed: Promise<number> };

/** A WebSocket client that keeps what it receives; rejects with the status of a refused upgrade. */
function viewer(url: string, headers: Record<string, string> = {}): Promise<Viewer> {
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(data.toString()));
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

async function until(check: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const counter = createMachine({
  id: 'counter',
  context: { n: 0, blob: '' },
  on: {
    bump: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    fill: { actions: assign({ blob: ({ event }) => (event as unknown as { blob: string }).blob }) },
  },
});

const snapshotsOf = (messages: string[]) =>
  messages
    .map((m) => JSON.parse(m) as { type: string; snapshot?: { context?: { n: number } } })
    .filter((e) => e.type === '@xstate.snapshot');

describe('the inspector relay', () => {
  it('serves its page only with the token of this run, and no Referer to the inspector', async () => {
    const { relay, origin } = await start();
    for (const path of ['/', '/?token=', '/?token=not-the-token']) {
      const refused = await fetch(origin + path);
      expect(refused.status, path).toBe(401);
      expect(await refused.text(), path).not.toContain('WebSocket');
    }
    const page = await fetch(relay.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<iframe id="inspector" src="http://127.0.0.1:9/inspect"');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a WebSocket without the token, from another origin, or that pretends to be the supervisor', async () => {
    const { origin, token, ws } = await start();
    await expect(viewer(`${ws}/`)).rejects.toThrow('upgrade refused: 401');
    await expect(viewer(`${ws}/?token=not-the-token`)).rejects.toThrow('upgrade refused: 401');
    // A page of another site, even with the token (say, from a leaked URL).
    await expect(viewer(`${ws}/?token=${token}`, { origin: 'https://evil.example' })).rejects.toThrow('upgrade refused: 403');
    await expect(viewer(`${ws}/?token=${token}`, { origin: 'http://localhost:1' })).rejects.toThrow('upgrade refused: 403');
    // The supervisor's own connection has a secret of its own: the viewers' token is not it.
    await expect(viewer(`${ws}/source?secret=${token}`)).rejects.toThrow('upgrade refused: 401');
    await expect(viewer(`${ws}/source?token=${token}`)).rejects.toThrow('upgrade refused: 401');
    // Its own page, and a client that is not a browser (no Origin), with the token.
    await viewer(`${ws}/?token=${token}`, { origin });
    await viewer(`${ws}/?token=${token}`);
  });

  it("passes the supervisor's events to viewers, and nothing viewers send", async () => {
    const { relay, origin, token, ws } = await start();
    const a = await viewer(`${ws}/?token=${token}`, { origin });
    const b = await viewer(`${ws}/?token=${token}`);
    const actor = createActor(counter, { inspect: relay.inspect }).start();
    actor.send({ type: 'bump' });
    const bumped = (v: Viewer) => snapshotsOf(v.messages).some((e) => e.snapshot?.context?.n === 1);
    await until(() => bumped(a) && bumped(b), 'the snapshot after bump at both viewers');

    const seen = { a: a.messages.length, b: b.messages.length };
    const forged = JSON.stringify({
      type: '@xstate.snapshot',
      sessionId: 'x:0',
      snapshot: { context: { injected: true } },
      _version: '0.7.2',
    });
    a.ws.send(forged);
    b.ws.send(forged);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.messages.slice(seen.a)).toEqual([]);
    expect(b.messages.slice(seen.b)).toEqual([]);
    // Nor kept for those who come later.
    const c = await viewer(`${ws}/?token=${token}`, { origin });
    await until(() => bumped(c), 'the replay of the snapshot after bump');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.messages.join('\n')).not.toContain('injected');
    actor.stop();
  });

  it('closes a viewer that sends a message over 1 MiB; the others get nothing of it', async () => {
    const { origin, token, ws } = await start();
    const a = await viewer(`${ws}/?token=${token}`, { origin });
    const b = await viewer(`${ws}/?token=${token}`, { origin });
    a.ws.send(JSON.stringify({ type: '@xstate.event', pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect(await a.closed).toBe(1009); // Message Too Big
    await new Promise((r) => setTimeout(r, 200));
    expect(b.messages).toEqual([]);
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('keeps at most RECENT_BYTES of events for viewers that connect later', async () => {
    const { relay, origin, token, ws } = await start();
    const a = await viewer(`${ws}/?token=${token}`, { origin });
    const actor = createActor(counter, { inspect: relay.inspect }).start();
    actor.send({ type: 'fill', blob: 'x'.repeat(600_000) } as never);
    // 40 snapshots of 600 kB: 24 MB of events.
    for (let i = 0; i < 40; i++) actor.send({ type: 'bump' });
    await until(() => snapshotsOf(a.messages).some((e) => e.snapshot?.context?.n === 40), 'the 40th snapshot', 20_000);

    const later = await viewer(`${ws}/?token=${token}`, { origin });
    await until(() => snapshotsOf(later.messages).some((e) => e.snapshot?.context?.n === 40), 'the replay up to the 40th snapshot');
    await new Promise((r) => setTimeout(r, 200));
    const replayed = later.messages.reduce((n, m) => n + Buffer.byteLength(m), 0);
    expect(replayed).toBeLessThanOrEqual(RECENT_BYTES);
    expect(replayed).toBeGreaterThan(RECENT_BYTES / 2);
    actor.stop();
  });
});
