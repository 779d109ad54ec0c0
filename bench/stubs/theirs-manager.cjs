// Runs discord-hybrid-sharding's ClusterManager (process mode) for the benchmark, with the options in
// BENCH_OPTIONS (JSON): clusters, shardsPerCluster, heartbeat, missedHeartbeats (5, its default), restartsMax.
// Logs, in BENCH_LOG, the options it passed (for the results file) and when its spawn() resolved (every cluster ready).
const childProcess = require('node:child_process');
const { appendFileSync } = require('node:fs');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { ClusterManager, HeartbeatManager } = require('discord-hybrid-sharding');

const now = () => performance.timeOrigin + performance.now();
const log = (event) => appendFileSync(process.env.BENCH_LOG, `${JSON.stringify({ side: 'theirs', ...event })}\n`);

// When the manager forks a cluster: the moment mewld logs as forked_at.
const fork = childProcess.fork;
childProcess.fork = (file, args, options) => {
  log({ event: 'fork', id: Number(options?.env?.CLUSTER), at: now() });
  return fork(file, args, options);
};

const o = JSON.parse(process.env.BENCH_OPTIONS);
process.emitWarning = () => {}; // its "delay smaller than 7s" warning, on purpose here
const spawnOptions = { amount: o.clusters * o.shardsPerCluster, delay: 0, timeout: 60_000 };
const managerOptions = {
  totalShards: o.clusters * o.shardsPerCluster,
  shardsPerClusters: o.shardsPerCluster,
  totalClusters: o.clusters,
  mode: 'process',
  token: 'not-used',
  respawn: true,
  restarts: { max: o.restartsMax ?? 100, interval: 60 * 60 * 1000 },
  // A copy: its constructor writes into this object (a delay of 0 becomes its default 7000).
  spawnOptions: { ...spawnOptions },
};
const heartbeat = o.heartbeat ? { interval: o.heartbeat, maxMissedHeartbeats: o.missedHeartbeats ?? 5 } : null;
log({ event: 'options', options: { manager: { ...managerOptions, file: 'bench/stubs/theirs.cjs' }, spawn: spawnOptions, heartbeat } });
const manager = new ClusterManager(join(__dirname, 'theirs.cjs'), managerOptions);
if (heartbeat) manager.extend(new HeartbeatManager(heartbeat));
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
// spawn() resolves once every cluster is ready (each one's spawn waits for its ready, timeout set).
manager.spawn({ ...spawnOptions }).then(
  () => log({ event: 'fleet_up', at: now() }),
  (err) => console.error(`spawn failed: ${err.message}`),
);
const stop = () => {
  for (const cluster of manager.clusters.values()) cluster.kill({ force: true });
  setTimeout(() => process.exit(0), 200);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
