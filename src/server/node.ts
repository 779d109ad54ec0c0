import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, upgradeWebSocket, type ServerType } from '@hono/node-server';
import type { UpgradeWebSocket } from 'hono/ws';
import { WebSocketServer } from 'ws';
import { createApi, type ApiOptions, type Asset } from './index.js';
import type { Metrics } from './metrics.js';
import type { LiveState } from './liveState.js';

const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The dashboard's files, read once from public/ (no build step): the page, and every script and style sheet beside it. */
export function loadDashboard(dir = new URL('../../public/', import.meta.url)): Record<string, Asset> {
  const read = (name: string, type: string): Asset => ({ body: readFileSync(new URL(name, dir), 'utf8'), type });
  const assets: Record<string, Asset> = { '/': read('index.html', 'text/html; charset=utf-8') };
  for (const name of readdirSync(dir)) {
    const type = ASSET_TYPES[extname(name)];
    if (type) assets[`/${name}`] = read(name, type);
  }
  return assets;
}

/** prom-client's text format (its Registry.PROMETHEUS_CONTENT_TYPE), known before prom-client is loaded. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The metrics, with prom-client loaded at the first scrape: a supervisor that
 * nobody scrapes does not carry it (a few MiB, and its default collectors'
 * timers). Its process figures (GC, event loop lag) count from that scrape.
 */
function metricsOnFirstScrape(live: LiveState): Metrics {
  let metrics: Promise<Metrics> | undefined;
  return {
    contentType: PROMETHEUS_TEXT,
    render: async () => (await (metrics ??= import('./metrics.js').then((m) => m.createMetrics(live)))).render(),
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
    metrics: metricsOnFirstScrape(options.live),
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
