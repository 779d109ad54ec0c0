// The benchmark: mewld against discord-hybrid-sharding (process mode), side by
// side, alternating, several trials each, medians and the ratio ours/theirs.
//   npm run bench                  the full run (9 minutes on 2 idle cores, 14 on busy ones)
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
// After the whole fleet is up, before the round trips are timed: the supervisors have taken every ready.
const SETTLE_MS = smoke ? 200 : 1000;

/**
 * Runs `trial(side)` for each side (both supervisors, or the variants given), TRIALS times, the order
 * turning one step each trial (two sides: alternating); collects what each returns.
 */
async function alternate(trial, sides = ['ours', 'theirs']) {
  const results = Object.fromEntries(sides.map((side) => [side, []]));
  for (let t = 0; t < TRIALS; t++) {
    const order = sides.map((_, i) => sides[(i + t) % sides.length]);
    for (const side of order) results[side].push(await trial(side, t));
  }
  return results;
}

/** Every supervisor the running scenario started, by side: their configurations go in the results file. */
let launched = { ours: [], theirs: [] };
/** `startSide` and `startFootprintFleet`, remembered for the results file. */
const seen = (s) => {
  launched[s.side].push(s);
  return s;
};
const start = (side, options) => seen(startSide(side, options));

const allReady = (s, n, timeoutMs = 120_000) => s.waitFor((e) => readyCount(e) === n, timeoutMs, `${n} clusters ready`);

// ---------- scenarios

/** Time from one cluster's ready to the next cluster's fork, with no configured gap. */
async function launchReaction() {
  const clusters = smoke ? 3 : 8;
  const gaps = await alternate(async (side) => {
    const s = start(side, { clusters, shardsPerCluster: 2, readyMs: READY_MS });
    const events = await allReady(s, clusters);
    const forks = s.forks();
    await s.stop();
    const ready = (id) => events.find((e) => e.event === 'ready' && e.id === id).at;
    const fork = (id) => forks.find((f) => f.id === id).at;
    return Array.from({ length: clusters - 1 }, (_, i) => fork(i + 1) - ready(i));
  });
  return {
    samples: { gap_ms: gaps },
    rows: [
      {
        name: 'launch reaction',
        how: `${clusters} clusters × 2 shards, ready after ${READY_MS} ms, no gap: a cluster's ready to the supervisor's fork of the next`,
        unit: 'ms',
        ours: median(gaps.ours.flat()),
        theirs: median(gaps.theirs.flat()),
        target: 'ours ≤ 5 ms',
        met: median(gaps.ours.flat()) <= 5,
      },
    ],
  };
}

