// discord-hybrid-sharding's ClusterManager (process mode) launching the big bot
// (bench/bigbot.mjs) its own way, with the options in BENCH_OPTIONS (JSON):
// shards, perCluster, delay (its spawnOptions.delay: ms per shard between two
// clusters' spawns), timeout (its spawnOptions.timeout: -1 spawns the next
// cluster without waiting for this one's ready).
const { join } = require('node:path');
const { ClusterManager } = require('discord-hybrid-sharding');

const o = JSON.parse(process.env.BENCH_OPTIONS);
process.emitWarning = () => {}; // its "delay smaller than 7s" warning: the window is scaled down on purpose
const manager = new ClusterManager(join(__dirname, 'bigbot-theirs.cjs'), {
  totalShards: o.shards,
  shardsPerClusters: o.perCluster,
  totalClusters: Math.ceil(o.shards / o.perCluster),
  mode: 'process',
  token: 'not-used',
  respawn: false,
  spawnOptions: { delay: o.delay, timeout: o.timeout },
});
manager.spawn({ amount: o.shards, delay: o.delay, timeout: o.timeout }).catch((err) => console.error(`spawn failed: ${err.message}`));
const stop = () => {
  for (const cluster of manager.clusters.values()) cluster.kill({ force: true });
  setTimeout(() => process.exit(0), 200);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
