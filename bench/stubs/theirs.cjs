// The benchmark's stub cluster for discord-hybrid-sharding: its ClusterClient,
// with triggerReady() READY_MS after the process started instead of a Discord login.
const { appendFileSync } = require('node:fs');
const { EventEmitter } = require('node:events');
const { performance } = require('node:perf_hooks');
const { ClusterClient } = require('discord-hybrid-sharding');

const now = () => performance.timeOrigin + performance.now();
const log = (event) => appendFileSync(process.env.BENCH_LOG, `${JSON.stringify({ side: 'theirs', pid: process.pid, ...event })}\n`);
// The round trips start when the bench says the whole fleet is up (SIGUSR2: the same word to both sides' stubs).
const fleetUp = new Promise((r) => process.once('SIGUSR2', r));
const client = new EventEmitter(); // stands in for a discord.js Client
client.cluster = new ClusterClient(client);
const id = client.cluster.id;
log({ event: 'start', id, origin: performance.timeOrigin });

const readyIn = Math.max(0, performance.timeOrigin + Number(process.env.READY_MS ?? 300) - now());
setTimeout(async () => {
  log({ event: 'ready', id, at: now() });
  client.cluster.triggerReady();
  const rounds = Number(process.env.ROUNDTRIPS ?? 0);
  if (rounds > 0 && id === 0) {
    // Once every cluster is up: request/reply round trips to the manager.
    const at = await fleetUp.then(now);
    const times = [];
    let reply;
    for (let i = 0; i < rounds; i++) {
      const t0 = now();
      reply = await client.cluster.request({ type: 'statuses' });
      times.push(now() - t0);
    }
    log({ event: 'roundtrips', id, at, times, reply_bytes: JSON.stringify(reply).length });
  }
}, readyIn);
