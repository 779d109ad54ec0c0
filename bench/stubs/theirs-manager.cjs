// Runs discord-hybrid-sharding's ClusterManager (process mode) for the benchmark,
// with the options in BENCH_OPTIONS (JSON): clusters, shardsPerCluster, heartbeat, restartsMax.
const childProcess = require('node:child_process');
const { appendFileSync } = require('node:fs');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { ClusterManager, HeartbeatManager } = require('discord-hybrid-sharding');

// When the manager forks a cluster: the moment mewld logs as forked_at.
const fork = childProcess.fork;
childProcess.fork = (file, args, options) => {
  const at = performance.timeOrigin + performance.now();
  appendFileSync(process.env.BENCH_LOG, `${JSON.stringify({ side: 'theirs', event: 'fork', id: Number(options?.env?.CLUSTER), at })}\n`);
  return fork(file, args, options);
};

const o = JSON.parse(process.env.BENCH_OPTIONS);
process.emitWarning = () => {}; // its "delay smaller than 7s" warning, on purpose here
const manager = new ClusterManager(join(__dirname, 'theirs.cjs'), {
  totalShards: o.clusters * o.shardsPerCluster,
  shardsPerClusters: o.shardsPerCluster,
  totalClusters: o.clusters,
  mode: 'process',
  token: 'not-used',
  respawn: true,
  restarts: { max: o.restartsMax ?? 100, interval: 60 * 60 * 1000 },
  spawnOptions: { delay: 0, timeout: 60_000 },
});
if (o.heartbeat) manager.extend(new HeartbeatManager({ interval: o.heartbeat, maxMissedHeartbeats: 5 }));
// The counterpart of mewld's statuses: the manager answers a cluster's request with every cluster's state.
manager.on('clientRequest', (message) => {
  const clusters = [...manager.clusters.values()].map((c) => ({
    id: c.id,
    ready: c.ready,
    shards: c.shardList,
    pid: c.thread?.process?.pid,
  }));
  message.reply({ clusters });
});
manager.spawn({ amount: o.clusters * o.shardsPerCluster, delay: 0, timeout: 60_000 }).then(
  () => console.log('all spawned'),
  (err) => console.error(`spawn failed: ${err.message}`),
);
const stop = () => {
  for (const cluster of manager.clusters.values()) cluster.kill({ force: true });
  setTimeout(() => process.exit(0), 200);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
