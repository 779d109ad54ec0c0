import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscordOAuth } from '../../tests/helpers/discord.js';
import type { SessionStore } from '../interfaces/sessions.js';
import { createAuth, memorySessions, SESSION_MS } from './auth.js';

/**
 * Log in with Discord (the Go version's oauth and allowed_ids), against a
 * local stand-in for Discord's OAuth2 token endpoint and /users/@me: never
 * discord.com.
 */

let discord: Awaited<ReturnType<typeof startFakeDiscordOAuth>>;
let discordUrl: string;
let exchanged: URLSearchParams[];

beforeAll(async () => {
  // The Discord user each code stands for.
  discord = await startFakeDiscordOAuth({ 'code-alice': '111', 'code-mallory': '666' });
  ({ url: discordUrl, exchanged } = discord);
});
afterAll(() => discord.close());

const BASE = 'http://dash.example:8080';

function app(options: { now?: () => number; allowed?: string[]; token?: string; sessions?: SessionStore } = {}) {
  const allowed = options.allowed ?? ['111'];
  const auth = createAuth({
    token: options.token ?? 'a-token-of-sixteen-characters',
    port: () => 8080,
    ...(options.now && { now: options.now }),
    ...(options.sessions && { sessions: options.sessions }),
    oauth: {
      clientId: '999908791061594194',
      clientSecret: 'the-secret',
      redirectUrl: 'http://dash.example:8080',
      discordUrl,
      allowedIds: () => allowed,
    },
  });
  const hono = new Hono();
  auth.routes(hono);
  hono.get('/ping', auth.require({ redirect: true }), (c) => c.text('pong'));
  hono.get('/api/x', auth.require(), (c) => c.text('secret'));
  hono.get('/', (c) => auth.openWithToken(c, c.req.query('token') ?? ''));
  return { hono, allowed };
}

