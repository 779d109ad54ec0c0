import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { fromCallback } from 'xstate';
import type { ClusterLink } from '../interfaces/busAdapter.js';
import type { ClusterLogs } from '../interfaces/clusterLogs.js';
import type { ProcessCommand, ProcessEvent, ProcessInput } from '../interfaces/clusterProcess.js';
import type { Logger } from './logger.js';

/** How clusters are launched; the same for every cluster of a run. */
export interface LaunchSettings {
  workDir: string;
  module: string;
  interp?: string | undefined;
  /** The supervisor's environment plus the `env` files. */
  env: NodeJS.ProcessEnv;
  token: string;
  /** This run of the supervisor (MEWLD_RUN_ID): a cluster that hears from another run knows it was replaced. */
  runId?: string;
  /** How clusters reach the bus they talk on: its environment, and whether they get an IPC channel. */
  bus: ClusterLink;
  /** Where each cluster process is written down, so that a later run can end what this one leaves behind. */
  registry?: ProcessRegistry;
  /** Each cluster's recent lines, for `mewld logs` and the API. */
  logs?: ClusterLogs;
  /** The level of stderr lines in the supervisor's log (config `logs.stderr`; default auto). */
  stderrLevel?: StderrLevel;
  /**
   * Changes a cluster's launch (an embedder's own start: other arguments,
   * another program, more environment), given the one mewld would use.
   */
  launch?: LaunchCustomizer;
}

/** An embedder's say in how each cluster is launched: the command to run instead of `command`. */
export type LaunchCustomizer = (
  cluster: ProcessInput['cluster'] & { shardCount: number; clusterCount: number },
  command: LaunchCommand,
) => LaunchCommand;

/** What the process adapter tells the registry of cluster processes (src/adapters/runFiles.ts). */
export interface ProcessRegistry {
  started(clusterId: number, pid: number): void;
  exited(clusterId: number, pid: number): void;
}

/** Variables of the supervisor's own that are secrets or concern it alone: never passed to a cluster. */
const SUPERVISOR_ONLY = ['MEWLD_WEB_TOKEN'];

export interface LaunchCommand {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** A shard list as the Go version writes it in argv: `[0, 1, 2]` (valid JSON and a Python list). */
export const shardList = (shards: readonly number[]) => `[${shards.join(', ')}]`;

/**
 * argv and env of a cluster process, as the Go mewld passed them (clusters parse
 * argv positionally): [interp] <workdir>/<module> <shards> <shard_count>
 * <cluster_id> <cluster_name> 0 <workdir>, plus the MEWLD_* variables.
 */
export function launchCommand(settings: LaunchSettings, input: ProcessInput): LaunchCommand {
  const { cluster, shardCount, clusterCount } = input;
  const workDir = settings.workDir;
  const shards = shardList(cluster.shards);
  const tail = [shards, String(shardCount), String(cluster.id), cluster.name, '0', workDir];
  // interp may carry flags ("node --enable-source-maps"); the Go version took one word.
  const interp = settings.interp?.trim().split(/\s+/).filter(Boolean) ?? [];
  const [file, ...args] =
    interp.length > 0
      ? [...interp, `${workDir.replace(/\/+$/, '')}/${settings.module}`, ...tail]
      : [executable(settings.module, workDir), ...tail];
  return {
    file: file!,
    args,
    cwd: settings.workDir,
    env: {
      ...withoutSupervisorOnly(settings.env),
      ...settings.bus.env(cluster.id),
      ...(settings.runId !== undefined && { MEWLD_RUN_ID: settings.runId }),
      MTOKEN: settings.token,
      MEWLD_CLUSTER_ID: String(cluster.id),
      MEWLD_CLUSTER_NAME: cluster.name,
      MEWLD_SHARDS: shards,
      MEWLD_SHARD_COUNT: String(shardCount),
      MEWLD_CLUSTER_COUNT: String(clusterCount),
    },
  };
}

function withoutSupervisorOnly(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!SUPERVISOR_ONLY.some((name) => name in env)) return env;
  const copy = { ...env };
  for (const name of SUPERVISOR_ONLY) delete copy[name];
  return copy;
}

