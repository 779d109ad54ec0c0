import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Session, SessionStore } from '../interfaces/sessions.js';
import type { ProcessRegistry } from './clusterProcess.js';

/**
 * What a run of the supervisor leaves on its machine, for the next run of the
 * same config: a claim (only one supervisor runs a config at a time) and the
 * cluster processes it started (so that a run after a SIGKILL ends what the
 * killed one left running before it launches anything: never two processes on
 * one shard set). In $XDG_RUNTIME_DIR/mewld/<config>/, else
 * ~/.mewld/<config>/, readable by the user only.
 *
 * A process is known by its pid and its start time (from /proc), so that a
 * pid the kernel has since given to another program is never signalled.
 */

export interface ProcessIdentity {
  pid: number;
  /** Clock ticks since boot when it started (/proc/<pid>/stat, field 22). */
  startTime: number;
}

export interface RunHolder extends ProcessIdentity {
  runId: string;
  host: string;
  config: string;
  /** Unix ms. */
  startedAt: number;
}

interface ClusterRecord extends ProcessIdentity {
  cluster: number;
  runId: string;
}

export class AlreadyRunning extends Error {
  override name = 'AlreadyRunning';
  constructor(readonly holder: RunHolder) {
    super(
      `another supervisor runs ${holder.config}: pid ${holder.pid} on ${holder.host}, started ${new Date(holder.startedAt).toISOString()}; stop it first (mewld would otherwise run every shard twice)`,
    );
  }
}

/** The directory of one config's run files. */
export function runDirectory(configFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'mewld') : join(homedir(), '.mewld');
  const key = createHash('sha256').update(resolve(configFile)).digest('hex').slice(0, 16);
  return join(base, key);
}

/** A live process's pid, start time and process group, or undefined (gone, a zombie, or no /proc). */
export function processInfo(pid: number): (ProcessIdentity & { pgid: number }) | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields from its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z') return undefined;
  return { pid, pgid: Number(fields[2]), startTime: Number(fields[19]) };
}

const isSameProcess = (p: ProcessIdentity) => processInfo(p.pid)?.startTime === p.startTime;

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export interface RunClaim {
  dir: string;
  /** Records each cluster process this run starts, for the next run. */
  registry: ProcessRegistry;
  /**
   * Ends what an earlier run of this config left running (SIGTERM to each
   * process group, SIGKILL after `killTimeoutMs`), and forgets it; resolves
   * with the processes found.
   */
  endLeftovers(killTimeoutMs: number): Promise<{ cluster: number; pid: number }[]>;
  /** Lets the config go (at exit). */
  release(): void;
}

/**
 * Claims the config for this run, or throws AlreadyRunning naming the live
 * supervisor that holds it. A claim left by a supervisor that is gone (killed,
 * or a pid since reused) is taken over.
 */
