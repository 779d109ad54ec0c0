import type { Hono, MiddlewareHandler } from 'hono';
import { goJson, goMap, withinDepth, type ShardHealth } from '../protocol/index.js';
import { currentHealth } from '../interfaces/clusterView.js';
import type { LiveState } from './liveState.js';

/**
 * The Go mewld's own web routes (web/web.go), answered as it answered them,
 * so that the tools and pages built on them keep working
 * (docs/migrating-from-go.md): same paths, same JSON shapes and bytes (Go's
 * field order, sorted map keys, escapes, a final newline), same statuses
 * (cluster-health's success is a 400, as there). Behind the same
 * authentication as the rest of the API.
 */

export interface GoRoutesOptions {
  live: LiveState;
  actionLogs(limit: number): Promise<Record<string, unknown>[]>;
  /** Publishes a message on the bus as if from outside (POST /redis/pub). */
  publish(raw: string): Promise<void>;
  /** The clusters' working directory (the Go version's Dir). */
  dir: string;
}

/** Go's json.Encoder: compact, its escapes, and a newline. Go sniffs the type of these bodies as text. */
const GO_TEXT = { 'content-type': 'text/plain; charset=utf-8' };
const encode = (value: unknown) => `${goJson(value)}\n`;

/** A time as Go's time.Time marshals: RFC 3339, the fraction's trailing zeros trimmed, UTC; Go's zero time for none. */
export function goTime(ms: number | null): string {
  if (ms === null) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** What Go's map[string]any becomes on output: every object's keys sorted, at every depth. */
function asGoMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asGoMaps);
  if (value === null || typeof value !== 'object') return value;
  return goMap(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asGoMaps(v)])));
}

export function goRoutes(app: Hono, auth: MiddlewareHandler, options: GoRoutesOptions) {
  const { live } = options;

  app.get('/ping', auth, (c) => c.text('pong'));

  app.get('/instance-list', auth, (c) => {
    const clusters = live.clusters();
    const gateway = live.gateway();
    const phase = live.phase().phase;
    const started = clusters.flatMap((v) => (v.started_at === null ? [] : [v.started_at]));
    const limit = gateway.session_start_limit;
    const instanceList = {
      LastClusterStartedAt: goTime(started.length === 0 ? null : Math.max(...started)),
      Map: clusters.map((v) => ({ ID: v.id, Name: v.name, Shards: v.shards })),
      Instances: clusters.map((v) => ({
        StartedAt: goTime(v.started_at),
        // The Go version named each process's session with 16 random letters; this one has its pid.
        SessionID: v.pid === null ? '' : String(v.pid),
        ClusterID: v.id,
        Shards: v.shards,
        Active: v.active,
        // Current figures only: a stopped or dead cluster's last ones are not its health.
        ClusterHealth: goHealth(currentHealth(v)),
        CurrentlyKilling: v.group === 'stopping' || v.group === 'dead',
        LockClusterTime: null,
        LaunchedFully: v.up_at !== null,
        LastChecked: goTime(v.last_diag?.at ?? null),
      })),
      ShardCount: gateway.shards ?? 0,
      GetGatewayBot: {
        url: 'wss://gateway.discord.gg',
        shards: gateway.shards ?? 0,
        session_start_limit: {
          total: limit?.total ?? 0,
          remaining: limit?.remaining ?? 0,
          reset_after: limit?.reset_after ?? 0,
          max_concurrency: limit?.max_concurrency ?? gateway.identify_buckets ?? 0,
        },
      },
      Dir: options.dir,
      RollRestarting: phase === 'rolling restart',
      FullyUp: phase === 'up',
    };
    return c.body(encode(instanceList), 200, GO_TEXT);
  });

  app.get('/action-logs', auth, async (c) => {
    let entries: Record<string, unknown>[];
    try {
      entries = await options.actionLogs(10_000);
    } catch (err) {
      // As the Go version did: the error as the body (it sent it with status 200 too).
      return c.body((err as Error).message, 200, GO_TEXT);
    }
    const shown = entries.filter((e) => withinDepth(e)).map(asGoMaps);
    // Go's nil slice: null, not [], when there is none.
    return c.body(shown.length === 0 ? 'null\n' : encode(shown), 200, GO_TEXT);
  });

  app.get('/cluster-health', auth, (c) => {
    const error = (text: string) => c.body(`{"error": "${text}"}`, 400, { 'content-type': 'application/json' });
    const raw = c.req.query('cid') || '0';
    // strconv.Atoi: an optional sign and decimal digits only.
    if (!/^[+-]?\d+$/.test(raw)) return error('Invalid cid, could not parse as int');
    const cluster = live.cluster(Number(raw));
    if (!cluster) return error('Invalid cid, no such instance');
    const health = currentHealth(cluster);
    if (health === null) {
      return cluster.up_at === null
        ? error('Instance not fully launched')
        : c.body('{"error":"Error scanning shards: timeoutError"}', 400, { 'content-type': 'application/json' });
    }
    // 400 on success too, as the Go version answered (its handler wrote StatusBadRequest there).
    return c.body(goJson(goMap({ health: goHealth(health), locked: false })), 400, {
      'content-type': 'application/json',
    });
  });

  app.post('/redis/pub', auth, async (c) => {
    const body = await c.req.text();
    await options.publish(body);
    return c.body(null, 200);
  });
}

/** ShardHealth as the Go struct encodes it: a figure the cluster did not give is Go's zero value; no figures, a Go nil slice. */
function goHealth(health: readonly ShardHealth[] | null) {
  return (
    health && health.map((h) => ({ shard_id: h.shard_id, up: h.up, latency: h.latency ?? 0, guilds: h.guilds ?? 0, users: h.users ?? 0 }))
  );
}
