// A local stand-in for Discord's gateway, for the big-bot launch (bench/bigbot.mjs):
// it answers GET /api/gateway/bot (mewld's `proxy` path) and /api/v10/gateway/bot,
// and takes the stub clusters' identifies and readies, enforcing Discord's
// identify rule: one identify per bucket (shard_id % max_concurrency) per window.
// Discord's window is 5 s; the scenario scales it down (500 ms: 10×) so that a
// launch of 1,024 shards runs in about half a minute.
//
//   POST /identify {"shard": 17, "cluster": 4, "pid": 123}   → {"at": <ms>}
//   POST /ready    {"shards": [16, 17], "cluster": 4}        → {}
//
// Times are the bench process's clock (performance.timeOrigin + now(), ms since
// the epoch), taken when a request arrives: what Discord would see.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

/**
 * Starts the stand-in on a free port of 127.0.0.1. `shards` is what it recommends;
 * `maxConcurrency` its identify buckets; `windowMs` the identify window.
 */
export async function startGateway({ shards, maxConcurrency = 16, windowMs = 500 }) {
  const identifies = []; // { shard, bucket, cluster, pid, at }, in order of arrival
  const readies = new Map(); // shard → ms
  const lastIdentify = new Map(); // bucket → ms of its last identify
  const violations = []; // { shard, bucket, at, gap_ms }: identifies within one window of the bucket's last
  const pids = new Set();

  const identify = ({ shard, cluster, pid }) => {
    const at = now();
    const bucket = shard % maxConcurrency;
    const last = lastIdentify.get(bucket);
    if (last !== undefined && at - last < windowMs) violations.push({ shard, bucket, at, gap_ms: at - last });
    lastIdentify.set(bucket, at);
    identifies.push({ shard, bucket, cluster, pid, at });
    if (pid) pids.add(pid);
    return { at };
  };

  const server = createServer((req, res) => {
    const reply = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && (req.url === '/api/gateway/bot' || req.url === '/api/v10/gateway/bot')) {
      return reply(200, {
        url: 'wss://gateway.invalid',
        shards,
        session_start_limit: { total: 1_000_000, remaining: 1_000_000, reset_after: 86_400_000, max_concurrency: maxConcurrency },
      });
    }
    if (req.method !== 'POST') return reply(404, { message: '404: Not Found', code: 0 });
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const message = JSON.parse(body || '{}');
      if (req.url === '/identify') return reply(200, identify(message));
      if (req.url === '/ready') {
        const at = now();
        for (const shard of message.shards) if (!readies.has(shard)) readies.set(shard, at);
        return reply(200, {});
      }
      reply(404, {});
    });
  });
  // Many clusters at once keep their connections open (keep-alive): no backlog of refused connects.
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    identifies,
    violations,
    pids,
    /** When every one of the bot's shards was ready (ms), or undefined while some are not. */
    allReadyAt: () => (readies.size === shards ? Math.max(...readies.values()) : undefined),
    readyCount: () => readies.size,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