/** kill -9 of one cluster (a different one each time): time to the replacement's fork, and to its ready. */
async function crashRecovery() {
  const clusters = smoke ? 2 : 4;
  const kills = smoke ? 1 : 4;
  const runs = await alternate(async (side, trial) => {
    const s = start(side, { clusters, readyMs: READY_MS });
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
  return {
    samples: { ms: runs },
    rows: [
      {
        name: 'crash recovery: fork',
        how: `kill -9 of one of ${clusters} clusters (a different one each time), backoff 0: time to the replacement's fork`,
        unit: 'ms',
        ours: pick('ours', 'fork'),
        theirs: pick('theirs', 'fork'),
        target: 'ours ≤ 10 ms',
        met: pick('ours', 'fork') <= 10,
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
    ],
  };
}

/**
 * SIGSTOP of one cluster: time to the replacement's fork, and whether the hung process is gone. Both sides
 * judge a hang in the same window: checks every `heartbeat` ms, and a hang decided MISSED checks' time
 * after the first check it misses (theirs: its HeartbeatManager respawns when more than
 * maxMissedHeartbeats are unanswered at a tick; ours: the diagnostic's ping_timeout runs out).
 */
async function hangRecovery() {
  const clusters = 2;
  const heartbeat = smoke ? 200 : 1000;
  // discord-hybrid-sharding's default count of missed heartbeats; ours waits as long for its answer.
  const missed = 5;
  const runs = await alternate(async (side, trial) => {
    const s = start(side, {
      clusters,
      readyMs: READY_MS,
      heartbeat,
      missedHeartbeats: missed,
      config: { ping_interval: heartbeat / 1000, ping_timeout: (missed * heartbeat) / 1000 },
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
  const window = `${(missed * heartbeat) / 1000}–${((missed + 1) * heartbeat) / 1000} s`;
  return {
    samples: { runs },
    rows: [
      {
        name: 'hang recovery: fork',
        how: `SIGSTOP of one cluster, both judging a hang in the same window (${window} after the SIGSTOP: the next check, then ${missed} checks' time): theirs a heartbeat every ${heartbeat} ms, respawn after ${missed} missed; ours ping_interval ${heartbeat / 1000} s, ping_timeout ${(missed * heartbeat) / 1000} s`,
        unit: 'ms',
        ours: fork('ours'),
        theirs: fork('theirs'),
        target: 'ours ≤ theirs',
        met: fork('ours') <= fork('theirs'),
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
    ],
  };
}

/**
 * The footprint's variants, measured in turn: ours as a user gets it (the web server on: the default),
 * ours with `web: false` beside it, and theirs. Ours listens on port 0 rather than the default 1293,
 * so that the run does not depend on that port being free; the rest of `web` is at its defaults.
 */
const FOOTPRINT = {
  ours: { side: 'ours', config: { web: { port: 0 } } },
  'ours, web: false': { side: 'ours', config: { web: false } },
  theirs: { side: 'theirs', config: {} },
};

/** The supervisor's own RSS and CPU over an idle stretch with many clusters and health checks every second. */
async function footprint() {
  const clusters = smoke ? 4 : 32;
  const idleMs = smoke ? 2000 : 30_000;
  const runs = await alternate(async (variant) => {
    const { side, config } = FOOTPRINT[variant];
    const s = seen(await startFootprintFleet(side, { clusters, pingInterval: Number(args['ping-interval']), config }));
    if (config.web && !s.config().web_listening)
      throw new Error('footprint: our web server is not listening: the default configuration would not be measured');
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
  }, Object.keys(FOOTPRINT));
  const pick = (variant, key) => median(runs[variant].map((r) => r[key]));
  const idleMsFloor = smoke ? 1000 : 5000;
  const floor = await alternate(async (side) => {
    const idle = startIdle(side);
    await sleep(idleMsFloor);
    const { rssKiB } = procStats(idle.pid);
    idle.kill('SIGKILL');
    return rssKiB / 1024;
  });
  const rows = (variant, label, how) => [
    {
      name: `footprint${label}: RSS`,
      how,
      unit: 'MiB',
      ours: pick(variant, 'rssMiB'),
      theirs: pick('theirs', 'rssMiB'),
      target: label ? '—' : 'ours ≤ theirs',
      met: label ? true : pick(variant, 'rssMiB') <= pick('theirs', 'rssMiB'),
    },
    {
      name: `footprint${label}: CPU`,
      how: `the same: the supervisor's CPU seconds (user + system) over the ${idleMs / 1000} s`,
      unit: 's',
      ours: pick(variant, 'cpuSeconds'),
      theirs: pick('theirs', 'cpuSeconds'),
      target: label ? '—' : 'ours ≤ theirs',
      met: label ? true : pick(variant, 'cpuSeconds') <= pick('theirs', 'cpuSeconds'),
    },
  ];
  return {
    samples: { runs, floor_rss_mib: floor },
    rows: [
      ...rows(
        'ours',
        '',
        `${clusters} clusters up, health checks every 1 s (ours every ${args['ping-interval']} s), ours in its default configuration (the web server on, port 0), ${idleMs / 1000} s idle from ${args.warmup} s after the last ready: the supervisor process's RSS at the end`,
      ),
      ...rows(
        'ours, web: false',
        ', ours with web: false',
        'the same with ours configured `web: false` (no web server, not the default), against the same runs of theirs',
      ),
      {
        name: 'footprint floor: RSS',
        how: `reference, no supervisor: a process that only loads each side's dependencies (ours: xstate, pino, yaml, valibot and the Node modules the supervisor uses, not the web server's; theirs: discord-hybrid-sharding), idle ${idleMsFloor / 1000} s`,
        unit: 'MiB',
        ours: median(floor.ours),
        theirs: median(floor.theirs),
        target: 'reference',
        met: true,
      },
    ],
  };
}

/** A cluster asks the supervisor for every cluster's status and gets the reply: ours on Redis, theirs on its IPC. */
async function roundTrip() {
  const clusters = smoke ? 4 : 100;
  const rounds = smoke ? 50 : 1000;
  const redis = await startRedis();
  try {
    const runs = await alternate(async (side) => {
      const s = start(side, {
        clusters,
        readyMs: 50,
        // Both check every cluster's liveness every 5 s while the requests run.
        heartbeat: 5000,
        config: { redis: redis.address, redis_channel: `bench-${Date.now()}`, ping_interval: 5, ping_timeout: 10 },
        env: { ROUNDTRIPS: String(rounds) },
      });
      // The whole fleet up, by every stub's ready and by the supervisor's own word (ours: all_clusters_launched;
      // theirs: its spawn() resolved), and a settling second: only then is cluster 0 told to start.
      await s.waitFor((e) => readyCount(e) === clusters && e.some((x) => x.event === 'fleet_up'), 300_000, 'the whole fleet up');
      await sleep(SETTLE_MS);
      const asked = now();
      const readyWhenAsked = readyCount(s.events());
      process.kill(s.pidOf(0), 'SIGUSR2');
      const events = await s.waitFor((e) => e.some((x) => x.event === 'roundtrips'), 300_000, 'the round trips');
      const done = events.find((x) => x.event === 'roundtrips');
      // No cluster went down meanwhile: no process started after the word.
      const restarted = events.filter((x) => x.event === 'start' && x.origin > asked).length;
      if (readyWhenAsked !== clusters || restarted > 0)
        throw new Error(`roundTrip: ${side}: ${readyWhenAsked} of ${clusters} ready, ${restarted} restarted`);
      // The bare echo again, its replies as large as ours, while our clusters are still up: what the machine allows then.
      const fleetFloor = side === 'ours' ? echoFloor(redis, rounds, done.reply_bytes) : null;
      await s.stop();
      return {
        times: done.times,
        replyBytes: done.reply_bytes,
        readyWhenAsked,
        // From the word to the first request: the stub heard it.
        wordToFirstMs: done.at - asked,
        fleetFloor,
      };
    });
    // The same machine's floor: a bare ioredis echo through the same Redis.
    const floor = Array.from({ length: TRIALS }, () => echoFloor(redis, rounds, 0));
    const fleetFloor = runs.ours.map((r) => r.fleetFloor);
    const replyKB = Math.round(median(runs.ours.map((r) => r.replyBytes)) / 1000);
    const stat = (side, p) => median(runs[side].map((r) => percentile(r.times, p)));
    return {
      // Every round trip's time, both sides, and the floors' (ms).
      samples: { runs, floor_ms: floor },
      config: { rounds, settle_ms: SETTLE_MS, redis: 'redis-server on 127.0.0.1, started for the scenario (--save "" --appendonly no)' },
      rows: [
        {
          name: 'bus round trip: p50',
          how: `${clusters} clusters, all up (every stub's ready and the supervisor's own word: ours all_clusters_launched, theirs its spawn() resolved), then ${SETTLE_MS} ms, then cluster 0 is told to ask for every cluster's status ${rounds} times (ours: statuses on Redis pub/sub; theirs: cluster.request() on its IPC, the manager replies with every cluster's state)`,
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
      ],
    };
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
  return {
    // No supervisor process: the machines in bench/actors.mjs, with the arguments each run had.
    config: {
      ours: [{ actors: n, runs: `node --expose-gc bench/actors.mjs ${n} (the first run with --shutdown); 100 --count; 100 --alloc` }],
    },
    samples: { runs, counted, alloc },
    rows: [
      {
        name: 'actor scale: heap per actor',
        how: `${n} Instance actors under one orchestrator, all running (no processes)`,
        unit: 'KiB',
        ours: heap,
        theirs: null,
        target: 'ours ≤ 16 KiB',
        met: heap <= 16,
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
    ],
  };
}

// ---------- the run

const version = async (pkg) => (await import(`${pkg}/package.json`, { with: { type: 'json' } })).default.version;
const xstateVersion = await version('xstate');

// The big-bot launch (bench/bigbot.mjs): 1,024 shards against the stand-in gateway, one trial (theirs takes 2 min); 64 in the smoke run.
const bigbot = async () => {
  const launch = await bigbotLaunch(smoke ? { shards: 64 } : {});
  // Both sides are started by bigbot.mjs itself, not through startSide: it gives their configurations.
  const { ours, theirs, ...bot } = launch.settings;
  return { rows: bigbotRows(launch), samples: launch.samples, config: { ours: [ours], theirs: [theirs], bot } };
};
const scenarios = { launchReaction, crashRecovery, hangRecovery, footprint, roundTrip, actorScale, bigbot };
const chosen = args.only ? args.only.split(',') : Object.keys(scenarios);
const started = Date.now();
const info = machine();
// Which build was measured, taken at the start: the docs may be edited while a long run goes on.
const commit = gitCommit();
const rows = [];
/** Each scenario's configuration, both sides, and every sample it took, by name: what its rows' figures come from. */
const recorded = {};
/** Each distinct configuration of a side's supervisors in a scenario, as it was given. */
const configs = (list) => [...new Map(list.map((s) => s.config()).map((c) => [JSON.stringify(c), c])).values()];
for (const name of chosen) {
  process.stderr.write(`bench: ${name}...\n`);
  const t0 = Date.now();
  launched = { ours: [], theirs: [] };
  const result = await scenarios[name]();
  // A scenario gives { rows, samples, config }, or (the older shape) a row or a list of rows.
  const { rows: got, samples = null, config = {} } = result.rows ? result : { rows: [result].flat() };
  const seconds = Math.round((Date.now() - t0) / 1000);
  for (const row of got) rows.push({ ...row, scenario: name, seconds });
  const sides = Object.fromEntries(
    Object.entries(launched)
      .filter(([, list]) => list.length)
      .map(([side, list]) => [side, configs(list)]),
  );
  recorded[name] = { seconds, config: { ...sides, ...config }, samples };
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
  // Every figure quoted in the docs traces to a results file and its commit.
  commit,
  smoke,
  trials: TRIALS,
  seconds: Math.round((Date.now() - started) / 1000),
  machine: info,
  versions: {
    'discord-hybrid-sharding': await version('discord-hybrid-sharding'),
    xstate: xstateVersion,
  },
  table,
  rows: rows.map(({ samples, ...row }) => ({ ...row, ratio: row.theirs ? row.ours / row.theirs : null, ...(samples && { samples }) })),
  scenarios: recorded,
};
const out = args.out ?? join(ROOT, 'bench/results');
writeJson(join(out, smoke ? 'smoke.json' : `${result.when.slice(0, 10)}.json`), result);
if (!smoke) writeJson(join(out, 'latest.json'), result);
process.stderr.write(`bench: done in ${result.seconds} s\n`);
