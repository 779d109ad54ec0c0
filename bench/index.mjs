// The benchmark: mewld against discord-hybrid-sharding (process mode), side by
// side, alternating, several trials each, medians and the ratio ours/theirs.
//   npm run bench                  the full run (under 10 minutes on 2 cores)
//   node bench/index.mjs --smoke   one quick trial of everything, small sizes (part of npm test)
//   --only footprint,crashRecovery   some scenarios; --warmup 60   the footprint window later (the steady state)
//   --ping-interval 3600   ours without diagnostics in the footprint window (theirs keeps its heartbeats)
//   --trials 20   more trials of each scenario (the default is 3)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  gitCommit,
  isAlive,
  machine,
  median,
  now,
  percentile,
  procStats,
  readyCount,
  ROOT,
  sleep,
  startFootprintFleet,
  startIdle,
  startRedis,
  startSide,
  writeJson,
} from './lib.mjs';
import { bigbotLaunch, bigbotRows } from './bigbot.mjs';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    // Seconds between the last cluster's ready and the footprint window: 2 is the scenario; more shows the steady state.
    warmup: { type: 'string', default: '2' },
    // Our ping_interval in the footprint window: 1 is the scenario; 3600 leaves out every diagnostic (what the rest costs).
    'ping-interval': { type: 'string', default: '1' },
    // More trials than the default 3: for a figure whose spread is wide (hang recovery waits for the next ping tick).
    trials: { type: 'string' },
  },
});
const smoke = args.smoke;
const TRIALS = args.trials ? Number(args.trials) : smoke ? 1 : 3;
const READY_MS = 300;

/** Runs `trial(side)` for both supervisors, alternating, TRIALS times; collects what each returns. */
async function alternate(trial) {
  const results = { ours: [], theirs: [] };
  for (let t = 0; t < TRIALS; t++) {
    const order = t % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours'];
    for (const side of order) results[side].push(await trial(side, t));
  }
  return results;
}

const allReady = (s, n, timeoutMs = 120_000) => s.waitFor((e) => readyCount(e) === n, timeoutMs, `${n} clusters ready`);

// ---------- scenarios

/** Time from one cluster's ready to the next cluster's fork, with no configured gap. */
async function launchReaction() {
  const clusters = smoke ? 3 : 8;
  const gaps = await alternate(async (side) => {
    const s = startSide(side, { clusters, shardsPerCluster: 2, readyMs: READY_MS });
    const events = await allReady(s, clusters);
    const forks = s.forks();
    await s.stop();
    const ready = (id) => events.find((e) => e.event === 'ready' && e.id === id).at;
    const fork = (id) => forks.find((f) => f.id === id).at;
    return Array.from({ length: clusters - 1 }, (_, i) => fork(i + 1) - ready(i));
  });
  return {
    name: 'launch reaction',
    how: `${clusters} clusters × 2 shards, ready after ${READY_MS} ms, no gap: a cluster's ready to the supervisor's fork of the next`,
    unit: 'ms',
    ours: median(gaps.ours.flat()),
    theirs: median(gaps.theirs.flat()),
    target: 'ours ≤ 5 ms',
    met: median(gaps.ours.flat()) <= 5,
    samples: gaps,
  };
}

/** kill -9 of one cluster (a different one each time): time to the replacement's fork, and to its ready. */
async function crashRecovery() {
  const clusters = smoke ? 2 : 4;
  const kills = smoke ? 1 : 4;
  const runs = await alternate(async (side, trial) => {
    const s = startSide(side, { clusters, readyMs: READY_MS });
    await allReady(s, clusters);
    const fork = [];
    const ready = [];
    for (let k = 0; k < kills; k++) {
      const id = (trial * kills + k) % clusters;
      const crash = await s.crash(id);
      fork.push(s.forkAfter(id, crash.t0).at - crash.t0);
      ready.push(crash.ready.at - crash.t0);
    }
    await s.stop();
    return { fork, ready };
  });
  const pick = (side, key) => median(runs[side].flatMap((r) => r[key]));
  return [
    {
      name: 'crash recovery: fork',
      how: `kill -9 of one of ${clusters} clusters (a different one each time), backoff 0: time to the replacement's fork`,
      unit: 'ms',
      ours: pick('ours', 'fork'),
      theirs: pick('theirs', 'fork'),
      target: 'ours ≤ 10 ms',
      met: pick('ours', 'fork') <= 10,
      samples: runs,
    },
    {
      name: 'crash recovery: ready',
      how: `the same: time to the replacement's ready (its start-up of ${READY_MS} ms included)`,
      unit: 'ms',
      ours: pick('ours', 'ready'),
      theirs: pick('theirs', 'ready'),
      target: 'ours ≤ theirs',
      met: pick('ours', 'ready') <= pick('theirs', 'ready'),
    },
  ];
}