/**
 * Without interp the module is the executable, as in the Go version: a path is
 * taken relative to the working directory; a bare name is looked up in the
 * working directory first, then in PATH.
 */
function executable(module: string, workDir: string): string {
  if (isAbsolute(module)) return module;
  if (module.includes('/')) return resolve(workDir, module);
  const local = join(workDir, module);
  return existsSync(local) ? local : module;
}

/**
 * Where execvp would find the program `name` (a bare name: one with a slash
 * is a path already) in `path`, an empty entry meaning `cwd`; undefined if
 * it is not there.
 */
function findInPath(name: string, path: string | undefined, cwd: string): string | undefined {
  if (name.includes('/')) return undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    const candidate = resolve(cwd, dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const TAIL_LINES = 20;
/** A line a cluster prints is cut at this many characters: a cluster that never prints a newline must not fill the supervisor's memory. */
export const MAX_LINE = 16 * 1024;
/** The last lines kept for `cluster_failed` are cut shorter, so that the entry stays small. */
const TAIL_LINE_MAX = 500;

/**
 * Splits a stream into lines, each cut at `max` characters (the rest of a
 * longer line is dropped, and the line says so). readline has no such bound:
 * a cluster printing a gigabyte without a newline killed the supervisor with
 * `RangeError: Invalid string length`.
 */
export function boundedLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void, max = MAX_LINE) {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let dropped = 0;
  const flush = (line: string) => {
    onLine(dropped > 0 ? `${line}… (${dropped} more characters not shown)` : line);
    dropped = 0;
  };
  const take = (text: string) => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      const room = max - pending.length;
      if (piece.length > room) dropped += piece.length - Math.max(room, 0);
      flush((pending + piece.slice(0, Math.max(room, 0))).replace(/\r$/, ''));
      pending = '';
      start = nl + 1;
    }
    const rest = text.slice(start);
    const room = max - pending.length;
    if (rest.length > room) dropped += rest.length - Math.max(room, 0);
    pending += rest.slice(0, Math.max(room, 0));
  };
  stream.on('data', (chunk: Buffer) => take(decoder.write(chunk)));
  stream.on('end', () => {
    take(decoder.end());
    if (pending.length > 0 || dropped > 0) flush(pending);
    pending = '';
  });
}

export type StderrLevel = 'auto' | 'info' | 'warn';

/** Words that make a stderr line look like an error rather than a program's normal talk (which often goes to stderr too). */
// TypeError, ECONNREFUSED's Error, RuntimeException as well: the word may end a longer name.
const LOOKS_LIKE_AN_ERROR = /(error|exception)\b|\b(fatal|panic|traceback|uncaught|unhandled)\b|^\s+at /i;

/** The level a stderr line is logged at: with `auto`, warn only for what looks like an error. */
export function stderrLevel(line: string, setting: StderrLevel = 'auto'): 'info' | 'warn' {
  if (setting !== 'auto') return setting;
  return LOOKS_LIKE_AN_ERROR.test(line) ? 'warn' : 'info';
}

/**
 * The cluster process adapter: one actor per cluster, for the cluster's whole
 * life. Each process runs in its own process group, so that signals reach
 * whatever it started too; when the leader exits, what is left of the group is
 * killed. A new process is never spawned while the previous one is alive, and
 * stopping the actor (the supervisor going away) kills the group.
 */
