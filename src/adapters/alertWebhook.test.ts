import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhook } from '../../tests/helpers/webhook.js';
import { createAlertWebhook } from './alertWebhook.js';

const hooks: Awaited<ReturnType<typeof startWebhook>>[] = [];
afterEach(async () => {
  await Promise.all(hooks.splice(0).map((hook) => hook.close()));
});
const webhook = async (...args: Parameters<typeof startWebhook>) => {
  const hook = await startWebhook(...args);
  hooks.push(hook);
  return hook;
};

const silent = pino({ level: 'silent' });
const failed = (id: number) => ({ event: 'cluster_failed', id, why: 'too many restarts', ts: 1 });

describe('alertWebhook', () => {
  it('speaks Slack too', async () => {
    const hook = await webhook();
    const alerts = createAlertWebhook({ url: hook.url, format: 'slack', events: ['cluster_failed'], name: 'bot-a' }, silent, {
      batchMs: 10,
    });
    alerts.notify(failed(3));
    await alerts.close();
    expect(hook.bodies).toEqual([{ text: '*bot-a*\ncluster 3 failed and stays down until an operator starts it: too many restarts' }]);
  });

  it("waits out Discord's rate limit once, then delivers", async () => {
    const hook = await webhook([{ status: 429, headers: { 'retry-after': '0.2' } }]);
    const alerts = createAlertWebhook({ url: hook.url, format: 'discord', events: ['cluster_failed'], name: 'mewld' }, silent, {
      batchMs: 10,
    });
    const t0 = Date.now();
    alerts.notify(failed(1));
    await new Promise((r) => setTimeout(r, 20));
    await alerts.close();
    expect(hook.bodies).toHaveLength(2);
    expect(hook.bodies[1]).toEqual(hook.bodies[0]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  });

  it('a shutdown waits for a webhook that does not answer only as long as it was told', async () => {
    const { url } = await webhook([], { hang: true });
    const alerts = createAlertWebhook({ url, format: 'discord', events: ['cluster_failed'], name: 'mewld' }, silent, {
      batchMs: 10,
      closeWaitMs: 300,
    });
    alerts.notify(failed(1));
    const t0 = Date.now();
    await alerts.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('keeps a burst within the 2,000 characters of a Discord message, and says how many more', async () => {
    const hook = await webhook();
    const alerts = createAlertWebhook({ url: hook.url, format: 'discord', events: ['cluster_failed'], name: 'mewld' }, silent, {
      batchMs: 10,
    });
    for (let id = 0; id < 100; id++) alerts.notify(failed(id));
    await alerts.close();
    expect(hook.bodies).toHaveLength(1);
    const content = hook.bodies[0]!.content as string;
    expect(content.length).toBeLessThanOrEqual(2000);
    const shown = content.split('\n').filter((l) => l.startsWith('cluster ')).length;
    expect(content).toMatch(new RegExp(`\\n… and ${100 - shown} more$`));
    expect(shown).toBeGreaterThan(10);
  });
});
