import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Session, SessionStore } from '../interfaces/sessions.js';

/**
 * Who may use the web API (docs/http-api.md, authentication): the token
 * (`Authorization: Bearer`, or the Go UI's `X-Session` header), or a session:
 * opened by the dashboard's `/?token=...`, or by logging in with Discord
 * (OAuth2, `oauth` and `allowed_ids` in the config, as the Go version did).
 * The session id travels in a cookie (or X-Session) and is never the token.
 */

export interface OAuthSettings {
  clientId: string;
  clientSecret: string;
  /** The Go version's `redirect_url`: Discord sends the browser back to `<redirect_url>/confirm`. */
  redirectUrl: string;
  /** Where Discord is: https://discord.com, or a stand-in (tests). */
  discordUrl: string;
  /** The Discord user ids that may log in; re-read at every request, so that removing one ends their sessions. */
  allowedIds: () => readonly string[];
}

export interface AuthOptions {
  token: string;
  sessions?: SessionStore;
  oauth?: OAuthSettings;
  /** The port the server listens on, for the cookies' names; known once it listens (default: the request's). */
  port?: () => number;
  now?: () => number;
  fetch?: typeof fetch;
}

export const SESSION_MS = 7 * 24 * 3600 * 1000;
export const SESSIONS_KEPT = 1000;
/** How long a login with Discord may take, from /login to /confirm. */
const LOGIN_MS = 10 * 60 * 1000;

/**
 * The session cookie. Browsers send a host's cookies to all its ports, so the
 * name has the port: two supervisors on one host keep their own.
 */
