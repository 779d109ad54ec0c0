import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, upgradeWebSocket, type ServerType } from '@hono/node-server';
import type { UpgradeWebSocket } from 'hono/ws';
import { WebSocketServer } from 'ws';
import { createApi, type ApiOptions, type Asset } from './index.js';
import { createMetrics } from './metrics.js';

/** The dashboard's files, read once from public/ (no build step). */
export function loadDashboard(dir = new URL('../../public/', import.meta.url)): Record<string, Asset> {
  const read = (name: string, type: string): Asset => ({ body: readFileSync(new URL(name, dir), 'utf8'), type });
  return {
    '/': read('index.html', 'text/html; charset=utf-8'),
    '/app.js': read('app.js', 'text/javascript; charset=utf-8'),
    // The sparklines of the charts, a module app.js imports.
    '/charts.js': read('charts.js', 'text/javascript; charset=utf-8'),
    '/app.css': read('app.css', 'text/css; charset=utf-8'),
  };
}

export interface WebServer {
  /** The dashboard's address (without the token). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the API on Node: @hono/node-server, with `ws` for the WebSocket upgrades, and prom-client's metrics. */
export async function startWebServer(
  listen: { host: string; port: number },
  options: Omit<ApiOptions, 'assets' | 'upgradeWebSocket' | 'port'> & { assets?: Record<string, Asset> },
): Promise<WebServer> {
  // With port 0, known once the server listens (before any request).
  let port = listen.port;
  const app = createApi({
    ...options,
    assets: options.assets ?? loadDashboard(),
    metrics: createMetrics(options.live),
    upgradeWebSocket: upgradeWebSocket as unknown as UpgradeWebSocket<{ bufferedAmount: number; terminate(): void }>,
    port: () => port,
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: listen.host, port: listen.port, websocket: { server: wss } }, () => resolve(s));
    s.once('error', reject);
  });
  port = (server.address() as AddressInfo).port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        // Keep-alive connections would hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
