// The big-bot launch's stub cluster for mewld (bench/bigbot.mjs): on mewld/client.
// It waits for its identify turn and says when it has identified (docs/architecture.md,
// identify turns), then says launch_next once its shards are ready. With
// BIGBOT_GO_ERA=1 it does neither, as a cluster written for the Go mewld.
const { connectCluster } = require('mewld/client');
const { loaded, identifyAndBeReady, reportReady } = require('./bigbot-cluster.cjs');

const turns = process.env.BIGBOT_GO_ERA !== '1';

connectCluster({}).then(async (cluster) => {
  const { id, shards } = cluster.info;
  await loaded();
  if (turns) await cluster.identifyTurn();
  const ready = await identifyAndBeReady(id, shards);
  if (turns) await cluster.identified();
  await ready();
  await reportReady(id, shards);
  await cluster.ready();
});
