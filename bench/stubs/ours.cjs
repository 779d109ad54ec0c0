// The benchmark's stub cluster for mewld: on mewld/client, ready READY_MS after
// its process started, like bench/stubs/theirs.cjs for discord-hybrid-sharding
// (CommonJS as that one is: a bot that require()s the client).
const { appendFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const { connectCluster } = require('mewld/client');

const now = () => performance.timeOrigin + performance.now();
const log = (event) => appendFileSync(process.env.BENCH_LOG, `${JSON.stringify({ side: 'ours', pid: process.pid, ...event })}\n`);

// The round trips start when the bench says the whole fleet is up (SIGUSR2: the same word to both sides' stubs).
const fleetUp = new Promise((r) => process.once('SIGUSR2', r));

let cluster;
connectCluster({
  health: () => cluster.info.shards.map((shard_id) => ({ shard_id, up: true, latency: 10, guilds: 0, users: 0 })),
}).then((connected) => {
  cluster = connected;
  const { id } = cluster.info;
  log({ event: 'start', id, origin: performance.timeOrigin });
  // The supervisor's own word that the fleet is up, for the bench to wait for beside every stub's ready.
  if (id === 0) cluster.onAllClustersLaunched(() => log({ event: 'fleet_up', id, at: now() }));

  // Ready at the same moment after process start whatever the modules cost to load.
  const readyIn = Math.max(0, performance.timeOrigin + Number(process.env.READY_MS ?? 300) - now());
  setTimeout(async () => {
    log({ event: 'ready', id, at: now() });
    await cluster.ready();
    const rounds = Number(process.env.ROUNDTRIPS ?? 0);
    if (rounds > 0 && id === 0) {
      // Once every cluster is up: request/reply round trips to the supervisor.
      const at = await fleetUp.then(now);
      const times = [];
      let reply;
      for (let i = 0; i < rounds; i++) {
        const t0 = now();
        reply = await cluster.request('statuses');
        times.push(now() - t0);
      }
      log({ event: 'roundtrips', id, at, times, reply_bytes: JSON.stringify(reply).length });
    }
  }, readyIn);
});
