// The big-bot launch (issue 19): a bot of many shards with max_concurrency 16,
// launched by each supervisor against a local stand-in for Discord's gateway that
// enforces the identify rule (bench/stubs/gateway.mjs). Time until every shard is
// ready, against the lower bound ⌈shards / max_concurrency⌉ × window, and the
// stand-in's count of identifies that broke the rule.
//
//   node bench/bigbot.mjs [--shards 1024] [--per-cluster 4] [--window-ms 500] [--trials 1]
//                         [--sides ours,theirs] [--their-delay-ms 0] [--their-timeout 60000]
//                         [--ours-start-next-delay-ms 100] [--ours-go-era] [--out FILE]
//
// Discord's identify window is 5 s; the default 500 ms scales it down 10×. The
// stub clusters keep a real bot's proportions of it: they load for 0.5 × window
// after their process starts, identify every shard at once (holding nothing
// back themselves: the supervisor's order is what is measured), and are ready
// 0.3 × window after the identifies (bench/stubs/bigbot-cluster.cjs).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gitCommit, isAlive, machine, median, now, ROOT, sleep, startOurs, until, writeJson } from './lib.mjs';
import { startGateway } from './stubs/gateway.mjs';

const DISCORD_WINDOW_MS = 5000;

/**
 * The settings of one run. Theirs by default at its fastest setting that kept 0
 * violations at 256 shards on this machine (bench/README.md, the big-bot launch):
 * each cluster waits for the one before to be ready (`spawnOptions.timeout` 60 s), no
 * delay. Its other way, `timeout: -1` and a delay per shard (clusters spawned at a fixed
 * pace without waiting), broke the rule at every delay tried from 32 to 50 ms a shard.
 */
export function bigbotSettings({
  shards = 1024,
  perCluster = 4,
  windowMs = 500,
  maxConcurrency = 16,
  theirDelayMs,
  theirTimeout = 60_000,
  oursStartNextDelayMs,
  oursGoEra = false,
} = {}) {
  return {
    shards,
    perCluster,
    clusters: Math.ceil(shards / perCluster),
    maxConcurrency,
    windowMs,
    scale: DISCORD_WINDOW_MS / windowMs,
    loadMs: 0.5 * windowMs,
    readyMs: 0.3 * windowMs,
    boundMs: Math.ceil(shards / maxConcurrency) * windowMs,
    ours: {
      // The stub clusters wait for their identify turns and say identified (mewld/client's
      // identifyTurn() and identified()), unless Go-era: launch_next only, as before.
      identify_turns: !oursGoEra,
      identify_window_ms: windowMs,
      // Today's launch slot: the next wave starts cluster_start_next_delay after the last launch_next of
      // this one. Its identify then comes ready + delay + process start + load after this wave's: 0.2 ×
      // window is the least delay that keeps that ≥ one window whatever the process start costs.
      cluster_start_next_delay_ms: oursStartNextDelayMs ?? windowMs - 0.5 * windowMs - 0.3 * windowMs,
    },
    theirs: {
      // Its queue waits delay × shards-per-cluster ms after each spawn (and, with a timeout, for the
      // cluster's ready first). With timeout -1, clusters max_concurrency / per_cluster apart share
      // buckets, so delay × max_concurrency must be at least a window.
      'spawnOptions.delay': theirDelayMs ?? 0,
      'spawnOptions.timeout': theirTimeout,
    },
  };
}

/** One launch of the bot by one side; resolves with what the stand-in saw. */
export async function launchOnce(side, settings) {
  const gateway = await startGateway({ shards: settings.shards, maxConcurrency: settings.maxConcurrency, windowMs: settings.windowMs });
  const env = { GATEWAY_URL: gateway.url, LOAD_MS: String(settings.loadMs), READY_MS: String(settings.readyMs) };
  if (side === 'ours' && !settings.ours.identify_turns) env.BIGBOT_GO_ERA = '1';
  const loadAtStart = loadavg()[0];
  const t0 = now();
  let stop;
  if (side === 'ours') {
    const s = startOurs({
      clusters: settings.clusters,
      shardsPerCluster: settings.perCluster,
      env,
      config: {
        module: 'bigbot-ours.cjs',
        // The shard count and max_concurrency come from the stand-in, as from Discord.
        fixed_shard_count: undefined,
        proxy: gateway.url,
        token: 'bench-not-used',
        cluster_start_next_delay: settings.ours.cluster_start_next_delay_ms / 1000,
        identify_window: settings.ours.identify_window_ms / 1000,
        // No diagnostics during the launch: theirs has no heartbeat in this scenario.
        ping_interval: 3600,
        ping_timeout: 60,
      },
    });
    stop = () => s.stop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'dhs-bigbot-'));
    const proc = spawn(process.execPath, [join(ROOT, 'bench/stubs/bigbot-theirs-manager.cjs')], {
      cwd: dir,
      env: {
        ...process.env,
        ...env,
        BENCH_OPTIONS: JSON.stringify({
          shards: settings.shards,
          perCluster: settings.perCluster,
          delay: settings.theirs['spawnOptions.delay'],
          timeout: settings.theirs['spawnOptions.timeout'],
        }),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    stop = async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    };
  }
  try {
    await until(() => gateway.allReadyAt(), 600_000, `${side}: every shard ready (${gateway.readyCount()} so far)`);
  } finally {
    await stop();
    await sleep(100);
    for (const pid of gateway.pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await gateway.close();
  }
  const allReadyMs = gateway.allReadyAt() - t0;
  const shardsIdentified = new Set(gateway.identifies.map((i) => i.shard)).size;
  return {
    all_ready_ms: allReadyMs,
    ratio_to_bound: allReadyMs / settings.boundMs,
    violations: gateway.violations.length,
    identifies: gateway.identifies.length,
    shards_identified: shardsIdentified,
    load_average_at_start: Math.round(loadAtStart * 100) / 100,
    first_identify_ms: gateway.identifies[0].at - t0,
    // Every identify, ms from the supervisor's start, in order of arrival: where the time went.
    identify_ms: gateway.identifies.map((i) => Math.round((i.at - t0) * 10) / 10),
    worst_violations: [...gateway.violations].sort((a, b) => a.gap_ms - b.gap_ms).slice(0, 10),
  };
}

/** Both sides, alternating, `trials` times each. */
export async function bigbotLaunch({ trials = 1, sides = ['ours', 'theirs'], ...options } = {}) {
  const settings = bigbotSettings(options);
  const samples = Object.fromEntries(sides.map((side) => [side, []]));
  for (let t = 0; t < trials; t++) {
    const order = t % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      process.stderr.write(`bigbot: ${side}, trial ${t + 1}...\n`);
      samples[side].push(await launchOnce(side, settings));
    }
  }
  return { settings, samples };
}

