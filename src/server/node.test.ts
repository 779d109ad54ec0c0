import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLiveState } from './liveState.js';
import { startWebServer, type WebServer } from './node.js';

/** The Node adapter on a real port: WebSocket clients come and go without leaving anything behind. */

let server: WebServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start() {
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
    },
  );
  return { live, subscribers: () => subscribers };
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
