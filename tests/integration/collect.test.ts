import { afterEach, describe, expect, it } from 'vitest';
import { watchChannels } from '../helpers/busClient.js';
import { spawnClientClusters } from '../helpers/clients.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually, type FixtureEvent } from '../helpers/supervisor.js';

/**
 * Calls between clusters (mewld/client's handle, collect, ask), in three real
 * cluster processes (tests/fixtures/client_cluster.mjs, CLIENT_CALLS): cluster 0
 * asks, every cluster answers.
 */

const harness = redisHarness('collect', { module: 'client_cluster.mjs', fixed_shard_count: 6, per_cluster: 2 });

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** What cluster 0's calls came to, by call, once it has made them all. */
async function callsOfCluster0(events: () => FixtureEvent[]) {
  await eventually(() => events().some((e) => e.event === 'calls_done'), 30_000, 'cluster 0 to make its calls');
  return Object.fromEntries(
    events()
      .filter((e) => e.event === 'call' && e.id === 0)
      .map((e) => [e.call as string, e as FixtureEvent & { value?: unknown; error?: Record<string, unknown> }]),
  );
}

/** The calls every bus must answer alike (the handlers are the fixture's: guilds is id × 10, fail throws). */
function expectAnswers(calls: Awaited<ReturnType<typeof callsOfCluster0>>) {
  expect(calls['collect guilds']!.value).toEqual([
    { cluster: 0, value: 0 },
    { cluster: 1, value: 10 },
    { cluster: 2, value: 20 },
  ]);
  // A handler that throws: each cluster's own error, which says who asked and with what.
  expect(calls['collect fail']!.value).toEqual(
    [0, 1, 2].map((id) => ({ cluster: id, error: `cluster ${id} fails for cluster 0 with {"n":1}` })),
  );
  expect(calls['collect nothing']!.value).toEqual([0, 1, 2].map((id) => ({ cluster: id, error: 'no handler "nothing"' })));

  expect(calls['ask 2 guilds']!.value).toBe(20);
  expect(calls['ask 2 nothing']!.error).toMatchObject({
    name: 'NoHandlerError',
    cluster: 2,
    handler: 'nothing',
    message: 'cluster 2 has no handler "nothing"',
  });
  expect(calls['ask 2 fail']!.error).toMatchObject({
    name: 'HandlerError',
    cluster: 2,
    handler: 'fail',
    reason: 'cluster 2 fails for cluster 0 with "please"',
  });
}

describe.each([
  ['ipc', { redis: undefined }],
  ['redis', {}],
] as const)('calls between clusters under the supervisor (%s)', (kind, bus) => {
  it("collect gets every cluster's answer, ask one cluster's, each failure its own error, a stopped cluster a timeout", async () => {
    const { s, channel } = await harness.supervise(bus, { CLIENT_CALLS_0: '1', CLIENT_CALLS_STOP: '1' }, { waitForLaunch: false });
    const watched = kind === 'redis' ? await watchChannels(harness.redis.url, channel) : undefined;
    if (watched) cleanups.push(watched.close);
    // Cluster 0 asks once every cluster has launched, and so listens.
    const calls = await callsOfCluster0(s.events);
    expectAnswers(calls);

    // Cluster 1 stopped: the others' answers, and who is missing.
    expect(calls['collect guilds without 1']!.error).toEqual({
      name: 'CollectTimeoutError',
      message: 'collect("guilds"): no answer from cluster 1 within 1000 ms',
      handler: 'guilds',
      answers: [
        { cluster: 0, value: 0 },
        { cluster: 2, value: 20 },
      ],
      missing: [1],
    });

    if (watched) {
      // On Redis what is for one cluster goes on its own channel: a call to cluster 2 on channel/2, the
      // answers to cluster 0 on channel/0. Only collect's question, to all, is on the shared channel.
      const where = (action: string, to: number | undefined) =>
        new Set(watched.seen.filter((m) => m.json.action === action && m.json.to === to).map((m) => m.channel));
      expect(where('mewld.answer', 0)).toEqual(new Set([`${channel}/0`]));
      expect(where('mewld.call', 2)).toEqual(new Set([`${channel}/2`]));
      expect(where('mewld.call', undefined)).toEqual(new Set([channel]));
      expect(watched.seen.filter((m) => m.json.action === 'mewld.answer' && m.json.to !== 0)).toEqual([]);
    }
  });
});

describe("calls between clusters on Redis's shared channel (no direct channels, as under the Go mewld)", () => {
  it('work alike, and a call for one cluster is answered by it alone', async () => {
    const channel = `collect-shared-${process.pid}`;
    const watched = await watchChannels(harness.redis.url, channel);
    cleanups.push(watched.close);
    // No MEWLD_BUS: the clusters keep to the shared channel, as they do under the Go mewld.
    const link = { env: () => ({ MEWLD_REDIS_URL: harness.redis.url, MEWLD_CHANNEL: channel }), ipc: false, attach() {} };
    const clusters = spawnClientClusters(link, 3, { CLIENT_CALLS_0: '1' });
    cleanups.push(clusters.kill);
    await eventually(() => clusters.events().filter((e) => e.event === 'start').length === 3, 10_000, 'the clusters to listen');
    // Nobody plays the supervisor but this: its announcement starts cluster 0's calls.
    await harness.redis.client().publish(channel, JSON.stringify({ scope: 'bot', action: 'all_clusters_launched', command_id: 'x' }));
    expectAnswers(await callsOfCluster0(clusters.events));

    expect(new Set(watched.seen.map((m) => m.channel))).toEqual(new Set([channel]));
    // Three collects answered by clusters 1 and 2, and three asks by cluster 2 alone: cluster 1 heard those, and kept quiet.
    const answers = watched.seen.filter((m) => m.json.action === 'mewld.answer');
    expect(answers.filter((m) => m.json.from === 1)).toHaveLength(3);
    expect(answers.filter((m) => m.json.from === 2)).toHaveLength(6);
    expect(answers.every((m) => m.json.to === 0)).toBe(true);
  });
});