export function claimRun(configFile: string, runId: string, env: NodeJS.ProcessEnv = process.env): RunClaim {
  const dir = runDirectory(configFile, env);
  const clustersDir = join(dir, 'clusters');
  mkdirSync(clustersDir, { recursive: true, mode: 0o700 });
  const claimFile = join(dir, 'supervisor.json');
  const me = processInfo(process.pid);
  const holder: RunHolder = {
    pid: process.pid,
    startTime: me?.startTime ?? 0,
    runId,
    host: hostname(),
    config: resolve(configFile),
    startedAt: Date.now(),
  };

  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(claimFile, 'wx', 0o600);
      writeSync(fd, JSON.stringify(holder));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw err;
      const other = readJson<RunHolder>(claimFile);
      if (other && other.pid !== process.pid && isSameProcess(other)) throw new AlreadyRunning(other);
      // Left by a supervisor that is gone: moved aside, then checked, so that of two runs
      // starting at once the second cannot take the claim the first has just made.
      const aside = `${claimFile}.stale-${process.pid}`;
      try {
        renameSync(claimFile, aside);
        if (readJson<RunHolder>(aside)?.runId === other?.runId) rmSync(aside, { force: true });
        else renameSync(aside, claimFile);
      } catch {
        // another run moved it first; try again
      }
    }
  }

  const recordFile = (cluster: number) => join(clustersDir, `${cluster}.json`);
  return {
    dir,
    registry: {
      started(cluster, pid) {
        const info = processInfo(pid);
        const record: ClusterRecord = { cluster, pid, startTime: info?.startTime ?? 0, runId };
        writeFileSync(`${recordFile(cluster)}.tmp`, JSON.stringify(record), { mode: 0o600 });
        renameSync(`${recordFile(cluster)}.tmp`, recordFile(cluster));
      },
      exited(cluster, pid) {
        if (readJson<ClusterRecord>(recordFile(cluster))?.pid === pid) rmSync(recordFile(cluster), { force: true });
      },
    },
    async endLeftovers(killTimeoutMs) {
      const records = readdirSync(clustersDir)
        .filter((name) => name.endsWith('.json'))
        .flatMap((name) => {
          const record = readJson<ClusterRecord>(join(clustersDir, name));
          return record && record.runId !== runId ? [record] : [];
        });
      const groups = leftoverGroups(records);
      const found = [...groups.values()].flatMap(({ cluster, members }) => members.map((pid) => ({ cluster, pid })));
      if (groups.size > 0) {
        signalGroups(groups.keys(), 'SIGTERM');
        const stillThere = () => [...groups.values()].some(({ members }) => members.some((pid) => processInfo(pid) !== undefined));
        await waitFor(() => !stillThere(), killTimeoutMs);
        if (stillThere()) {
          signalGroups(groups.keys(), 'SIGKILL');
          await waitFor(() => !stillThere(), 5_000);
        }
      }
      for (const record of records) rmSync(recordFile(record.cluster), { force: true });
      return found;
    },
    release() {
      if (readJson<RunHolder>(claimFile)?.runId === runId) rmSync(claimFile, { force: true });
      rmSync(clustersDir, { recursive: true, force: true });
      try {
        rmdirSync(dir); // only if nothing else is left in it
      } catch {
        // not empty: another file of this config's
      }
    },
  };
}

/**
 * The process groups of an earlier run that still have members, by group id:
 * a group whose leader is the recorded process (same pid, same start time), or
 * whose members carry the run's MEWLD_RUN_ID (the leader gone, its children not).
 */
function leftoverGroups(records: ClusterRecord[]): Map<number, { cluster: number; members: number[] }> {
  const byGroup = new Map(records.map((r) => [r.pid, r]));
  const groups = new Map<number, { cluster: number; members: number[] }>();
  if (byGroup.size === 0) return groups;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return groups; // no /proc: nothing can be told apart safely
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    const record = info && byGroup.get(info.pgid);
    if (!info || !record || info.pid === process.pid) continue;
    const leader = info.pid === record.pid && info.startTime === record.startTime;
    if (!leader && !hasRunId(info.pid, record.runId)) continue;
    const group = groups.get(info.pgid) ?? { cluster: record.cluster, members: [] };
    group.members.push(info.pid);
    groups.set(info.pgid, group);
  }
  return groups;
}

function hasRunId(pid: number, runId: string): boolean {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'utf8')}\0`.includes(`\0MEWLD_RUN_ID=${runId}\0`);
  } catch {
    return false;
  }
}

function signalGroups(groups: Iterable<number>, signal: NodeJS.Signals) {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // gone already
    }
  }
}

async function waitFor(done: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Replaces `file` (in a run directory, made if need be) with `text`, readable
 * by the user only: written beside it, then renamed over it, so that a reader
 * (the next run, after a crash mid-write) finds the old text or the new, never
 * half of one.
 */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/**
 * The web server's sessions of a config, kept across runs in its run
 * directory (only hashes of the session ids, which cannot be used as
 * cookies), at most `max` of them: the oldest go first.
 */
export function sessionFile(dir: string, max = 1000): SessionStore {
  const file = join(dir, 'sessions.json');
  const sessions = new Map<string, Session>(
    (readJson<[string, Session][]>(file) ?? []).filter(
      (e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1]?.expires === 'number' && e[1].expires > Date.now(),
    ),
  );
  const save = () => {
    try {
      writeFileAtomic(file, JSON.stringify([...sessions]));
    } catch {
      // sessions then last as long as this run: the dashboard asks again after a restart
    }
  };
  return {
    get: async (key) => sessions.get(key),
    async set(key, session) {
      sessions.delete(key);
      sessions.set(key, session);
      for (const [old, s] of sessions) if (sessions.size > max || s.expires <= Date.now()) sessions.delete(old);
      save();
    },
    async delete(key) {
      if (sessions.delete(key)) save();
    },
  };
}
