import { afterEach, describe, expect, it } from 'vitest';
import { redisHarness } from '../helpers/harness.js';
import { eventually } from '../helpers/supervisor.js';
import { startWebhook } from '../helpers/webhook.js';

/** Alerts to a webhook: a local HTTP server stands in for Discord's (or anyone's) webhook. */

const harness = redisHarness('alerts', { fixed_shard_count: 6, per_cluster: 2 });
// Fleet protection off: a kill after the crash loop would pause restarts, and alert too.
const crashLoop = { restart: { backoff_initial: 0.05, jitter: 0, max_restarts: 1, within: 60, fleet_crash_ratio: 1 } };

const hooks: Awaited<ReturnType<typeof startWebhook>>[] = [];
afterEach(async () => {
  await Promise.all(hooks.splice(0).map((hook) => hook.close()));
});
const webhook = async (status = 204) => {
  const hook = await startWebhook([{ status }]);
  hooks.push(hook);
  return hook;
};

describe('alerts', () => {
  it('a cluster that gives up is posted to the webhook as a Discord message, and nothing else by default', async () => {
    const hook = await webhook();
    const { s, status } = await harness.supervise(
      { ...crashLoop, alerts: { webhook: hook.url } },
      { FIXTURE_MODE_1: 'crash' },
      { waitForLaunch: false },
    );
    await eventually(() => hook.bodies.length > 0, 15_000, 'an alert');
    expect(hook.bodies).toEqual([
      {
        content: expect.stringMatching(/^\*\*mewld\*\*\ncluster 1 failed and stays down until an operator starts it: too many restarts/),
        allowed_mentions: { parse: [] },
      },
    ]);
    // The crashes before it (cluster_start_failed) and a kill after it (cluster_died) are not among the default events.
    const victim = (await status(0)).pid!;
    process.kill(victim, 'SIGKILL');
    // Back with a new process (so its death has been seen), then longer than alerts are batched for (1 s).
    await eventually(
      async () => {
        const c = await status(0);
        return c.status === 'running' && c.pid !== victim;
      },
      10_000,
      'cluster 0 back',
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(hook.bodies).toHaveLength(1);
    expect(s.logs.some((l) => String(l.msg).includes('/api/webhooks/1/secret'))).toBe(false);
  });

  it('the json format, with chosen events batched into one post and a name', async () => {
    const hook = await webhook();
    await harness.supervise(
      { ...crashLoop, alerts: { webhook: hook.url, format: 'json', name: 'bot-a', events: ['cluster_start_failed', 'cluster_failed'] } },
      { FIXTURE_MODE_1: 'crash' },
      { waitForLaunch: false },
    );
    await eventually(() => hook.bodies.some((b) => JSON.stringify(b).includes('cluster_failed')), 15_000, 'the failed alert');
    const alerts = hook.bodies.flatMap((b) => (b as { source: string; alerts: { event: string; text: string }[] }).alerts);
    expect(hook.bodies.every((b) => b.source === 'bot-a')).toBe(true);
    expect(alerts.map((a) => a.event)).toEqual(['cluster_start_failed', 'cluster_start_failed', 'cluster_failed']);
    // The two start failures and the give-up come within a second: fewer posts than alerts.
    expect(hook.bodies.length).toBeLessThan(3);
    // The sentence the log and the dashboard show for the same entry.
    expect(alerts[0]).toMatchObject({
      text: 'cluster 1 is down (exited with code 1)',
      entry: { id: 1, reason: 'exited' },
    });
  });

  it('a webhook that fails is logged, and the supervisor carries on', async () => {
    const hook = await webhook(500);
    const { s, statuses } = await harness.supervise(
      { ...crashLoop, alerts: { webhook: hook.url } },
      { FIXTURE_MODE_1: 'crash' },
      { waitForLaunch: false },
    );
    await s.waitForLog((l) => l.msg === 'the alert webhook answered 500: 1 alert(s) not delivered', 15_000);
    expect(Object.keys(await statuses())).toEqual(['0', '1', '2']);
  });
});
