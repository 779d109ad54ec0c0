#!/usr/bin/env node
// A demo cluster for mewld: it does what a Discord bot's cluster does for the
// supervisor (reads its shards from argv, answers diagnostics, says launch_next
// once its shards are "ready") without connecting to Discord.
import { Redis } from 'ioredis';

// argv, in the Go mewld's order: <shards> <shard_count> <cluster_id> <cluster_name> 0 <workdir>
const [shardsArg, shardCountArg, idArg, name] = process.argv.slice(2);
const shards = JSON.parse(shardsArg);
const shardCount = Number(shardCountArg);
const id = Number(idArg);
const channel = process.env.MEWLD_CHANNEL;
const redisUrl = process.env.MEWLD_REDIS_URL ?? 'redis://127.0.0.1:6379';

const sub = new Redis(redisUrl);
const pub = new Redis(redisUrl);
for (const r of [sub, pub]) r.on('error', (err) => console.error(`redis: ${err.message}`));

// Plausible numbers for a bot of this size, so that the dashboard has something to show.
const health = new Map(
  shards.map((shard) => [shard, { shard_id: shard, up: false, latency: -1, guilds: 900 + ((shard * 7919) % 400), users: 0 }]),
);

await sub.subscribe(channel);
sub.on('message', (_channel, raw) => {
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    return;
  }
  if (!msg || typeof msg !== 'object') return;
  if (msg.diag === true && msg.id === id) {
    for (const h of health.values()) {
      if (!h.up) continue;
      h.latency = Math.round((35 + Math.random() * 30) * 10) / 10;
      h.users = h.guilds * 340 + Math.floor(Math.random() * 1000);
    }
    void pub.publish(
      channel,
      JSON.stringify({ scope: 'launcher', action: 'diag', output: JSON.stringify({ Nonce: msg.nonce, Data: [...health.values()] }) }),
    );
  } else if (msg.scope === 'bot' && msg.action === 'all_clusters_launched') {
    console.log(`cluster ${id}: every cluster of the bot is up`);
  }
});

console.log(`cluster ${id} (${name}): starting shards ${shards.join(', ')} of ${shardCount}`);
// Shards identify one after another, as they would with Discord.
for (const shard of shards) {
  await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
  health.get(shard).up = true;
  console.log(`cluster ${id}: shard ${shard} ready`);
}
await pub.publish(channel, JSON.stringify({ scope: 'launcher', action: 'launch_next', args: { id } }));

const stop = async () => {
  console.log(`cluster ${id}: closing shards`);
  sub.disconnect();
  await pub.quit();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
