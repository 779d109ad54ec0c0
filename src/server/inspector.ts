import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import { sameToken } from './index.js';

/**
 * `mewld --inspect`: a relay for the Stately inspector. The supervisor sends
 * its inspection events with @statelyai/inspect's WebSocket inspector; the
 * relay passes them to every browser that opens its page, which shows them
 * in the Stately inspector (https://stately.ai/inspect). It is the relay of
 * @statelyai/inspect/server, with differences: that one listens on every
 * interface, this one on the web server's host (127.0.0.1 by default); and
 * that one is open, to any page of any site.
 *
 * The events hold every actor's context (nonces, salts, pids), so:
 * - the page and its WebSocket need a token, random per run, in the URL printed at start;
 * - a browser's WebSocket must come from the relay's own page (its Origin);
 * - only the supervisor's own connection sends events, with a secret browsers never see:
 *   viewers only receive, what they send is dropped;
 * - messages, and what is kept for viewers that connect later, are bounded.
 */

/** What is kept for viewers that connect later: the last messages, by count and by size. */
export const RECENT_MESSAGES = 1000;
export const RECENT_BYTES = 16 * 1024 * 1024;
/** Viewers have nothing to say: a message this big closes their connection (1009). */
export const VIEWER_MAX_PAYLOAD = 1024 * 1024;
/**
 * An event of the supervisor's: its orchestrator's snapshot grows with the
 * fleet. More closes the supervisor's connection, and @statelyai/inspect
 * does not reconnect after a close: room for a large fleet.
 */
export const SOURCE_MAX_PAYLOAD = 8 * 1024 * 1024;
export const MAX_VIEWERS = 64;
/** A viewer with more unsent (it does not read) is dropped: it reconnects with a reload. */
const VIEWER_BUFFER = 2 * RECENT_BYTES;

/** How long the page waits for the hosted inspector to say it is ready before it says that it has not. */
const UNREACHABLE_AFTER_MS = 8000;

function bridgeScript(): string {
  // The inspector in the iframe says when it is ready: from then on, events go
  // to that frame and that origin only (not '*', whatever the frame became).
  return `
const iframe = document.getElementById('inspector');
const buffer = [];
let target = null;
window.addEventListener('message', (e) => {
  if (e.source !== iframe.contentWindow || !e.data || e.data.type !== '@statelyai.connected') return;
  target = e.origin;
  document.getElementById('unreachable').hidden = true;
  buffer.splice(0).forEach((event) => iframe.contentWindow.postMessage(event, target));
});
// The inspector is a hosted page: a browser that cannot reach it would show an empty frame and no word why.
setTimeout(() => {
  if (!target) document.getElementById('unreachable').hidden = false;
}, ${UNREACHABLE_AFTER_MS});
const token = new URLSearchParams(location.search).get('token') || '';
const ws = new WebSocket('ws://' + location.host + '/?token=' + encodeURIComponent(token));
ws.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (target) iframe.contentWindow.postMessage(data, target);
  else if (buffer.push(data) > ${RECENT_MESSAGES}) buffer.shift();
};
`;
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function bridgePage(inspectorUrl: string, script: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mewld · Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}
#unreachable{position:fixed;inset:auto 1rem 1rem 1rem;margin:0;padding:1rem;font:15px/1.5 system-ui,sans-serif;background:#fff3cd;color:#3d2c00;border-radius:6px}</style></head>
<body><iframe id="inspector" src="${escapeAttribute(inspectorUrl)}" referrerpolicy="no-referrer"></iframe>
<p id="unreachable" role="alert" hidden>The Stately inspector (${escapeAttribute(inspectorUrl)}) has not answered: it is a page on the
internet, which this browser must be able to reach. The relay is running and keeps the latest events for it; reload once
the inspector can be reached. The machines are also drawn in docs/architecture.md, and the dashboard needs no internet.</p>
<script>${script}</script></body></html>`;
}

/** Refuses an upgrade with an HTTP status, before any WebSocket exists. */
function refuse(socket: Duplex, status: 401 | 403 | 404 | 503, reason: string) {
  const text = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status];
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  );
}

export async function startInspectorRelay(listen: { host: string; port: number }, inspectorUrl = 'https://stately.ai/inspect') {
  const token = randomBytes(32).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const script = bridgeScript();
  const page = bridgePage(inspectorUrl, script);
  const headers = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // The token is in the page's URL: no Referer to the inspector's site.
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': `script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };

  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay');
    if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } else if (!sameToken(url.searchParams.get('token') ?? undefined, token)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('open the URL mewld printed at start (with its ?token=...)');
    } else {
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : page);
    }
  });

  const viewers = new WebSocketServer({ noServer: true, maxPayload: VIEWER_MAX_PAYLOAD });
  const sources = new WebSocketServer({ noServer: true, maxPayload: SOURCE_MAX_PAYLOAD });
  const recent: string[] = [];
  let recentBytes = 0;

  const keep = (message: string) => {
    recent.push(message);
    recentBytes += Buffer.byteLength(message);
    while (recent.length > RECENT_MESSAGES || recentBytes > RECENT_BYTES) recentBytes -= Buffer.byteLength(recent.shift()!);
  };

  const pass = (message: string) => {
    for (const viewer of viewers.clients) {
      if (viewer.readyState !== WebSocket.OPEN) continue;
      if (viewer.bufferedAmount > VIEWER_BUFFER) viewer.terminate();
      else viewer.send(message);
    }
  };

  // A message over maxPayload is an 'error' on the socket (then closed, 1009): without a listener, it would end the supervisor.
  const ignore = () => {};
  sources.on('connection', (ws) => {
    ws.on('error', ignore);
    ws.on('message', (data) => {
      const message = data.toString();
      keep(message);
      pass(message);
    });
  });
  viewers.on('connection', (ws) => {
    ws.on('error', ignore);
    // Viewers only receive: no listener for what one sends, it goes nowhere.
    for (const message of recent) ws.send(message);
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://relay');
    const origin = req.headers.origin;
    if (url.pathname === '/source') {
      // The supervisor's own inspector, from Node: browsers always send an Origin.
      if (origin !== undefined || !sameToken(url.searchParams.get('secret') ?? undefined, secret))
        return refuse(socket, 401, 'unauthorized');
      return sources.handleUpgrade(req, socket, head, (ws) => sources.emit('connection', ws, req));
    }
    if (url.pathname !== '/') return refuse(socket, 404, 'not found');
    // A page of another site cannot forge Origin; clients that are not browsers send none, and need the token all the same.
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return refuse(socket, 403, 'cross-origin WebSocket refused');
    if (!sameToken(url.searchParams.get('token') ?? undefined, token)) return refuse(socket, 401, 'unauthorized');
    if (viewers.clients.size >= MAX_VIEWERS) return refuse(socket, 503, `too many viewers (${MAX_VIEWERS})`);
    viewers.handleUpgrade(req, socket, head, (ws) => viewers.emit('connection', ws, req));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(listen.port, listen.host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const inspector = createWebSocketInspector({ url: `ws://${host}:${port}/source?secret=${secret}` });
  return {
    /** The page, with the token: print it for the operator. */
    url: `http://${host}:${port}/?token=${token}`,
    port,
    inspect: inspector.inspect,
    close: () =>
      new Promise<void>((resolve) => {
        inspector.stop();
        for (const client of [...viewers.clients, ...sources.clients]) client.terminate();
        viewers.close();
        sources.close();
        http.close(() => resolve());
        // Keep-alive connections would hold close() open.
        http.closeAllConnections();
      }),
  };
}

export type InspectorRelay = Awaited<ReturnType<typeof startInspectorRelay>>;