/** A browser: keeps the cookies the app sets, sends them back. */
function browser(hono: Hono) {
  const jar = new Map<string, string>();
  const request = async (path: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await hono.request(`${BASE}${path}`, {
      ...init,
      headers: { ...(cookie && { cookie }), ...(init.headers as Record<string, string>) },
    });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const [name, value] = pair!.split('=');
      if (/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(set)) jar.delete(name!);
      else jar.set(name!, value!);
    }
    return res;
  };
  /** /login, then Discord's redirect back with `code` and the state Discord was given. */
  const login = async (code: string, redirect = '/ping') => {
    const start = await request(`/login?redirect=${encodeURIComponent(redirect)}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    return { authorize, confirm: (state = authorize.searchParams.get('state')!) => request(`/confirm?code=${code}&state=${state}`) };
  };
  return { request, login, jar };
}

describe('Log in with Discord', () => {
  it('sends the browser to Discord with the identify scope and a state, and back to where it was going', async () => {
    const { hono } = app();
    const b = browser(hono);
    // Not signed in: as the Go version did, a browser is sent to /login.
    const first = await b.request('/ping');
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/login?redirect=%2Fping');
    const { authorize, confirm } = await b.login('code-alice');
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${discordUrl}/oauth2/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: '999908791061594194',
      scope: 'identify',
      redirect_uri: 'http://dash.example:8080/confirm',
    });
    const back = await confirm();
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/ping');
    const cookie = back.headers.getSetCookie().find((c) => c.startsWith('mewld_session_8080='))!;
    expect(cookie).toMatch(/; HttpOnly; SameSite=Lax$/);
    expect(exchanged.at(-1)!.get('redirect_uri')).toBe('http://dash.example:8080/confirm');
    expect(await (await b.request('/ping')).text()).toBe('pong');
    expect(await (await b.request('/api/x')).text()).toBe('secret');
  });

  it('lets in only the ids in allowed_ids, and a session ends when its id is taken out of them', async () => {
    const { hono, allowed } = app({ allowed: ['111'] });
    const mallory = browser(hono);
    const denied = await (await mallory.login('code-mallory')).confirm();
    expect(denied.status).toBe(403);
    expect(await denied.text()).toMatch(/666 is not in allowed_ids/);
    expect((await mallory.request('/api/x')).status).toBe(401);

    const alice = browser(hono);
    await (await alice.login('code-alice')).confirm();
    expect((await alice.request('/api/x')).status).toBe(200);
    allowed.length = 0;
    expect((await alice.request('/api/x')).status).toBe(401);
  });

  it('refuses a state that is not the one this browser got, and one used before', async () => {
    const { hono } = app();
    const b = browser(hono);
    const { confirm } = await b.login('code-alice');
    expect((await confirm('forged-state')).status).toBe(400);
    // A login whose state another browser tries to finish (a login CSRF): its cookie is not there.
    const victim = browser(hono);
    const attacker = browser(hono);
    const started = await attacker.login('code-alice');
    const state = started.authorize.searchParams.get('state')!;
    expect((await victim.request(`/confirm?code=code-alice&state=${state}`)).status).toBe(400);
    // Replayed: once finished, the same state again does nothing.
    const fresh = browser(hono);
    const login = await fresh.login('code-alice');
    const good = login.authorize.searchParams.get('state')!;
    expect((await login.confirm(good)).status).toBe(302);
    expect((await fresh.request(`/confirm?code=code-alice&state=${good}`)).status).toBe(400);
  });

  it('a session expires, and logging out ends it', async () => {
    let now = 1_800_000_000_000;
    const { hono } = app({ now: () => now });
    const b = browser(hono);
    await (await b.login('code-alice')).confirm();
    expect((await b.request('/api/x')).status).toBe(200);
    now += SESSION_MS + 1;
    expect((await b.request('/api/x')).status).toBe(401);

    const c = browser(hono);
    await (await c.login('code-alice')).confirm();
    const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    // A state change from another site is refused; from the dashboard's own page it is done.
    expect((await c.request('/logout', { method: 'POST', headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const out = await c.request('/logout', { method: 'POST', headers: { origin: BASE } });
    expect(out.status).toBe(303);
    expect((await hono.request(`${BASE}/api/x`, { headers: { cookie } })).status).toBe(401);
  });

  it('takes the token, and a session id, in X-Session, where the Go UI sent its session', async () => {
    const { hono } = app();
    expect((await hono.request(`${BASE}/api/x`, { headers: { 'x-session': 'a-token-of-sixteen-characters' } })).status).toBe(200);
    const b = browser(hono);
    await (await b.login('code-alice')).confirm();
    const id = b.jar.get('mewld_session_8080')!;
    expect((await hono.request(`${BASE}/api/x`, { headers: { 'x-session': id } })).status).toBe(200);
    expect((await hono.request(`${BASE}/api/x`, { headers: { 'x-session': 'nothing-of-ours' } })).status).toBe(401);
  });

  it('a restart with a new token (the generated one) keeps Discord logins, and ends the sessions the old token opened', async () => {
    // The store outlives the server, as Redis outlives a supervisor.
    const sessions = memorySessions();
    const before = app({ sessions, token: 'the-first-generated-token' });
    const alice = browser(before.hono);
    await (await alice.login('code-alice')).confirm();
    const operator = browser(before.hono);
    expect((await operator.request('/?token=the-first-generated-token')).status).toBe(303);
    expect((await operator.request('/api/x')).status).toBe(200);

    const after = app({ sessions, token: 'the-second-generated-token' });
    const cookieOf = (b: ReturnType<typeof browser>) => [...b.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    expect((await after.hono.request(`${BASE}/api/x`, { headers: { cookie: cookieOf(alice) } })).status).toBe(200);
    expect((await after.hono.request(`${BASE}/api/x`, { headers: { cookie: cookieOf(operator) } })).status).toBe(401);
  });
});
