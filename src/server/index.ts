import { Hono, type Context } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { ClusterLogLine, ClusterLogs } from '../interfaces/clusterLogs.js';
import type { CommandResult } from '../interfaces/commands.js';
import type { SessionStore } from '../interfaces/sessions.js';
import { createAuth, fromThisOrigin, type OAuthSettings } from './auth.js';
import { goRoutes, type GoRoutesOptions } from './goRoutes.js';
import type { CommandBridge } from './commandBridge.js';
import type { History } from './history.js';
import { entryJson, shortEntry, type LiveMessage, type LiveState } from './liveState.js';

/**
 * The HTTP API, on web-standard Hono: the routes, the token, the headers.
 * What is specific to Node (the server, WebSocket upgrades, reading the
 * dashboard's files) is in node.ts.
 */

export interface Asset {
  body: string;
  type: string;
}

export interface ApiOptions {
  token: string;
  live: LiveState;
  commands: Pick<CommandBridge, 'send'>;
  actionLogs(limit: number): Promise<Record<string, unknown>[]>;
  /** The dashboard's files, by path ("/", "/app.js", ...). */
  assets: Record<string, Asset>;
  /** From the runtime adapter; without it there is no /api/ws. */
  upgradeWebSocket?: UpgradeWebSocket<{ bufferedAmount: number; terminate(): void }>;
  /** Prometheus metrics for GET /metrics (from the runtime adapter); without them there is no such route. */
  metrics?: { contentType: string; render(): Promise<string> };
  /** A WebSocket client with more than this many bytes unsent is dropped (it reconnects). */
  maxClientBuffer: number;
  /** At most this many /api/ws clients at once (default 256); more are refused. */
  maxClients?: number;
  /** Each cluster's recent output: GET /api/clusters/:id/logs, and `follow` on /api/ws. */
  logs?: ClusterLogs;
  /** Restart counts, last exits and the charts' series: GET /api/history and /api/clusters/:id/history. */
  history?: Pick<History, 'bot' | 'cluster'>;
  /** Where sessions are kept across runs; in memory only without it. */
  sessions?: SessionStore;
  /** Log in with Discord (the config's oauth and allowed_ids). */
  oauth?: OAuthSettings;
  /** The Go mewld's routes (/ping, /instance-list, /action-logs, /cluster-health, /redis/pub). */
  go?: GoRoutesOptions;
  /** The port the server listens on, for the cookies' names; known once it listens (default: the request's). */
  port?: () => number;
  now?: () => number;
  log?: { warn(fields: object, message: string): void };
}

const STATUS: Record<Exclude<CommandResult, { ok: true }>['status'], 404 | 409 | 503> = {
  not_found: 404,
  conflict: 409,
  unavailable: 503,
};

function answer(c: Context, result: CommandResult) {
  return result.ok ? c.json({ ok: true }) : c.json({ ok: false, error: result.reason }, STATUS[result.status]);
}

/** A line of a followed cluster's output on /api/ws. */
type LogMessage = { type: 'log'; id: number; line: ClusterLogLine };

/** One client follows this many clusters at most: each costs a listener on every line. */
const MAX_FOLLOWED = 16;

/** What a live client may ask: a snapshot, or to follow or stop following a cluster's output; anything else is ignored. */
function clientRequest(data: unknown): { type: 'snapshot' } | { type: 'follow' | 'unfollow'; id: number } | null {
  if (typeof data !== 'string' || data.length > 200) return null;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null) return null;
  const { type, id } = message as { type?: unknown; id?: unknown };
  if (type === 'snapshot') return { type };
  if ((type === 'follow' || type === 'unfollow') && typeof id === 'number' && Number.isInteger(id) && id >= 0) return { type, id };
  return null;
}

/** A cluster id from the path: a non-negative integer, or null. */
function clusterId(raw: string): number | null {
  return /^\d{1,9}$/.test(raw) ? Number(raw) : null;
}

const notAClusterId = (c: Context) => c.json({ ok: false, error: `not a cluster id: ${c.req.param('id')}` }, 400);
const noSuchCluster = (c: Context, id: number) => c.json({ ok: false, error: `no cluster with id ${id}` }, 404);

