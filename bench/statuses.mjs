// What answering `statuses` costs the supervisor for N clusters (default 100): the reply as
// Go JSON (the Redis bus) and as plain objects (the IPC bus, which Node serialises itself),
// for a fleet unchanged since the last request and for one in which every cluster changed.
//   node bench/statuses.mjs [N]    (after npm run build)
import { join } from 'node:path';
import { median, ROOT } from './lib.mjs';

const { createReplyEncoder } = await import(join(ROOT, 'dist/adapters/bus/statuses.js'));
const busOutput = createReplyEncoder();
const { goJson, plain, replyMessage } = await import(join(ROOT, 'dist/protocol/index.js'));

const N = Number(process.argv[2] ?? 100);
const view = (id, at) => ({
  id,
  name: `cluster-${id}`,
  shards: [2 * id, 2 * id + 1],
  state: 'running',
  active: true,
  pid: 1000 + id,
  started_at: at,
  up_at: at,
  restarts: 0,
  last_diag: { at, health: [2 * id, 2 * id + 1].map((shard_id) => ({ shard_id, up: true, latency: 40, guilds: 900, users: 90_000 })) },
  last_exit: null,
  down_reason: null,
  backoff_ms: null,
  failed_reason: null,
});
const fleet = (at) => Array.from({ length: N }, (_, id) => view(id, at));
const reply = (views) => replyMessage('X', busOutput('statuses', { ok: true, value: views }));

/** Median µs per request over 5 runs, one request per fleet in `fleets` (the same object again: unchanged). */
function time(encode, fleets) {
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (const views of fleets) encode(reply(views));
    runs.push(((performance.now() - t0) * 1000) / fleets.length);
  }
  return median(runs);
}

const same = fleet(1_700_000_000_000);
console.log(`statuses for ${N} clusters, µs per request (median of 5 runs)`);
console.log(`${''.padEnd(26)}${'Go JSON'.padStart(10)}${'plain'.padStart(10)}`);
for (const [label, fleets] of [
  ['fleet unchanged', () => Array.from({ length: 2000 }, () => same)],
  // New view objects each time, as the machines make when a cluster's state changes.
  ['every cluster changed', () => Array.from({ length: 200 }, (_, i) => fleet(1_700_000_000_000 + i))],
]) {
  const cells = [(m) => goJson(m), (m) => plain(m)].map((encode) => time(encode, fleets()).toFixed(1).padStart(10));
  console.log(`${label.padEnd(26)}${cells.join('')}`);
}
