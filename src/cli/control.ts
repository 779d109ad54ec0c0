import type { LoadedConfig } from '../config/index.js';
import type { ApiCluster, GatewayView, PhaseInfo } from '../server/liveState.js';
import { readWebAccess } from '../adapters/webAccess.js';

/**
 * `mewld status`, `mewld start|stop|restart ID`, `mewld rolling-restart`: an
 * operator's commands from a shell, sent to the running supervisor through
 * its HTTP API, with the same token and the same refusals as the dashboard.
 * The supervisor leaves where its API listens and its token for them
 * (webAccess.ts); web.token or MEWLD_WEB_TOKEN, when set, is the token.
 */

export type ControlCommand = 'status' | 'start' | 'stop' | 'restart' | 'rolling-restart';

/** What the command line gave beside the command (checked there: an id is digits). */
export interface ControlArgs {
  /** The cluster of start, stop and restart. */
  id?: string;
  /** status: the API's answers as JSON rather than a table. */
  json?: boolean;
}

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
    if (command === 'rolling-restart') {
      const res = await call('POST', '/api/rolling-restart');
      return res.status === 200 ? done(io, 'rolling restart started') : fail(io, command, res);
    }
    const { id } = args;
    if (id === undefined || !/^\d+$/.test(id)) {
      io.err(`mewld ${command}: which cluster? mewld ${command} ID (a cluster id: 0, 1, ...)\n`);
      return 2;
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
