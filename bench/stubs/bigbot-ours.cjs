// The big-bot launch's stub cluster for mewld (bench/bigbot.mjs): on mewld/client;
// says launch_next once its shards are ready.
const { connectCluster } = require('mewld/client');
const { loaded, identifyAndBeReady, reportReady } = require('./bigbot-cluster.cjs');

connectCluster({}).then(async (cluster) => {
  const { id, shards } = cluster.info;
  await loaded();
  const ready = await identifyAndBeReady(id, shards);
  await ready();
  await reportReady(id, shards);
  await cluster.ready();
});
