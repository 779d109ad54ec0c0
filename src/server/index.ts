import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { CommandResult } from '../machines/orchestratorMachine.js';
import type { CommandBridge } from './commandBridge.js';
import type { LiveMessage, LiveState } from './liveState.js';

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
  log?: { warn(fields: object, message: string): void };
}

export const TOKEN_COOKIE = 'mewld_token';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares tokens in constant time (whatever their lengths). */
export function sameToken(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

const STATUS: Record<Exclude<CommandResult, { ok: true }>['status'], 404 | 409 | 503> = {
  not_found: 404,
  conflict: 409,
  unavailable: 503,
};

function answer(c: Context, result: CommandResult) {
  return result.ok ? c.json({ ok: true }) : c.json({ ok: false, error: result.reason }, STATUS[result.status]);
}

/** A cluster id from the path: a non-negative integer, or null. */
function clusterId(raw: string): number | null {
  return /^\d{1,9}$/.test(raw) ? Number(raw) : null;
}

export function createApi(options: ApiOptions) {
  const app = new Hono();

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

  app.get('/ping', (c) => c.text('pong'));

  // The dashboard. Opened with ?token=..., it trades the token for a cookie and
  // drops it from the address bar (and from history and Referer headers).
  app.get('/', (c) => {
    const token = c.req.query('token');
    if (token !== undefined) {
      if (!sameToken(token, options.token)) return c.text("This token is not the supervisor's: use the URL mewld printed at start.", 401);
      setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      return c.redirect('/', 303);
    }
    const page = options.assets['/']!;
    return c.body(page.body, 200, { 'content-type': page.type, 'cache-control': 'no-store' });
  });
  for (const [path, asset] of Object.entries(options.assets)) {
    if (path !== '/') app.get(path, (c) => c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'no-cache' }));
  }

  const requireToken: MiddlewareHandler = async (c, next) => {
    const header = c.req.header('authorization');
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    if (sameToken(bearer, options.token)) return next();
    if (sameToken(getCookie(c, TOKEN_COOKIE), options.token)) {
      // The cookie is SameSite=Strict already; a state change must also come from this origin.
      const unsafe = c.req.method !== 'GET' && c.req.method !== 'HEAD';
      const origin = c.req.header('origin');
      if (unsafe && c.req.header('sec-fetch-site') !== 'same-origin' && origin !== new URL(c.req.url).origin) {
        return c.json({ ok: false, error: 'cross-origin request refused' }, 403);
      }
      return next();
    }
    return c.json({ ok: false, error: 'unauthorized: send Authorization: Bearer <token>, or open the URL mewld printed at start' }, 401);
  };
  app.use('/api/*', requireToken);

  const { metrics } = options;
  if (metrics) {
    app.get('/metrics', requireToken, async (c) =>
      c.body(await metrics.render(), 200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }),
    );
  }

  app.get('/api/clusters', (c) => c.json({ clusters: options.live.clusters() }));

  app.get('/api/clusters/:id', (c) => {
    const id = clusterId(c.req.param('id'));
    if (id === null) return c.json({ ok: false, error: `not a cluster id: ${c.req.param('id')}` }, 400);
    const cluster = options.live.cluster(id);
    return cluster ? c.json(cluster) : c.json({ ok: false, error: `no cluster with id ${id}` }, 404);
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(`/api/clusters/:id/${action}`, async (c) => {
      const id = clusterId(c.req.param('id'));
      if (id === null) return c.json({ ok: false, error: `not a cluster id: ${c.req.param('id')}` }, 400);
      return answer(c, await options.commands.send({ type: `command.${action}`, id }));
    });
  }

  app.post('/api/rolling-restart', async (c) => answer(c, await options.commands.send({ type: 'command.rollingrestart' })));

  app.get('/api/action-logs', async (c) => {
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 10_000);
    return c.json({ entries: await options.actionLogs(limit) });
  });

  app.get('/api/gateway', (c) => c.json(options.live.gateway()));

  app.get('/api/phase', (c) => c.json(options.live.phase()));

  if (options.upgradeWebSocket) {
    app.get(
      '/api/ws',
      options.upgradeWebSocket(() => {
        let unsubscribe: (() => void) | undefined;
        let dropped = false;
        const send = (ws: WSContext<{ bufferedAmount: number; terminate(): void }>, message: LiveMessage) => {
          if (dropped) return;
          // A slow client must not slow the supervisor or grow its memory: drop it, it reconnects.
          if (ws.raw && ws.raw.bufferedAmount > options.maxClientBuffer) {
            dropped = true;
            unsubscribe?.();
            options.log?.warn(
              { behind: ws.raw.bufferedAmount },
              `dropped a WebSocket client that fell ${ws.raw.bufferedAmount} bytes behind`,
            );
            ws.raw.terminate();
            return;
          }
          ws.send(JSON.stringify(message));
        };
        return {
          onOpen(_event, ws) {
            send(ws, options.live.snapshot());
            unsubscribe = options.live.subscribe((message) => send(ws, message));
          },
          onMessage(event, ws) {
            // The only request: a fresh snapshot, after a gap in seq.
            if (typeof event.data === 'string' && event.data.includes('"snapshot"')) send(ws, options.live.snapshot());
          },
          onClose() {
            unsubscribe?.();
          },
        };
      }),
    );
  }

  app.notFound((c) => c.json({ ok: false, error: `no route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