export function spawnCluster(settings: LaunchSettings, logger: Logger) {
  // A bare program name (interp: node) is looked up in PATH once for every cluster, not by
  // execvp in each new process, which tries every PATH entry in turn (0.6 ms a launch with nine
  // entries before /usr/bin). One not found is looked up again at the next launch, which fails
  // as it would have; argv[0] stays as written.
  const programs = new Map<string, string>();
  const program = (file: string) => {
    let found = programs.get(file);
    if (found === undefined) {
      found = findInPath(file, settings.env.PATH, settings.workDir);
      if (found !== undefined) programs.set(file, found);
    }
    return found ?? file;
  };

  return fromCallback<ProcessCommand, ProcessInput, ProcessEvent>(({ input, sendBack, receive }) => {
    const log = logger.child({ cluster: input.cluster.id, name: input.cluster.name });
    let child: ChildProcess | null = null;
    let reapPending = false;
    let stopped = false;
    const tail: string[] = [];
    const report = (event: ProcessEvent) => {
      if (!stopped) sendBack(event);
    };

    const signalGroup = (pid: number, signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') log.warn({ err }, `could not send ${signal} to process group ${pid}`);
      }
    };

    const capture = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr', pid: number) => {
      if (!stream) return;
      boundedLines(stream, (line) => {
        tail.push(line.length > TAIL_LINE_MAX ? `${line.slice(0, TAIL_LINE_MAX)}…` : line);
        if (tail.length > TAIL_LINES) tail.shift();
        settings.logs?.push(input.cluster.id, { at: Date.now(), stream: name, pid, text: line });
        log[name === 'stderr' ? stderrLevel(line, settings.stderrLevel) : 'info']({ stream: name }, line);
      });
    };

    const start = () => {
      if (child) {
        report({ type: 'process.spawnFailed', error: `the previous process (pid ${child.pid}) is still alive`, at: Date.now() });
        return;
      }
      const standard = launchCommand(settings, input);
      let command = standard;
      if (settings.launch) {
        try {
          command = settings.launch({ ...input.cluster, shardCount: input.shardCount, clusterCount: input.clusterCount }, standard);
        } catch (err) {
          report({ type: 'process.spawnFailed', error: `the embedder's launch failed: ${(err as Error).message}`, at: Date.now() });
          return;
        }
      }
      const forkedAt = performance.timeOrigin + performance.now();
      const file = program(command.file);
      let proc: ChildProcess;
      try {
        proc = spawn(file, command.args, {
          argv0: command.file,
          cwd: command.cwd,
          env: command.env,
          detached: true, // its own process group (setsid)
          stdio: settings.bus.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
        });
      } catch (err) {
        report({ type: 'process.spawnFailed', error: (err as Error).message, at: Date.now() });
        return;
      }
      proc.once('error', (err) => {
        if (proc.pid !== undefined) {
          log.warn({ err }, 'cluster process error');
          return;
        }
        log.error({ err }, `could not start ${command.file}`);
        report({ type: 'process.spawnFailed', error: err.message, at: Date.now() });
      });
      if (proc.pid === undefined) return; // 'error' follows
      const pid = proc.pid;
      child = proc;
      settings.registry?.started(input.cluster.id, pid);
      settings.bus.attach(input.cluster.id, proc);
      capture(proc.stdout, 'stdout', pid);
      capture(proc.stderr, 'stderr', pid);
      proc.once('exit', (code, signal) => {
        const exitedAt = performance.timeOrigin + performance.now();
        // Leave nothing of the group behind: a replacement will run the same shards.
        signalGroup(pid, 'SIGKILL');
        child = null;
        settings.registry?.exited(input.cluster.id, pid);
        log.info({ code, signal, exited_at: exitedAt }, `cluster process ${pid} exited (${signal ? `signal ${signal}` : `code ${code}`})`);
        report({ type: 'process.exited', code, signal, at: Date.now(), lastLines: [...tail] });
        if (reapPending) {
          reapPending = false;
          report({ type: 'process.reaped', at: Date.now() });
        }
      });
      log.info({ pid, program: file, argv: [command.file, ...command.args], forked_at: forkedAt }, `cluster process ${pid} started`);
      report({ type: 'process.spawned', pid, at: forkedAt });
    };

    receive((command) => {
      switch (command.type) {
        case 'process.spawn':
          start();
          return;
        case 'process.signal':
          if (child?.pid !== undefined && child) signalGroup(child.pid, command.signal);
          return;
        case 'process.reap':
          if (child?.pid !== undefined && child) {
            reapPending = true;
            signalGroup(child.pid, 'SIGKILL');
          } else {
            // Answer after the current event, as a real exit would be.
            queueMicrotask(() => report({ type: 'process.reaped', at: Date.now() }));
          }
      }
    });

    return () => {
      stopped = true;
      if (child?.pid !== undefined && child) signalGroup(child.pid, 'SIGKILL');
    };
  });
}