/** SIGSTOP of one cluster: time to the replacement's fork, and whether the hung process is gone. */
async function hangRecovery() {
  const clusters = 2;
  const heartbeat = smoke ? 200 : 1000;
  const runs = await alternate(async (side, trial) => {
    const s = startSide(side, {
      clusters,
      readyMs: READY_MS,
      heartbeat,
      config: { ping_interval: heartbeat / 1000, ping_timeout: heartbeat / 1000 },
    });
    await allReady(s, clusters);
    // Let the health checks get going (theirs starts its heartbeat at ready).
    await sleep(heartbeat * 2);
    const id = trial % clusters;
    const victim = s.pidOf(id);
    const t0 = now();
    process.kill(victim, 'SIGSTOP');
    const back = await s.waitFor(
      (e) => e.find((x) => x.event === 'start' && x.id === id && x.origin > t0),
      60_000,
      `cluster ${id} replaced`,
    );
    const started = back.find((x) => x.event === 'start' && x.id === id && x.origin > t0);
    await s.waitFor((e) => e.some((x) => x.event === 'ready' && x.pid === started.pid), 30_000, 'the replacement ready');
    await sleep(500);
    const left = isAlive(victim);
    const forked = s.forkAfter(id, t0).at - t0;
    await s.stop();
    if (isAlive(victim)) process.kill(victim, 'SIGKILL');
    return { fork: forked, left };
  });
  const fork = (side) => median(runs[side].map((r) => r.fork));
  const leftCount = (side) => runs[side].filter((r) => r.left).length;
  return [
    {
      name: 'hang recovery: fork',
      how: `SIGSTOP of one cluster; theirs: heartbeat every ${heartbeat} ms, 5 missed; ours: ping_interval and ping_timeout ${heartbeat / 1000} s`,
      unit: 'ms',
      ours: fork('ours'),
      theirs: fork('theirs'),
      target: 'ours ≤ half of theirs',
      met: fork('ours') <= fork('theirs') / 2,
      samples: runs,
    },
    {
      name: 'hang recovery: hung process left',
      how: 'the stopped process still alive after the replacement is ready (trials)',
      unit: 'of trials',
      ours: leftCount('ours'),
      theirs: leftCount('theirs'),
      target: 'ours: never',
      met: leftCount('ours') === 0,
    },
  ];
}

/** The supervisor's own RSS and CPU over an idle stretch with many clusters and health checks every second. */
async function footprint() {
  const clusters = smoke ? 4 : 32;
  const idleMs = smoke ? 2000 : 30_000;
  const runs = await alternate(async (side) => {
    const s = await startFootprintFleet(side, { clusters, pingInterval: Number(args['ping-interval']) });
    await sleep(Number(args.warmup) * 1000);
    const before = procStats(s.pid);
    let maxRss = before.rssKiB;
    const t0 = Date.now();
    while (Date.now() - t0 < idleMs) {
      await sleep(500);
      maxRss = Math.max(maxRss, procStats(s.pid).rssKiB);
    }
    const after = procStats(s.pid);
    await s.stop();
    return { cpuSeconds: after.cpu - before.cpu, rssMiB: after.rssKiB / 1024, maxRssMiB: maxRss / 1024 };
  });
  const pick = (side, key) => median(runs[side].map((r) => r[key]));
  const idleMsFloor = smoke ? 1000 : 5000;
  const floor = await alternate(async (side) => {
    const idle = startIdle(side);
    await sleep(idleMsFloor);
    const { rssKiB } = procStats(idle.pid);
    idle.kill('SIGKILL');
    return rssKiB / 1024;
  });
  return [
    {
      name: 'footprint: RSS',
      how: `${clusters} clusters up, health checks every 1 s (ours every ${args['ping-interval']} s), ${idleMs / 1000} s idle from ${args.warmup} s after the last ready: the supervisor process's RSS at the end`,
      unit: 'MiB',
      ours: pick('ours', 'rssMiB'),
      theirs: pick('theirs', 'rssMiB'),
      target: 'ours ≤ theirs',
      met: pick('ours', 'rssMiB') <= pick('theirs', 'rssMiB'),
      samples: runs,
    },
    {
      name: 'footprint: CPU',
      how: `the same: the supervisor's CPU seconds (user + system) over the ${idleMs / 1000} s`,
      unit: 's',
      ours: pick('ours', 'cpuSeconds'),
      theirs: pick('theirs', 'cpuSeconds'),
      target: 'ours ≤ theirs',
      met: pick('ours', 'cpuSeconds') <= pick('theirs', 'cpuSeconds'),
    },
    {
      name: 'footprint floor: RSS',
      how: `reference, no supervisor: a process that only loads each side's dependencies (ours: xstate, pino, yaml, valibot and the Node modules the supervisor uses; theirs: discord-hybrid-sharding), idle ${idleMsFloor / 1000} s`,
      unit: 'MiB',
      ours: median(floor.ours),
      theirs: median(floor.theirs),
      target: 'reference',
      met: true,
      samples: floor,
    },
  ];
}

