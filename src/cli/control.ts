import WebSocket from 'ws';
import type { LoadedConfig } from '../config/index.js';
import type { ClusterLogLine } from '../interfaces/clusterLogs.js';
import { describeRollout, type RolloutView } from '../machines/index.js';
import type { ApiCluster, GatewayView, PhaseInfo } from '../server/liveState.js';
import { readWebAccess } from '../adapters/webAccess.js';

/**
 * `mewld status`, `mewld start|stop|restart ID`, `mewld rolling-restart`: an
 * operator's commands from a shell, sent to the running supervisor through
 * its HTTP API, with the same token and the same refusals as the dashboard.
 * The supervisor leaves where its API listens and its token for them
 * (webAccess.ts); web.token or MEWLD_WEB_TOKEN, when set, is the token.
 */

export type ControlCommand = 'status' | 'start' | 'stop' | 'restart' | 'rolling-restart' | 'logs';

/** What the command line gave beside the command (checked there: an id is digits). */
export interface ControlArgs {
  /** The cluster of start, stop, restart and logs. */
  id?: string;
  /** status: the API's answers as JSON rather than a table. */
  json?: boolean;
  /** logs: how many of the recent lines. */
  lines?: number;
  /** logs: then the new lines as they come, until interrupted. */
  follow?: boolean;
  /** rolling-restart: begin one (the default), pause, resume or cancel the one in progress, or say where it is. */
  rollout?: RolloutOp;
}

export const ROLLOUT_OPS = ['start', 'pause', 'resume', 'cancel', 'status'] as const;
export type RolloutOp = (typeof ROLLOUT_OPS)[number];

interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** Runs one command; resolves with the exit code (0 done, 1 refused or unreachable, 2 used wrongly). */
export async function control(command: ControlCommand, args: ControlArgs, loaded: LoadedConfig, io: Io): Promise<number> {
  const web = loaded.config.web;
  if (web === false) {
    io.err(`mewld ${command}: the supervisor's web API is off in ${loaded.file} (web: false)\n`);
    return 2;
  }
  // The running supervisor's own word on where it listens (port 0) and its token (a random one), if it wrote it.
  const running = readWebAccess(loaded.file);
  const token = web.token ?? running?.token;
  if (token === undefined) {
    io.err(
      `mewld ${command}: no supervisor of ${loaded.file} has left its address here, and the config has no token: is it running? (or set web.token, or MEWLD_WEB_TOKEN)\n`,
    );
    return 1;
  }
  const base = running?.url.replace(/\/$/, '') ?? `http://${connectHost(web.host)}:${web.port}`;
  const call = async (method: 'GET' | 'POST', path: string) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  try {
    if (command === 'status') {
      const [phase, gateway, clusters] = await Promise.all([
        call('GET', '/api/phase'),
        call('GET', '/api/gateway'),
        call('GET', '/api/clusters'),
      ]);
      const refused = [phase, gateway, clusters].find((r) => r.status !== 200);
      if (refused) return fail(io, command, refused);
      if (args.json) {
        io.out(`${JSON.stringify({ phase: phase.body, gateway: gateway.body, clusters: clusters.body.clusters }, null, 2)}\n`);
        return 0;
      }
      io.out(
        statusTable(
          phase.body as unknown as PhaseInfo,
          gateway.body as unknown as GatewayView,
          (clusters.body.clusters as ApiCluster[]) ?? [],
          Date.now(),
        ),
      );
      return 0;
    }
    if (command === 'rolling-restart') return await rollingRestart(io, args.rollout ?? 'start', args.json === true, call);
    const { id } = args;
    if (id === undefined || !/^\d+$/.test(id)) {
      io.err(`mewld ${command}: which cluster? mewld ${command} ID (a cluster id: 0, 1, ...)\n`);
      return 2;
    }
    if (command === 'logs') {
      return await logs(io, { base, token, id: Number(id), lines: args.lines ?? 100, follow: args.follow === true, call });
    }
    const res = await call('POST', `/api/clusters/${id}/${command}`);
    return res.status === 200 ? done(io, `${command}: cluster ${id}`) : fail(io, command, res);
  } catch (err) {
    io.err(
      `mewld ${command}: no supervisor answers at ${base} (${(err as Error).cause ?? (err as Error).message}): is it running, with ${loaded.file}?\n`,
    );
    return 1;
  }
}

/**
 * `mewld rolling-restart [start|pause|resume|cancel|status]`: each but status
 * is the API's command of that name; each prints where the rolling restart is
 * then (a pause takes effect once the cluster restarting is back).
 */
