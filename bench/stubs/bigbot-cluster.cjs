// What the big-bot launch's stub clusters do (bench/bigbot.mjs), on either side:
// load for LOAD_MS after the process started, identify every shard of the
// cluster at the gateway stand-in (bench/stubs/gateway.mjs) at once, as a
// discord.js cluster does when nothing holds it back, and be ready READY_MS
// after the identifies were answered. The order of launches is the supervisor's.
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const now = () => performance.timeOrigin + performance.now();
const sleepUntil = (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())));
const agent = new http.Agent({ keepAlive: true });

/** POSTs `body` to the gateway stand-in's `path`; resolves with its JSON answer. */
function post(path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${process.env.GATEWAY_URL}${path}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Loading done: LOAD_MS after the process started, whatever the modules cost. */
const loaded = () => sleepUntil(performance.timeOrigin + Number(process.env.LOAD_MS));

/** Identifies each shard (all at once), then waits until the cluster is ready. */
async function identifyAndBeReady(cluster, shards) {
  await Promise.all(shards.map((shard) => post('/identify', { shard, cluster, pid: process.pid })));
  return () => sleepUntil(now() + Number(process.env.READY_MS));
}

const reportReady = (cluster, shards) => post('/ready', { cluster, shards });

module.exports = { loaded, identifyAndBeReady, reportReady };