/** The rows bench/index.mjs prints: ours / theirs / the lower bound, and the violations. */
export function bigbotRows({ settings, samples }) {
  const pick = (side, key) => (samples[side]?.length ? median(samples[side].map((s) => s[key])) : null);
  const size = `${settings.shards} shards in ${settings.clusters} clusters of ${settings.perCluster}, max_concurrency ${settings.maxConcurrency}, identify window ${settings.windowMs} ms (Discord's 5 s / ${settings.scale})`;
  return [
    {
      name: 'big-bot launch: all shards ready',
      how: `${size}; clusters load ${settings.loadMs} ms, identify, ready ${settings.readyMs} ms later; against the stand-in gateway. Floor: ⌈shards / max_concurrency⌉ × window = ${settings.boundMs} ms. Ours: ${settings.ours.identify_turns ? `identify turns, identify_window ${settings.ours.identify_window_ms} ms, ` : 'Go-era clusters (no identify turns), '}cluster_start_next_delay ${settings.ours.cluster_start_next_delay_ms} ms; theirs: spawnOptions.delay ${settings.theirs['spawnOptions.delay']} ms per shard, timeout ${settings.theirs['spawnOptions.timeout']}`,
      unit: 'ms',
      ours: pick('ours', 'all_ready_ms'),
      theirs: pick('theirs', 'all_ready_ms'),
      floor: settings.boundMs,
      target: 'ours ≤ 1.05 × floor',
      met: pick('ours', 'all_ready_ms') <= 1.05 * settings.boundMs,
      settings,
      samples,
    },
    {
      name: 'big-bot launch: identify-rule violations',
      how: 'the same: identifies the stand-in saw within one window of the last in their bucket',
      unit: 'count',
      ours: pick('ours', 'violations'),
      theirs: pick('theirs', 'violations'),
      target: 'ours: 0',
      met: pick('ours', 'violations') === 0,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: a } = parseArgs({
    options: {
      shards: { type: 'string', default: '1024' },
      'per-cluster': { type: 'string', default: '4' },
      'window-ms': { type: 'string', default: '500' },
      'max-concurrency': { type: 'string', default: '16' },
      trials: { type: 'string', default: '1' },
      sides: { type: 'string', default: 'ours,theirs' },
      'their-delay-ms': { type: 'string' },
      'their-timeout': { type: 'string' },
      'ours-start-next-delay-ms': { type: 'string' },
      // Our stub clusters as Go-era ones: no identify turns, launch_next only (today's launch).
      'ours-go-era': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const num = (v) => (v === undefined ? undefined : Number(v));
  const info = machine();
  const started = Date.now();
  const run = await bigbotLaunch({
    shards: num(a.shards),
    perCluster: num(a['per-cluster']),
    windowMs: num(a['window-ms']),
    maxConcurrency: num(a['max-concurrency']),
    trials: num(a.trials),
    sides: a.sides.split(','),
    theirDelayMs: num(a['their-delay-ms']),
    theirTimeout: num(a['their-timeout']),
    oursStartNextDelayMs: num(a['ours-start-next-delay-ms']),
    oursGoEra: a['ours-go-era'],
  });
  const rows = bigbotRows(run);
  for (const r of rows) {
    const ratio = (v) => (v === null ? '—' : r.floor ? `${(v / r.floor).toFixed(3)} × floor` : '');
    console.log(
      `${r.name}: ours ${r.ours ?? '—'} (${ratio(r.ours)}), theirs ${r.theirs ?? '—'} (${ratio(r.theirs)})${r.floor ? `, floor ${r.floor}` : ''}`,
    );
  }
  const when = new Date().toISOString();
  writeJson(a.out ?? join(ROOT, 'bench/results', `${when.slice(0, 10)}-bigbot-${run.settings.shards}.json`), {
    when,
    commit: gitCommit(),
    command: `node bench/bigbot.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    seconds: Math.round((Date.now() - started) / 1000),
    machine: info,
    rows,
  });
}
