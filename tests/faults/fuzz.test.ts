import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_ACTIONS, parseInbound } from '../../src/protocol/index.js';
import { recordFigure } from '../helpers/faults.js';
import { redisHarness } from '../helpers/harness.js';

const harness = redisHarness('fault-fuzz', { fixed_shard_count: 8, per_cluster: 2 });

/** Messages that look like the protocol, with every field mutated: wrong types, odd ids, missing parts, junk. */
const mutated = fc
  .record(
    {
      scope: fc.oneof(fc.constant('launcher'), fc.constant('bot'), fc.string(), fc.integer(), fc.constant(null)),
      action: fc.oneof(
        fc.constantFrom(...LAUNCHER_ACTIONS),
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.constant(null),
        fc.array(fc.string()),
      ),
      args: fc.oneof(
        fc.record({
          id: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.double(), fc.string(), fc.constant(null), fc.constant(1e309), fc.boolean()),
        }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.jsonValue(),
      ),
      command_id: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object()),
      output: fc.oneof(
        fc.jsonValue(),
        fc
          .record({
            Nonce: fc.string(),
            Data: fc.array(fc.record({ shard_id: fc.jsonValue(), up: fc.jsonValue(), latency: fc.jsonValue() })),
          })
          .map((o) => JSON.stringify(o)),
        fc.string(),
      ),
      data: fc.jsonValue(),
      diag: fc.jsonValue(),
      id: fc.jsonValue(),
      nonce: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((m) => JSON.stringify(m));

/** Bytes that are not the protocol at all. */
const garbage = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('latin1')),
  mutated.map((m) => m.slice(0, Math.max(1, m.length - 3))),
);

/** Commands that would change the bot on purpose are not bad input; everything else goes. */
const harmless = (raw: string) => {
  const parsed = parseInbound(raw);
  if (parsed.kind === 'launch_next') return false;
  return !(parsed.kind === 'command' && !['statuses', 'num_processes'].includes(parsed.action));
};

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('hostile input', () => {
  it(
    '10,000+ random and mutated messages: the supervisor still answers statuses correctly, and its memory stays bounded',
    { timeout: 120_000 },
    async () => {
      // A flood on the channel delays the clusters' answers too: ping_timeout is not what is tested here.
      const { s, bus, statuses, channel } = await harness.supervise({ ping_interval: 1, ping_timeout: 5 });
      const before = await statuses();
      // Padded to 8 KB or so, so that keeping them would show: 20,000 of them are 160 MB.
      const pad = 'x'.repeat(8000);
      const messages = fc
        .sample(fc.oneof(mutated, garbage), { numRuns: 24_000, seed: 20261126 })
        .filter(harmless)
        .map((m) => (m.startsWith('{"') ? `{"pad":"${pad}",${m.slice(1)}` : m + pad));
      expect(messages.length).toBeGreaterThan(20_000);
      // In steps of 1,000 (8 MB), each followed by a request that returns once the supervisor has read them all:
      // Redis drops a subscriber that falls 32 MB behind (client-output-buffer-limit pubsub), and what
      // is published then is lost, by design of pub/sub; a machine busy with other tests falls behind.
      const send = async (batch: string[]) => {
        for (let i = 0; i < batch.length; i += 1000) {
          const pipeline = bus.pub.pipeline();
          for (const m of batch.slice(i, i + 1000)) pipeline.publish(channel, m);
          await pipeline.exec();
          await bus.request('num_processes', undefined, 60_000);
        }
      };
      await send(messages.slice(0, 2000)); // warm-up
      await bus.request('statuses');
      const rss0 = rssKiB(s.proc.pid!);
      await send(messages.slice(2000, 12_000));
      await bus.request('statuses');
      const rss1 = rssKiB(s.proc.pid!);
      await send(messages.slice(12_000));
      const after = await statuses();
      const rss2 = rssKiB(s.proc.pid!);

      expect(s.proc.exitCode).toBeNull();
      expect(Object.keys(after)).toEqual(['0', '1', '2', '3']);
      for (const id of Object.keys(before)) {
        expect(after[id]!.pid).toBe(before[id]!.pid);
        expect(after[id]!.restarts).toBe(0);
        expect(after[id]!.status).toMatch(/^(running|diagPending)$/);
      }
      expect((await bus.request('num_processes')).output).toEqual({ clusters: 4, shards: 8 });
      // Bounded: 160 MB went through; what stays is V8's working set, not the messages.
      expect(rss2 - rss0).toBeLessThan(80 * 1024);
      expect(rss2).toBeLessThan(256 * 1024);
      recordFigure('random and mutated messages on the bus (fast-check)', {
        messages: messages.length,
        supervisor_rss_kib_after_warmup: rss0,
        supervisor_rss_kib_after_10k: rss1,
        supervisor_rss_kib_after_all: rss2,
        clusters_restarted: 0,
      });
    },
  );
});
