#!/usr/bin/env node
// A demo cluster for mewld, on mewld/client: it does what a Discord bot's
// cluster does for the supervisor (knows its shards, answers diagnostics,
// says it is ready once its shards are) without connecting to Discord.
import { connectCluster } from 'mewld/client';

// Plausible numbers for a bot of this size, so that there is something to watch.
const health = new Map();

const cluster = await connectCluster({
  health: () =>
    [...health.values()].map((h) =>
      h.up
        ? { ...h, latency: Math.round((35 + Math.random() * 30) * 10) / 10, users: h.guilds * 340 + Math.floor(Math.random() * 1000) }
        : h,
    ),
  shutdown: (reason) => console.log(`cluster ${cluster.info.id}: closing shards (${reason})`),
});
const { id, name, shards, shardCount } = cluster.info;
for (const shard of shards) health.set(shard, { shard_id: shard, up: false, latency: -1, guilds: 900 + ((shard * 7919) % 400), users: 0 });

cluster.onAllClustersLaunched(() => console.log(`cluster ${id}: every cluster of the bot is up`));
cluster.on('hello', (data, { from }) => console.log(`cluster ${id}: cluster ${from} says ${JSON.stringify(data)}`));

console.log(`cluster ${id} (${name}): starting shards ${shards.join(', ')} of ${shardCount} on the ${cluster.info.bus} bus`);
// Shards identify one after another, as they would with Discord.
for (const shard of shards) {
  await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
  health.get(shard).up = true;
  console.log(`cluster ${id}: shard ${shard} ready`);
}
await cluster.ready();
await cluster.broadcast('hello', { guilds: [...health.values()].reduce((n, h) => n + h.guilds, 0) });
