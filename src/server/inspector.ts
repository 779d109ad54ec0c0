import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * `mewld --inspect`: a relay for the Stately inspector. The supervisor sends
 * its inspection events with @statelyai/inspect's WebSocket inspector; the
 * relay passes them to every browser that opens its page, which shows them
 * in the Stately inspector (https://stately.ai/inspect). It is the relay of
 * @statelyai/inspect/server, with one difference: that one listens on every
 * interface, this one on the web server's host (127.0.0.1 by default).
 */

const BUFFERED = 1000;

function bridgePage(inspectorUrl: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mewld · Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src="${inspectorUrl}"></iframe>
<script>
const iframe = document.getElementById('inspector');
const buffer = [];
let connected = false;
window.addEventListener('message', (e) => {
  if (e.data && e.data.type === '@statelyai.connected') {
    connected = true;
    buffer.splice(0).forEach((event) => iframe.contentWindow.postMessage(event, '*'));
  }
});
const ws = new WebSocket('ws://' + location.host);
ws.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (connected) iframe.contentWindow.postMessage(data, '*'); else buffer.push(data);
};
</script></body></html>`;
}

export async function startInspectorRelay(listen: { host: string; port: number }, inspectorUrl = 'https://stately.ai/inspect') {
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(bridgePage(inspectorUrl));
  });
  const wss = new WebSocketServer({ server: http });
  const recent: string[] = [];
  wss.on('connection', (ws) => {
    for (const message of recent) ws.send(message);
    ws.on('message', (data) => {
      const message = data.toString();
      recent.push(message);
      if (recent.length > BUFFERED) recent.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(listen.port, listen.host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  const url = `http://${listen.host}:${port}/`;
  const inspector = createWebSocketInspector({ url: `ws://${listen.host}:${port}` });
  return {
    url,
    port,
    inspect: inspector.inspect,
    close: () =>
      new Promise<void>((resolve) => {
        inspector.stop();
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}

export type InspectorRelay = Awaited<ReturnType<typeof startInspectorRelay>>;