async function rollingRestart(
  io: Io,
  op: RolloutOp,
  json: boolean,
  call: (method: 'GET' | 'POST', path: string) => Promise<{ status: number; body: Record<string, unknown> }>,
): Promise<number> {
  const command = `rolling-restart ${op}`;
  if (op !== 'status') {
    const res = await call('POST', op === 'start' ? '/api/rolling-restart' : `/api/rolling-restart/${op}`);
    if (res.status !== 200) return fail(io, command, res);
  }
  const progress = await call('GET', '/api/rolling-restart');
  if (progress.status !== 200) return fail(io, command, progress);
  const rollout = progress.body.rollout as RolloutView | null;
  if (json) io.out(`${JSON.stringify({ rollout }, null, 2)}\n`);
  else io.out(`${rollout ? describeRollout(rollout) : 'no rolling restart since the supervisor started'}\n`);
  return 0;
}

/** One line of a cluster's output as `mewld logs` prints it: when, which process, what (stderr lines to stderr). */
function printLine(io: Io, line: ClusterLogLine) {
  const text = `${new Date(line.at).toISOString()} [${line.pid}] ${line.text}\n`;
  if (line.stream === 'stderr') io.err(text);
  else io.out(text);
}

const lineKey = (line: ClusterLogLine) => `${line.at} ${line.pid} ${line.stream} ${line.text}`;

/**
 * `mewld logs ID`: the cluster's recent lines; with -f, then each new line as
 * the live stream brings it, until interrupted (exit 0) or the supervisor goes
 * away (exit 1). The stream is followed before the recent lines are asked for,
 * and what both gave is printed once: no line is lost or doubled in between.
 */
async function logs(
  io: Io,
  options: {
    base: string;
    token: string;
    id: number;
    lines: number;
    follow: boolean;
    call: (method: 'GET', path: string) => Promise<{ status: number; body: Record<string, unknown> }>;
  },
): Promise<number> {
  let socket: WebSocket | undefined;
  let early: ClusterLogLine[] | null = [];
  const closed = new Promise<number>((resolve) => {
    if (!options.follow) return;
    socket = new WebSocket(`${options.base.replace(/^http/, 'ws')}/api/ws`, { headers: { authorization: `Bearer ${options.token}` } });
    socket.on('open', () => socket!.send(JSON.stringify({ type: 'follow', id: options.id })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; id?: number; line?: ClusterLogLine };
      if (message.type !== 'log' || message.id !== options.id || !message.line) return;
      if (early) early.push(message.line);
      else printLine(io, message.line);
    });
    socket.on('error', (err) => {
      io.err(`mewld logs: the live stream failed: ${err.message}\n`);
      resolve(1);
    });
    socket.on('close', () => {
      io.err('mewld logs: the supervisor closed the live stream\n');
      resolve(1);
    });
    const stop = () => {
      socket!.removeAllListeners('close');
      socket!.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (socket) await new Promise((resolve, reject) => socket!.once('open', resolve).once('error', reject));
  const res = await options.call('GET', `/api/clusters/${options.id}/logs?lines=${options.lines}`);
  if (res.status !== 200) {
    socket?.close();
    return fail(io, 'logs', res);
  }
  const recent = res.body.lines as ClusterLogLine[];
  for (const line of recent) printLine(io, line);
  if (!socket) return 0;
  const printed = new Set(recent.map(lineKey));
  for (const line of early ?? []) if (!printed.has(lineKey(line))) printLine(io, line);
  early = null;
  return closed;
}

/** Where to reach a server that listens on `host`: a wildcard address is reached on loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function done(io: Io, text: string) {
  io.out(`ok: ${text}\n`);
  return 0;
}

function fail(io: Io, command: string, res: { status: number; body: Record<string, unknown> }) {
  io.err(`mewld ${command}: ${String(res.body.error ?? `HTTP ${res.status}`)}\n`);
  return 1;
}

/** The phase line, then one row per cluster: what `pm2 ls` is to PM2. */
export function statusTable(phase: PhaseInfo, gateway: GatewayView, clusters: ApiCluster[], now: number): string {
  const head = [
    phase.phase,
    `${phase.bus.kind} bus ${phase.bus.up ? 'up' : 'down'}`,
    `${clusters.length} clusters`,
    gateway.shards === null ? 'shard count unknown' : `${gateway.shards} shards`,
  ];
  if (gateway.session_starts_left !== null) head.push(`${gateway.session_starts_left} session starts left`);
  const rows = clusters.map((c) => {
    // Current figures only (c.health is null when they are not): a stopped cluster's last ones would read as live.
    return [
      String(c.id),
      c.name,
      c.state,
      c.pid === null ? '-' : String(c.pid),
      c.up_at === null || c.pid === null ? '-' : duration(now - c.up_at),
      String(c.restarts),
      c.health ? `${c.health.shards_up}/${c.shards.length}` : '-',
      c.health?.latency == null ? '-' : `${Math.round(c.health.latency)} ms`,
    ];
  });
  const table = [['ID', 'NAME', 'STATE', 'PID', 'UP FOR', 'RESTARTS', 'SHARDS UP', 'LATENCY'], ...rows];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return `${head.join(' · ')}\n${lines.join('\n')}\n`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}