export { sameToken, sessionCookie, SESSION_MS, SESSIONS_KEPT } from './auth.js';

export const MAX_CLIENTS = 256;

export function createApi(options: ApiOptions) {
  const app = new Hono();
  const auth = createAuth(options);
  const requireToken = auth.require();

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
    }),
  );

  // Liveness for load balancers and probes, with no credential (the Go version's /ping needs one: below).
  app.get('/healthz', (c) => c.text('ok'));

  // The dashboard. Opened with ?token=..., it trades the token for a session cookie
  // and drops it from the address bar (and from history and Referer headers).
  app.get('/', async (c) => {
    const token = c.req.query('token');
    if (token !== undefined) return auth.openWithToken(c, token);
    const page = options.assets['/'];
    // use_custom_webui: the API without the bundled dashboard, as the Go version said it.
    if (!page) return c.text('Mewld instance up, use mewld-ui to access it using your browser');
    return c.body(page.body, 200, { 'content-type': page.type, 'cache-control': 'no-store' });
  });
  for (const [path, asset] of Object.entries(options.assets)) {
    if (path !== '/') app.get(path, (c) => c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'no-cache' }));
  }

  // A page elsewhere can open a WebSocket here, and the browser sends it the session
  // cookie (SameSite does not stop a same-site page on another port). Browsers always
  // send Origin with the upgrade: a foreign one is refused, before any credential counts.
  // Clients that are not browsers send none, and authenticate with the token.
  app.use('/api/ws', async (c, next) => {
    if (c.req.header('origin') !== undefined && !fromThisOrigin(c))
      return c.json({ ok: false, error: 'cross-origin WebSocket refused' }, 403);
    return next();
  });
  app.use('/api/*', requireToken);
  auth.routes(app);
  if (options.go) goRoutes(app, auth.require({ redirect: true }), options.go);

  const { metrics } = options;
  if (metrics) {
    app.get('/metrics', requireToken, async (c) =>
      c.body(await metrics.render(), 200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }),
    );
  }

  app.get('/api/clusters', (c) => c.json({ clusters: options.live.clusters() }));

  app.get('/api/clusters/:id', (c) => {
    const id = clusterId(c.req.param('id'));
    if (id === null) return notAClusterId(c);
    const cluster = options.live.cluster(id);
    return cluster ? c.json(cluster) : noSuchCluster(c, id);
  });

  const { history } = options;
  if (history) {
    app.get('/api/history', (c) => c.json(history.bot()));
    app.get('/api/clusters/:id/history', (c) => {
      const id = clusterId(c.req.param('id'));
      if (id === null) return notAClusterId(c);
      const found = history.cluster(id);
      return found ? c.json(found) : noSuchCluster(c, id);
    });
  }

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(`/api/clusters/:id/${action}`, async (c) => {
      const id = clusterId(c.req.param('id'));
      if (id === null) return notAClusterId(c);
      return answer(c, await options.commands.send({ type: `command.${action}`, id }));
    });
  }

  app.post('/api/rolling-restart', async (c) => answer(c, await options.commands.send({ type: 'command.rollingrestart' })));
  app.get('/api/rolling-restart', (c) => c.json({ rollout: options.live.rollout() }));
  for (const op of ['pause', 'resume', 'cancel'] as const) {
    app.post(`/api/rolling-restart/${op}`, async (c) => answer(c, await options.commands.send({ type: `command.rollingrestart_${op}` })));
  }

  app.get('/api/action-logs', async (c) => {
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 10_000);
    let entries: unknown[];
    try {
      entries = await options.actionLogs(limit);
    } catch (err) {
      return c.json({ ok: false, error: `the bus did not answer: ${(err as Error).message}` }, 503);
    }
    // Entries come from the clusters: one nested too deep (or with a BigInt) would make
    // c.json throw for all of them. Each is serialized alone, and such a one shortened.
    const json = entries.map((entry) => entryJson(entry) ?? JSON.stringify(shortEntry(entry, null)));
    return c.body(`{"entries":[${json.join(',')}]}`, 200, { 'content-type': 'application/json' });
  });

  if (options.logs) {
    const logs = options.logs;
    app.get('/api/clusters/:id/logs', (c) => {
      const id = clusterId(c.req.param('id'));
      if (id === null) return notAClusterId(c);
      if (!options.live.cluster(id)) return noSuchCluster(c, id);
      const raw = c.req.query('lines') ?? '100';
      if (!/^\d{1,6}$/.test(raw)) return c.json({ ok: false, error: `lines must be a whole number, got ${raw}` }, 400);
      return c.json({ id, lines: logs.recent(id, Number(raw)) });
    });
  }

  app.get('/api/gateway', (c) => c.json(options.live.gateway()));

  app.get('/api/phase', (c) => c.json(options.live.phase()));

  if (options.upgradeWebSocket) {
    const maxClients = options.maxClients ?? MAX_CLIENTS;
    let clients = 0;
    const full = `too many live clients (${maxClients}): try again later`;
    // Every client gets the same message object: serialized once for all of them.
    const serialized = new WeakMap<LiveMessage | LogMessage, string>();
    const serialize = (message: LiveMessage | LogMessage) => {
      let json = serialized.get(message);
      if (json === undefined) serialized.set(message, (json = JSON.stringify(message)));
      return json;
    };
    app.get(
      '/api/ws',
      // Each client costs a snapshot and a subscription: refused while full (the upgrade has no body: the status says it).
      async (c, next) => (clients >= maxClients ? c.json({ ok: false, error: full }, 503, { 'retry-after': '5' }) : next()),
      options.upgradeWebSocket(() => {
        let unsubscribe: (() => void) | undefined;
        // The clusters whose output this client follows, each with the way to stop.
        const following = new Map<number, () => void>();
        let dropped = false;
        const send = (ws: WSContext<{ bufferedAmount: number; terminate(): void }>, message: LiveMessage | LogMessage) => {
          if (dropped) return;
          // A slow client must not slow the supervisor or grow its memory: drop it, it reconnects.
          if (ws.raw && ws.raw.bufferedAmount > options.maxClientBuffer) {
            dropped = true;
            unsubscribe?.();
            for (const stop of following.values()) stop();
            options.log?.warn(
              { behind: ws.raw.bufferedAmount },
              `dropped a WebSocket client that fell ${ws.raw.bufferedAmount} bytes behind`,
            );
            ws.raw.terminate();
            return;
          }
          let json: string;
          try {
            json = serialize(message);
          } catch (err) {
            // Not for want of trying (the live state bounds what it sends): a gap in seq, and the client asks for a snapshot.
            options.log?.warn({ err: (err as Error).message, type: message.type }, 'a live message could not be serialized');
            return;
          }
          ws.send(json);
        };
        return {
          onOpen(_event, ws) {
            // Counted when open, closed when over: upgrades under way all passed the check above at once.
            if (++clients > maxClients) {
              dropped = true;
              ws.close(1013, full);
              return;
            }
            send(ws, options.live.snapshot());
            unsubscribe = options.live.subscribe((message) => send(ws, message));
          },
          onMessage(event, ws) {
            const request = clientRequest(event.data);
            // A fresh snapshot, after a gap in seq.
            if (request?.type === 'snapshot') send(ws, options.live.snapshot());
            // A cluster's output as it comes ({type: 'log'} messages, outside the seq: they are this client's alone).
            if (request?.type === 'follow' && options.logs && !following.has(request.id) && following.size < MAX_FOLLOWED) {
              following.set(
                request.id,
                options.logs.follow(request.id, (line) => send(ws, { type: 'log', id: request.id, line })),
              );
            }
            if (request?.type === 'unfollow') {
              following.get(request.id)?.();
              following.delete(request.id);
            }
          },
          onClose() {
            clients--;
            unsubscribe?.();
            for (const stop of following.values()) stop();
          },
        };
      }),
    );
  }

  app.notFound((c) => c.json({ ok: false, error: `no route ${c.req.method} ${c.req.path}` }, 404));
  // A handler that throws all the same: an answer the dashboard and the CLI can show, and a line in the log.
  app.onError((err, c) => {
    options.log?.warn({ err: err.message, path: c.req.path }, `${c.req.method} ${c.req.path} failed`);
    return c.json({ ok: false, error: 'internal error (see the supervisor log)' }, 500);
  });
  return app;
}