/** A cluster asks the supervisor for every cluster's status and gets the reply: ours on Redis, theirs on its IPC. */
async function roundTrip() {
  const clusters = smoke ? 4 : 100;
  const rounds = smoke ? 50 : 1000;
  const redis = await startRedis();
  try {
    const runs = await alternate(async (side) => {
      const s = startSide(side, {
        clusters,
        readyMs: 50,
        // Both check every cluster's liveness every 5 s while the requests run.
        heartbeat: 5000,
        config: { redis: redis.address, redis_channel: `bench-${Date.now()}`, ping_interval: 5, ping_timeout: 10 },
        env: { ROUNDTRIPS: String(rounds) },
      });
      const events = await s.waitFor((e) => e.some((x) => x.event === 'roundtrips'), 300_000, 'the round trips');
      const done = events.find((x) => x.event === 'roundtrips');
      // The bare echo again, its replies as large as ours, while our clusters are still up: what the machine allows then.
      const fleetFloor = side === 'ours' ? echoFloor(redis, rounds, done.reply_bytes) : null;
      await s.stop();
      return { times: done.times, replyBytes: done.reply_bytes, fleetFloor };
    });
    // The same machine's floor: a bare ioredis echo through the same Redis.
    const floor = Array.from({ length: TRIALS }, () => echoFloor(redis, rounds, 0));
    const fleetFloor = runs.ours.map((r) => r.fleetFloor);
    const replyKB = Math.round(median(runs.ours.map((r) => r.replyBytes)) / 1000);
    const stat = (side, p) => median(runs[side].map((r) => percentile(r.times, p)));
    return [
      {
        name: 'bus round trip: p50',
        how: `${clusters} clusters; cluster 0 asks for every cluster's status ${rounds} times (ours: statuses on Redis pub/sub; theirs: cluster.request() on its IPC, the manager replies with every cluster's state)`,
        unit: 'ms',
        ours: stat('ours', 50),
        theirs: stat('theirs', 50),
        target: '—',
        met: true,
      },
      {
        name: 'bus round trip: p99',
        how: 'the same, 99th percentile',
        unit: 'ms',
        ours: stat('ours', 99),
        theirs: stat('theirs', 99),
        target: 'ours ≤ 2 ms',
        met: stat('ours', 99) <= 2,
      },
      ...[50, 99].map((p) => ({
        name: `bus round trip floor: p${p}`,
        how: 'reference, no supervisor: one process publishes, a bare ioredis echo in another process answers, through the same Redis: the least any request/reply on Redis pub/sub takes on this machine',
        unit: 'ms',
        ours: median(floor.map((times) => percentile(times, p))),
        theirs: null,
        target: 'reference',
        met: true,
      })),
      {
        name: 'bus round trip floor, clusters up: p99',
        how: `reference: the same bare echo, its replies padded to the size of ours (${replyKB} KB) and parsed by the asker, run while our ${clusters} clusters are still up after our round trips: the least this machine allows with the scenario's processes on it`,
        unit: 'ms',
        ours: median(fleetFloor.map((times) => percentile(times, 99))),
        theirs: null,
        target: 'reference',
        met: true,
      },
    ];
  } finally {
    redis.stop();
  }
}

/** Round trip times of a bare ioredis echo (bench/floor.mjs) through `redis`, its replies padded to `replyBytes`. */
function echoFloor(redis, rounds, replyBytes) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench/floor.mjs'), redis.address, String(rounds), String(replyBytes)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bench/floor.mjs failed: ${r.stderr}`);
  return JSON.parse(r.stdout).times;
}