export const sessionCookie = (port: number | string) => `mewld_session_${port}`;
const loginCookie = (port: number | string) => `mewld_login_${port}`;
/** The cookie of earlier versions, which held the token itself: cleared when a session is opened. */
const OLD_TOKEN_COOKIE = 'mewld_token';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares tokens in constant time (whatever their lengths). */
export function sameToken(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/** Sessions in memory, at most SESSIONS_KEPT (the oldest go first): when nothing keeps them longer. */
export function memorySessions(max = SESSIONS_KEPT): SessionStore {
  const sessions = new Map<string, Session>();
  return {
    get: async (key) => sessions.get(key),
    async set(key, session) {
      sessions.delete(key);
      sessions.set(key, session);
      for (const old of sessions.keys()) {
        if (sessions.size <= max) break;
        sessions.delete(old);
      }
    },
    async delete(key) {
      sessions.delete(key);
    },
  };
}

/** Whether a request comes from a page of this origin, by what browsers say (and pages cannot forge). */
export function fromThisOrigin(c: Context): boolean {
  // Sec-Fetch-Site too: behind a proxy that ends TLS, Origin is https:// and the request's own URL http://.
  return c.req.header('sec-fetch-site') === 'same-origin' || c.req.header('origin') === new URL(c.req.url).origin;
}

export function createAuth(options: AuthOptions) {
  const now = options.now ?? Date.now;
  const store = options.sessions ?? memorySessions();
  const port = (c: Context) => options.port?.() ?? new URL(c.req.url).port;
  // Keyed by a hash of the id: what is stored cannot be used as a cookie.
  const key = (id: string) => digest(id).toString('base64url');
  // A session opened with the token holds a hash of it: a new token ends those. One opened by Discord outlives it
  // (a supervisor with a generated token, restarted, keeps its Discord logins when the sessions are in Redis).
  const tokenMark = digest(`mewld-session\0${options.token}`).toString('base64url');
  // Over https, or behind a proxy that serves the redirect_url over https.
  const secure = (c: Context) => new URL(c.req.url).protocol === 'https:' || (options.oauth?.redirectUrl.startsWith('https:') ?? false);

  /** Opens a session and sets its cookie: SameSite=Strict for one opened with the token, Lax after Discord's redirect. */
  const open = async (c: Context, session: Omit<Session, 'expires'>, sameSite: 'Strict' | 'Lax') => {
    const name = sessionCookie(port(c));
    const previous = getCookie(c, name);
    if (previous !== undefined) await store.delete(key(previous));
    const id = randomBytes(32).toString('base64url');
    await store.set(key(id), { ...session, expires: now() + SESSION_MS });
    setCookie(c, name, id, { httpOnly: true, sameSite, path: '/', maxAge: SESSION_MS / 1000, secure: secure(c) });
    if (getCookie(c, OLD_TOKEN_COOKIE) !== undefined) deleteCookie(c, OLD_TOKEN_COOKIE, { path: '/' });
  };

  /** The session a request carries, if it is one and still good (its user still allowed). */
  const sessionOf = async (id: string | undefined): Promise<Session | undefined> => {
    if (id === undefined) return undefined;
    const session = await store.get(key(id));
    if (!session) return undefined;
    if (session.expires <= now()) {
      await store.delete(key(id));
      return undefined;
    }
    if (session.user === undefined ? session.token !== tokenMark : !(options.oauth?.allowedIds() ?? []).includes(session.user)) {
      return undefined;
    }
    return session;
  };

  /**
   * Lets the request through with the token or a good session; else 401, or for a browser
   * that can log in with Discord, a redirect to /login (as the Go version answered).
   */
  const require = ({ redirect = false } = {}): MiddlewareHandler =>
    async function requireAuth(c, next) {
      const header = c.req.header('authorization');
      const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
      const xSession = c.req.header('x-session');
      if (sameToken(bearer, options.token) || sameToken(xSession, options.token)) return next();
      if (await sessionOf(xSession)) return next();
      if (await sessionOf(getCookie(c, sessionCookie(port(c))))) {
        // The cookie comes by itself with any request from the browser: a state change must also come from this origin.
        const unsafe = c.req.method !== 'GET' && c.req.method !== 'HEAD';
        if (unsafe && !fromThisOrigin(c)) return c.json({ ok: false, error: 'cross-origin request refused' }, 403);
        return next();
      }
      if (redirect && options.oauth && c.req.method === 'GET') return c.redirect(`/login?redirect=${encodeURIComponent(c.req.path)}`, 302);
      return c.json(
        {
          ok: false,
          error: 'unauthorized: send Authorization: Bearer <token>, or open the URL mewld printed at start',
          ...(options.oauth && { login: '/login' }),
        },
        401,
      );
    };

  return {
    require,
    /** The dashboard opened with ?token=...: a session for it, the token dropped from the address bar. */
    async openWithToken(c: Context, token: string) {
      if (!sameToken(token, options.token)) return c.text("This token is not the supervisor's: use the URL mewld printed at start.", 401);
      await open(c, { token: tokenMark }, 'Strict');
      return c.redirect('/', 303);
    },
    /** Log in with Discord, log out. */
    routes(app: Hono) {
      app.post('/logout', async (c) => {
        if (!fromThisOrigin(c)) return c.json({ ok: false, error: 'cross-origin request refused' }, 403);
        const name = sessionCookie(port(c));
        const id = getCookie(c, name) ?? c.req.header('x-session');
        if (id !== undefined) await store.delete(key(id));
        deleteCookie(c, name, { path: '/' });
        return c.redirect('/', 303);
      });
      const oauth = options.oauth;
      if (!oauth) return;
      // What /login started and /confirm may finish once: the state Discord hands back, bound to the browser by a cookie.
      const pending = new Map<string, { redirect: string; expires: number }>();
      const callback = `${oauth.redirectUrl.replace(/\/+$/, '')}/confirm`;

      app.get('/login', (c) => {
        for (const [state, login] of pending) if (login.expires <= now() || pending.size > SESSIONS_KEPT) pending.delete(state);
        const state = randomBytes(24).toString('base64url');
        pending.set(state, { redirect: sameSiteRedirect(c.req.query('redirect')), expires: now() + LOGIN_MS });
        setCookie(c, loginCookie(port(c)), state, {
          httpOnly: true,
          sameSite: 'Lax',
          path: '/',
          maxAge: LOGIN_MS / 1000,
          secure: secure(c),
        });
        const url = new URL('/oauth2/authorize', oauth.discordUrl);
        url.search = new URLSearchParams({
          response_type: 'code',
          client_id: oauth.clientId,
          scope: 'identify',
          state,
          redirect_uri: callback,
        }).toString();
        return c.redirect(url.toString(), 302);
      });

      app.get('/confirm', async (c) => {
        const state = c.req.query('state');
        const mine = getCookie(c, loginCookie(port(c)));
        deleteCookie(c, loginCookie(port(c)), { path: '/' });
        const login = state === undefined ? undefined : pending.get(state);
        if (state !== undefined) pending.delete(state);
        if (!login || mine === undefined || !sameToken(state, mine) || login.expires <= now()) {
          return c.text('This login is not the one this browser started, or it is too old: log in again from /login.', 400);
        }
        const code = c.req.query('code');
        if (code === undefined) return c.text(`Discord did not let you in: ${c.req.query('error') ?? 'no code'}.`, 400);
        const user = await discordUser(oauth, callback, code, options.fetch ?? fetch);
        if ('error' in user) return c.text(`Could not log in with Discord: ${user.error}`, 502);
        if (!oauth.allowedIds().includes(user.id)) {
          return c.text(`The Discord account ${user.id} is not in allowed_ids: ask the bot's operators to add it.`, 403);
        }
        await open(c, { user: user.id }, 'Lax');
        return c.redirect(login.redirect, 302);
      });
    },
  };
}

/** Only a path of this site: the Go version redirected anywhere the state said (an open redirect). */
function sameSiteRedirect(path: string | undefined): string {
  return path !== undefined && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
}

/** The Discord user who authorized the code: the token exchange, then /users/@me. */
async function discordUser(
  oauth: OAuthSettings,
  redirectUri: string,
  code: string,
  fetchFn: typeof fetch,
): Promise<{ id: string } | { error: string }> {
  try {
    const tokenRes = await fetchFn(new URL('/api/oauth2/token', oauth.discordUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: oauth.clientId,
        client_secret: oauth.clientSecret,
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const token = (await tokenRes.json().catch(() => ({}))) as { access_token?: unknown };
    if (!tokenRes.ok || typeof token.access_token !== 'string') return { error: `the token exchange answered ${tokenRes.status}` };
    const meRes = await fetchFn(new URL('/api/users/@me', oauth.discordUrl), {
      headers: { authorization: `Bearer ${token.access_token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const me = (await meRes.json().catch(() => ({}))) as { id?: unknown };
    if (!meRes.ok || typeof me.id !== 'string') return { error: `/users/@me answered ${meRes.status}` };
    return { id: me.id };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export type Auth = ReturnType<typeof createAuth>;
