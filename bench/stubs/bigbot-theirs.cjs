// The big-bot launch's stub cluster for discord-hybrid-sharding (bench/bigbot.mjs):
// its ClusterClient; triggerReady() once its shards are ready.
const { EventEmitter } = require('node:events');
const { ClusterClient } = require('discord-hybrid-sharding');
const { loaded, identifyAndBeReady, reportReady } = require('./bigbot-cluster.cjs');

const client = new EventEmitter(); // stands in for a discord.js Client
client.cluster = new ClusterClient(client);
const { id, shardList: shards } = client.cluster;

(async () => {
  await loaded();
  const ready = await identifyAndBeReady(id, shards);
  await ready();
  await reportReady(id, shards);
  client.cluster.triggerReady();
})();
