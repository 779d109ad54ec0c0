import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { watchChannels } from '../helpers/busClient.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually } from '../helpers/supervisor.js';

const harness = redisHarness('direct', { module: 'client_cluster.mjs', fixed_shard_count: 4, per_cluster: 2, ping_interval: 0.3 });

const watch = (channel: string) => watchChannels(harness.redis.url, channel);

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe('direct channels (clusters on mewld/client under this supervisor)', () => {
  it("sends each cluster's diagnostics and replies on its own channel once it has proved it is there, and nothing of it on the shared one", async () => {
    const { channel, statuses } = await harness.supervise({}, {}, { waitForLaunch: false });
    const w = await watch(channel);
    closers.push(w.close);
    const diags = (id: number) => w.seen.filter((m) => m.json.diag === true && m.json.id === id);
    await eventually(() => diags(0).length >= 3 && diags(1).length >= 3, 10_000, 'three diagnostics for each cluster');
    for (const id of [0, 1]) {
      // The first diagnostic of a process goes where every cluster listens: its answer, with its proof, says it is on its own channel.
      expect(diags(id)[0]!.channel).toBe(channel);
      expect(
        new Set(
          diags(id)
            .slice(1)
            .map((m) => m.channel),
        ),
      ).toEqual(new Set([`${channel}/${id}`]));
    }
    // The clusters' answers come in on the launcher channel, proven, and are taken: both stay up.
    const answer = w.seen.find((m) => m.channel === `${channel}/launcher` && m.json.action === 'diag' && m.json.from === 1);
    expect(answer?.json.proof).toMatch(/^[0-9a-f]{32}$/);
    const status = await statuses();
    expect([status['0']!.status, status['1']!.status].every((s) => s === 'running' || s === 'diagPending')).toBe(true);
    expect(status['1']!.last_diag).not.toBeNull();

    // A request on the launcher channel from cluster 1: the reply goes to cluster 1 alone.
    const pub = new Redis(harness.redis.url);
    closers.push(() => pub.disconnect());
    await pub.publish(
      `${channel}/launcher`,
      JSON.stringify({ scope: 'launcher', action: 'num_processes', command_id: 'direct-1', from: 1 }),
    );
    const reply = await eventually(
      () => w.seen.find((m) => m.json.command_id === 'direct-1' && m.json.scope === 'bot'),
      5_000,
      'the reply',
    );
    expect(reply.channel).toBe(`${channel}/1`);
    expect(reply.json.output).toEqual({ clusters: 2, shards: 4 });
  });

  it('holds messages on the launcher channel to the same size limit as on the shared one', async () => {
    const { s, channel, status } = await harness.supervise();
    const pid = (await status(0)).pid;
    const pub = new Redis(harness.redis.url);
    closers.push(() => pub.disconnect());
    const big = { scope: 'launcher', action: 'stop', args: { id: 0 }, command_id: 'too-big', from: 1, pad: 'x'.repeat(1 << 20) };
    await pub.publish(`${channel}/launcher`, JSON.stringify(big));
    const rejected = await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('rejected a message on the bus'));
    expect(rejected.reason).toMatch(/^message of \d+ bytes exceeds the limit of 1048576$/);
    // The stop inside it was not carried out.
    const after = await status(0);
    expect(after.status).toMatch(/^(running|diagPending)$/);
    expect(after.pid).toBe(pid);
  });

  it('answers on the shared channel, as the Go version does, whoever has not used the launcher channel', async () => {
    const { channel, bus } = await harness.supervise();
    const w = await watch(channel);
    closers.push(w.close);
    // An operator's request on the shared channel, as with the Go version: the reply is on the shared channel.
    const reply = await bus.request('num_processes');
    expect(reply.output).toEqual({ clusters: 2, shards: 4 });
    const seen = await eventually(
      () => w.seen.find((m) => m.json.command_id === reply.json!.command_id && m.json.scope === 'bot'),
      5_000,
      'the reply',
    );
    expect(seen.channel).toBe(channel);
  });
});