/** 10,000 Instance actors under one orchestrator, synthetic events, no processes (a separate process, with --expose-gc). */
async function actorScale() {
  const n = smoke ? 300 : 10_000;
  /** One run of bench/actors.mjs in its own process (heap figures need --expose-gc and a fresh heap). */
  const actors = (count, ...flags) => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'bench/actors.mjs'), String(count), ...flags], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench/actors.mjs failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const run = (_, trial) => actors(n, ...(trial === 0 ? ['--shutdown'] : []));
  // Events per cluster, counted once with the inspection hook (which would slow the timed runs).
  const counted = actors(100, '--count');
  const { alloc } = actors(100, '--alloc');
  const perClusterLaunch = (counted.launch.events - 5) / 100;
  const perClusterRound = counted.diagnostics.events / 100 / counted.diagnostics.rounds;
  const runs = Array.from({ length: TRIALS }, run);
  const rate = (r) => (perClusterRound * n * r.diagnostics.rounds) / (r.diagnostics.ms / 1000);
  const launchRate = (r) => (perClusterLaunch * n) / (r.launch.ms / 1000);
  const heap = median(runs.map((r) => r.heap_per_actor_bytes)) / 1024;
  return [
    {
      name: 'actor scale: heap per actor',
      how: `${n} Instance actors under one orchestrator, all running (no processes)`,
      unit: 'KiB',
      ours: heap,
      theirs: null,
      target: 'ours ≤ 16 KiB',
      met: heap <= 16,
      samples: runs,
    },
    {
      name: 'actor scale: events/s',
      how: `the same, diagnostic rounds (${perClusterRound} events per cluster per round: the ping timer, the request to the bus, the answer)`,
      unit: 'events/s',
      ours: median(runs.map(rate)),
      theirs: null,
      target: 'ours ≥ 50,000',
      met: median(runs.map(rate)) >= 50_000,
    },
    {
      name: 'actor scale: events/s, first launch',
      how: `the same, the first launch of all ${n} (${perClusterLaunch} events per cluster, through the launch slot)`,
      unit: 'events/s',
      ours: median(runs.map(launchRate)),
      theirs: null,
      target: '—',
      met: true,
    },
    {
      name: 'actor scale: allocated per diagnostic',
      how: `bytes allocated per cluster per diagnostic round (${perClusterRound} events), 100 clusters, V8 sampling heap profiler`,
      unit: 'KiB',
      ours: alloc.bytes_per_diagnostic / 1024,
      theirs: null,
      target: '—',
      met: true,
    },
    {
      name: 'XState floor: allocated per event',
      how: `reference: one event through a two-state machine with one assign (xstate ${xstateVersion})`,
      unit: 'KiB',
      ours: alloc.xstate_bytes_per_event / 1024,
      theirs: null,
      target: 'reference',
      met: true,
    },
  ];
}

// ---------- the run

const version = async (pkg) => (await import(`${pkg}/package.json`, { with: { type: 'json' } })).default.version;
const xstateVersion = await version('xstate');

// The big-bot launch (bench/bigbot.mjs): 1,024 shards against the stand-in gateway, one trial (theirs takes 2 min); 64 in the smoke run.
const bigbot = async () => bigbotRows(await bigbotLaunch(smoke ? { shards: 64 } : {}));
const scenarios = { launchReaction, crashRecovery, hangRecovery, footprint, roundTrip, actorScale, bigbot };
const chosen = args.only ? args.only.split(',') : Object.keys(scenarios);
const started = Date.now();
const info = machine();
const rows = [];
for (const name of chosen) {
  process.stderr.write(`bench: ${name}...\n`);
  const t0 = Date.now();
  const result = await scenarios[name]();
  for (const row of [result].flat()) rows.push({ ...row, seconds: Math.round((Date.now() - t0) / 1000) });
}

const fmt = (v, unit) =>
  v === null || v === undefined
    ? '—'
    : unit === 'events/s'
      ? Math.round(v).toLocaleString('en')
      : unit === 'of trials'
        ? String(v)
        : v.toFixed(v < 10 ? 2 : 1);
const ratio = (r) => (r.theirs ? (r.ours / r.theirs).toFixed(2) : '—');
const table = [
  '| scenario | unit | ours | theirs | ours/theirs | target | met |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.unit} | ${fmt(r.ours, r.unit)} | ${fmt(r.theirs, r.unit)} | ${ratio(r)} | ${r.target} | ${r.met ? 'yes' : 'NO'} |`,
  ),
].join('\n');
console.log(table);

const result = {
  when: new Date().toISOString(),
  // Which build was measured: every figure quoted in the docs traces to a results file and its commit.
  commit: gitCommit(),
  smoke,
  trials: TRIALS,
  seconds: Math.round((Date.now() - started) / 1000),
  machine: info,
  versions: {
    'discord-hybrid-sharding': await version('discord-hybrid-sharding'),
    xstate: xstateVersion,
  },
  table,
  rows: rows.map(({ samples, ...row }) => ({ ...row, ratio: row.theirs ? row.ours / row.theirs : null, samples })),
};
const out = args.out ?? join(ROOT, 'bench/results');
writeJson(join(out, smoke ? 'smoke.json' : `${result.when.slice(0, 10)}.json`), result);
if (!smoke) writeJson(join(out, 'latest.json'), result);
process.stderr.write(`bench: done in ${result.seconds} s\n`);
