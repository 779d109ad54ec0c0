// Shared pieces of the benchmark: running each supervisor with its stub
// clusters, reading what the stubs recorded, reading /proc, statistics.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STUBS = join(ROOT, 'bench/stubs');
const CLK_TCK = 100;

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The whole lines of a file another process is writing: the last one may be half written. */
function wholeLines(file) {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean);
}

/** What a JSON-lines log (the stubs', bench/stubs/exit-hook.cjs's) recorded, in order. */
export const readLog = (file) => wholeLines(file).map((line) => JSON.parse(line));

/** CPU seconds and resident memory of a process, from /proc. */
export function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpu, rssKiB };
}

/** Whether a process is alive (a stopped process is; a zombie is not). */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const { Redis } = await import('ioredis');
  await until(
    async () => {
      const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        return true;
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    },
    10_000,
    'redis-server',
  );
  return { address: `127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') };
}

/**
 * A running supervisor (ours: the mewld CLI; theirs: discord-hybrid-sharding's
 * ClusterManager) and what its stub clusters record.
 */
function running(side, proc, logFile, forks, config) {
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const events = () => readLog(logFile);
  const pidOf = (id) => events().findLast((e) => e.event === 'start' && e.id === id)?.pid;
  const waitFor = (predicate, timeoutMs = 60_000, what = 'stub events') =>
    until(
      () => {
        const e = events();
        return predicate(e) ? e : undefined;
      },
      timeoutMs,
      `${side}: ${what}`,
    );
  return {
    side,
    pid: proc.pid,
    events,
    /** How this side was configured, for the results file: what it was given, as it was given. */
    config,
    /** When the supervisor forked each cluster process: [{ id, at }], oldest first. */
    forks,
    /** The first fork of cluster `id` after `since`. */
    forkAfter: (id, since) => forks().find((f) => f.id === id && f.at > since),
    /** The latest process of cluster `id`. */
    pidOf,
    /** Waits until `predicate(events)` holds; resolves with the events. */
    waitFor,
    /**
     * kill -9 of cluster `id`'s latest process, 200 ms after the call; waits for its
     * replacement's start and ready (the stubs' events) and resolves with the kill's time too.
     */
    async crash(id) {
      const victim = pidOf(id);
      await sleep(200);
      const t0 = now();
      process.kill(victim, 'SIGKILL');
      const isNew = (e) => e.event === 'start' && e.id === id && e.origin > t0;
      const started = (await waitFor((e) => e.some(isNew), 30_000, `cluster ${id} back`)).find(isNew);
      const isReady = (e) => e.event === 'ready' && e.pid === started.pid;
      const ready = (await waitFor((e) => e.some(isReady), 30_000, `cluster ${id} ready`)).find(isReady);
      return { victim, t0, started, ready };
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      // Anything left (theirs leaves a stopped process behind after a hang): end it.
      for (const e of events()) if (e.event === 'start' && isAlive(e.pid)) process.kill(e.pid, 'SIGKILL');
    },
  };
}

// BENCH_NODE_ARGS: flags for our supervisor's node, to profile it (e.g. "--cpu-prof --cpu-prof-dir=prof").
const benchNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const openStdout = (file) => (file ? openSync(file, 'w') : 'ignore');

/** `nodeArgs` and `stdout` (a file for what node prints, V8 traces) serve bench/jit.mjs. */
export function startOurs({ clusters, shardsPerCluster = 1, readyMs = 300, config = {}, env = {}, nodeArgs = benchNodeArgs, stdout }) {
  const dir = mkdtempSync(join(tmpdir(), 'mewld-bench-'));
  const logFile = join(dir, 'events.jsonl');
  // Every key the bench sets; the rest are at their defaults (src/config). `web: false` is not the
  // default (the web server is on unless the config says false): only the footprint scenario measures the default.
  const written = {
    override_dir: STUBS,
    module: 'ours.cjs',
    interp: 'node',
    fixed_shard_count: clusters * shardsPerCluster,
    per_cluster: shardsPerCluster,
    cluster_start_next_delay: 0,
    ping_interval: 1,
    ping_timeout: 5,
    web: false,
    restart: { backoff_initial: 0, jitter: 0, max_restarts: 1000, fleet_crash_ratio: 1 },
    ...config,
  };
  writeFileSync(join(dir, 'config.yaml'), stringify(written));
  const proc = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist/cli/index.js'), '--config', join(dir, 'config.yaml')], {
    cwd: dir,
    env: { ...process.env, BENCH_LOG: logFile, READY_MS: String(readyMs), MTOKEN: '', ...env },
    stdio: ['ignore', openStdout(stdout), 'pipe'],
  });
  const supervisorLog = join(dir, 'supervisor.log');
  proc.stderr.on('data', (chunk) => appendFileSync(supervisorLog, chunk));
  // mewld logs each fork (forked_at, high resolution) as it starts a cluster process.
  const forks = () =>
    wholeLines(supervisorLog)
      .filter((line) => line.includes('"forked_at"'))
      .map((line) => JSON.parse(line))
      .map((l) => ({ id: l.cluster, at: l.forked_at }));
  const recorded = () => ({
    config: { ...written, override_dir: relative(ROOT, STUBS) },
    // Whether its web server listened (one that cannot listen is logged and left off: the run would not be the one described).
    web_listening: wholeLines(supervisorLog).some((line) => line.includes('"msg":"dashboard: ')),
    ...(nodeArgs.length && { node_args: nodeArgs }),
    env: { READY_MS: String(readyMs), ...env },
  });
  return running('ours', proc, logFile, forks, recorded);
}

export function startTheirs({
  clusters,
  shardsPerCluster = 1,
  readyMs = 300,
  heartbeat,
  missedHeartbeats,
  env = {},
  nodeArgs = [],
  stdout,
}) {
  const dir = mkdtempSync(join(tmpdir(), 'dhs-bench-'));
  const logFile = join(dir, 'events.jsonl');
  const proc = spawn(process.execPath, [...nodeArgs, join(STUBS, 'theirs-manager.cjs')], {
    cwd: dir,
    env: {
      ...process.env,
      BENCH_LOG: logFile,
      READY_MS: String(readyMs),
      BENCH_OPTIONS: JSON.stringify({ clusters, shardsPerCluster, heartbeat, missedHeartbeats }),
      ...env,
    },
    stdio: ['ignore', openStdout(stdout), 'pipe'],
  });
  proc.stderr.on('data', (chunk) => appendFileSync(join(dir, 'supervisor.log'), chunk));
  const forks = () => readLog(logFile).filter((e) => e.event === 'fork');
  // What bench/stubs/theirs-manager.cjs passed to discord-hybrid-sharding, as it logged it at start.
  const recorded = () => ({
    ...readLog(logFile).find((e) => e.event === 'options')?.options,
    ...(nodeArgs.length && { node_args: nodeArgs }),
    env: { READY_MS: String(readyMs), ...env },
  });
  return running('theirs', proc, logFile, forks, recorded);
}

/** Either supervisor with its stub clusters, by side: 'ours' or 'theirs'. */
export const startSide = (side, options) => (side === 'ours' ? startOurs(options) : startTheirs(options));

/**
 * The footprint scenario's fleet, for bench/index.mjs, jit.mjs and memory.mjs: `clusters` up, each
 * checked every second (ours diagnostics, every `pingInterval` s; theirs heartbeats); resolves once every one is ready.
 */
export async function startFootprintFleet(side, { clusters, pingInterval = 1, config = {}, ...options }) {
  const s = startSide(side, {
    clusters,
    readyMs: 100,
    heartbeat: 1000,
    config: { ping_interval: pingInterval, ping_timeout: 5, ...config },
    ...options,
  });
  await s.waitFor((e) => readyCount(e) === clusters, 180_000, `${clusters} clusters ready`);
  return s;
}

/** A process that only loads each side's dependencies (bench/stubs/idle-*): the least a supervisor built on them can weigh. */
export function startIdle(side) {
  const file = join(STUBS, side === 'ours' ? 'idle-ours.mjs' : 'idle-theirs.cjs');
  return spawn(process.execPath, [file], { cwd: ROOT, stdio: 'ignore' });
}

export const readyCount = (events) => new Set(events.filter((e) => e.event === 'ready').map((e) => e.id)).size;

export function machine() {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpu_model: cpu[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The commit the bench ran on, with a mark when the tree had changes; null outside a git checkout. */
export function gitCommit() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return null;
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+changes' : ''}`;
}

export function writeJson(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
