import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/index.js');
export const FIXTURES = join(ROOT, 'tests/fixtures');

export interface FixtureEvent {
  event: string;
  id: number;
  pid: number;
  at: number;
  [key: string]: unknown;
}

export interface RunningSupervisor {
  proc: ChildProcess;
  dir: string;
  configFile: string;
  /** Every log line the supervisor wrote (JSON objects, or {raw} for other output). */
  logs: Record<string, unknown>[];
  /** Settles once the supervisor has exited and everything it wrote is in `logs`. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the fixture clusters recorded (tests/fixtures/cluster.mjs FIXTURE_LOG). */
  events(): FixtureEvent[];
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  waitForEvents(predicate: (events: FixtureEvent[]) => boolean, timeoutMs?: number): Promise<FixtureEvent[]>;
  kill(signal?: NodeJS.Signals): void;
  /** Live cluster processes of this supervisor (found by its temp dir in their environment). */
  clusterPids(): number[];
  /** The web server's address and token, from the dashboard URL it printed (with `web: { port: 0 }`). */
  web(): Promise<{ base: string; token: string; auth: { authorization: string } }>;
}

/** What the fixture clusters recorded in a FIXTURE_LOG file, in order: whole lines only, as one may be half written. */
export function readEvents(file: string): FixtureEvent[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FixtureEvent);
}

/**
 * How long the helpers wait, by default, for something that is bound to happen (a launch, a log line): long, as
 * a machine busy with other work is slow, and a wait returns as soon as what it waits for is there.
 */
export const WAIT_MS = 30_000;

/** Polls `check` until it returns a truthy value, or fails with `what` after the timeout. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = WAIT_MS, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Runs the real CLI (dist/cli/index.js) as a child process on a config written to a
 * fresh temp directory. Clusters default to the Node fixture cluster.
 */
export function runSupervisor(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  args: string[] = [],
  /**
   * `dir`: run in this directory (another run's: the same config file, runtime files and cluster log), not a fresh one.
   * `configText`: the config file as written (a Go-era config, say), instead of `config` over the test defaults.
   */
  { dir = mkdtempSync(join(tmpdir(), 'mewld-test-')), configText }: { dir?: string; configText?: string } = {},
): RunningSupervisor {
  const eventsFile = join(dir, 'events.jsonl');
  const full = {
    override_dir: FIXTURES,
    module: 'cluster.mjs',
    interp: 'node',
    ping_interval: 1,
    ping_timeout: 1,
    cluster_start_next_delay: 0.05,
    kill_timeout: 2,
    restart: { backoff_initial: 0.1, backoff_max: 1, jitter: 0 },
    web: false,
    ...config,
  };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, configText ?? stringify(full));
  const proc = spawn(process.execPath, [CLI, '--config', configFile, ...args], {
    cwd: dir,
    // Where it leaves its web API's address (webAccess.ts): its own directory, not the user's.
    env: { ...process.env, FIXTURE_LOG: eventsFile, MTOKEN: '', XDG_RUNTIME_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
      if (process.env.MEWLD_TEST_VERBOSE) process.stderr.write(`[supervisor] ${line}\n`);
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  // 'close', not 'exit': the process may have exited with its last lines still unread in the pipes, and a
  // test that checks the logs once it has exited must see them all.
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal })),
  );
  const events = () => readEvents(eventsFile);
  return {
    proc,
    dir,
    configFile,
    logs,
    exit,
    events,
    waitForLog: (predicate, timeoutMs = WAIT_MS) => eventually(() => logs.find(predicate), timeoutMs, 'a log line'),
    waitForEvents: (predicate, timeoutMs = WAIT_MS) =>
      eventually(
        () => {
          const e = events();
          return predicate(e) ? e : undefined;
        },
        timeoutMs,
        'cluster events',
      ),
    kill: (signal = 'SIGTERM') => void proc.kill(signal),
    clusterPids: () => livePids(dir).filter((pid) => pid !== proc.pid),
    async web() {
      const line = await eventually(
        () => logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('dashboard: ')),
        WAIT_MS,
        'the dashboard URL',
      );
      const url = new URL(String(line.msg).slice('dashboard: '.length));
      const token = url.searchParams.get('token') ?? '';
      return { base: `${url.origin}/`, token, auth: { authorization: `Bearer ${token}` } };
    },
  };
}

/** Whether a process runs: a zombie (exited, waiting to be reaped by whoever adopted it) does not. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Live processes whose command line or environment contains `marker`: a
 * supervisor's temp dir finds its clusters (FIXTURE_LOG points into it).
 */
export function livePids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Zombies (state Z) are dead; they only wait for their parent to reap them.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && (cmdline.includes(marker) || environ.includes(marker))) pids.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return pids;
}

/** Ends supervisors the way an operator would (SIGTERM), then makes sure nothing of them is left. */
export async function stopAll(supervisors: RunningSupervisor[]): Promise<void> {
  await Promise.all(
    supervisors.map(async (s) => {
      if (s.proc.exitCode === null && s.proc.signalCode === null) s.kill('SIGTERM');
      const timer = setTimeout(() => s.kill('SIGKILL'), 15_000);
      await s.exit;
      clearTimeout(timer);
      for (const pid of livePids(s.dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }),
  );
}
