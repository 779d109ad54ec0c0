import { beforeAll, describe, expect, it } from 'vitest';
import { redisHarness } from '../helpers/harness.js';
import { eventually, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * `statuses` as a Go-era cluster reads it off Redis (docs/protocol.md, the
 * statuses payload): every field, in the order the Go version's encoding
 * writes them, with times in unix seconds. Three clusters in three
 * situations: one up since its launch, one up again after a kill -9, one
 * that crash-looped until it was given up on.
 */

const harness = redisHarness('statuses');

/** The fields of a cluster in `statuses`: the Go version's struct, in its field order, then this supervisor's. */
const FIELDS = [
  'active',
  'status',
  'name',
  'started_at',
  'shard_list',
  'pid',
  'restarts',
  'up_at',
  'last_exit',
  'last_diag',
  'down_reason',
  'backoff_ms',
  'failed_reason',
];

/**
 * JSON with each object's keys in the order they are written: objects become
 * Maps (JSON.parse would put keys such as "10" before "2", whatever the bytes say).
 */
function parseOrdered(text: string): unknown {
  let at = 0;
  const token = (re: RegExp) => {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`unexpected ${JSON.stringify(text.slice(at, at + 20))} at ${at}`);
    at = re.lastIndex;
    return m[0];
  };
  const space = () => token(/\s*/y);
  const string = () => JSON.parse(token(/"(?:[^"\\]|\\.)*"/y)) as string;
  const value = (): unknown => {
    space();
    if (text[at] === '{' || text[at] === '[') {
      const object = text[at] === '{';
      const close = object ? '}' : ']';
      at++;
      const map = new Map<string, unknown>();
      const list: unknown[] = [];
      space();
      if (text[at] === close) {
        at++;
        return object ? map : list;
      }
      for (;;) {
        space();
        if (object) {
          const key = string();
          space();
          token(/:/y);
          map.set(key, value());
        } else list.push(value());
        space();
        if (token(/[,}\]]/y) === close) return object ? map : list;
      }
    }
    if (text[at] === '"') return string();
    return JSON.parse(token(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y));
  };
  const result = value();
  space();
  if (at !== text.length) throw new Error(`trailing text at ${at}`);
  return result;
}

const keysOf = (value: unknown) => [...(value as Map<string, unknown>).keys()];

let s: RunningSupervisor;
let bus: Awaited<ReturnType<typeof harness.supervise>>['bus'];
let statuses: Awaited<ReturnType<typeof harness.supervise>>['statuses'];
/** The pid cluster 1 had before it was killed. */
let killed: number;

beforeAll(async () => {
  ({ s, bus, statuses } = await harness.supervise(
    {
      fixed_shard_count: 6,
      per_cluster: 2,
      names: ['Alpha', 'Beta <&>', 'Gamma'],
      // Cluster 2 crashes at every start: one restart, then it is given up on.
      restart: { backoff_initial: 0.1, jitter: 0, max_restarts: 1, within: 60, fleet_crash_ratio: 1 },
    },
    { FIXTURE_MODE_2: 'crash' },
    { waitForLaunch: false },
  ));
  await eventually(
    async () => {
      const c = await statuses();
      return c['0']?.status === 'running' && c['1']?.status === 'running' && c['2']?.status === 'failed';
    },
    20_000,
    'clusters 0 and 1 running, cluster 2 failed',
  );
  killed = (await statuses())['1']!.pid!;
  process.kill(killed, 'SIGKILL');
  // Up again, and both running clusters diagnosed since.
  await eventually(
    async () => {
      const c = await statuses();
      // Diagnosed since: an answer of cluster 1's new process, not the one its killed process gave.
      const fresh = (id: string) => (c[id]!.last_diag as { fresh?: boolean } | null)?.fresh === true;
      return c['1']!.restarts === 1 && c['1']!.status === 'running' && fresh('0') && fresh('1');
    },
    20_000,
    'cluster 1 up again, and a diagnostic of both running clusters',
  );
}, 60_000);

describe('statuses on Redis', () => {
  it('up_at is in unix seconds, as started_at is: after its process started, and not in the future', async () => {
    const now = Date.now() / 1000;
    const c = await statuses();
    for (const id of ['0', '1']) {
      const { started_at, up_at } = c[id] as unknown as { started_at: number; up_at: number };
      expect(Number.isInteger(up_at), `cluster ${id}: up_at ${up_at}`).toBe(true);
      expect(up_at, `cluster ${id}: up_at`).toBeGreaterThanOrEqual(started_at);
      expect(up_at, `cluster ${id}: up_at`).toBeLessThanOrEqual(now);
      // The launch_next that brought it up (its process's last one; recorded by the cluster just before it sent it).
      const pid = c[id]!.pid;
      const sent = s.events().findLast((e) => e.event === 'launch_next' && e.pid === pid)!.at / 1000;
      expect(Math.abs(up_at - sent), `cluster ${id}: up_at ${up_at}, launch_next sent at ${sent}`).toBeLessThan(5);
    }
    // Never up: no up_at.
    expect((c['2'] as unknown as { up_at: unknown }).up_at).toBeNull();
  });

  it('every field of every cluster, in the order the Go version writes them, with Go escapes', async () => {
    const { raw } = await bus.request('statuses');
    const reply = parseOrdered(raw) as Map<string, unknown>;
    // The reply envelope, a Go map: keys sorted.
    expect(keysOf(reply)).toEqual(['action', 'command_id', 'output', 'scope']);
    expect(reply.get('action')).toBe('');
    expect(reply.get('scope')).toBe('bot');
    const output = reply.get('output') as Map<string, Map<string, unknown>>;
    expect(keysOf(output)).toEqual(['0', '1', '2']);
    for (const [id, cluster] of output) expect(keysOf(cluster), `the fields of cluster ${id}`).toEqual(FIELDS);

    const c = (id: string) => Object.fromEntries(output.get(id)!) as Record<string, unknown>;
    const now = Date.now() / 1000;
    const seconds = expect.any(Number);
    const pidOf = (id: number) => s.events().findLast((e) => e.event === 'start' && e.id === id)!.pid;
    expect(c('0')).toEqual({
      active: true,
      status: expect.stringMatching(/^(running|diagPending|diagOverdue)$/),
      name: 'Alpha',
      started_at: seconds,
      shard_list: [0, 1],
      pid: pidOf(0),
      restarts: 0,
      up_at: seconds,
      last_exit: null,
      last_diag: expect.any(Map),
      down_reason: null,
      backoff_ms: null,
      failed_reason: null,
    });
    expect(c('1')).toEqual({
      active: true,
      status: expect.stringMatching(/^(running|diagPending|diagOverdue)$/),
      name: 'Beta <&>',
      started_at: seconds,
      shard_list: [2, 3],
      pid: pidOf(1),
      restarts: 1,
      up_at: seconds,
      last_exit: expect.any(Map),
      last_diag: expect.any(Map),
      down_reason: null,
      backoff_ms: null,
      failed_reason: null,
    });
    expect(pidOf(1)).not.toBe(killed);
    expect(c('2')).toEqual({
      active: false,
      status: 'failed',
      name: 'Gamma',
      started_at: seconds,
      shard_list: [4, 5],
      pid: null,
      restarts: 1,
      up_at: null,
      last_exit: expect.any(Map),
      last_diag: null,
      down_reason: 'exited',
      backoff_ms: null,
      failed_reason: expect.stringContaining('max_restarts'),
    });
    for (const id of ['0', '1', '2']) {
      const started = c(id).started_at as number;
      expect(Number.isInteger(started) && started <= now && started > now - 600, `cluster ${id}: started_at ${started}`).toBe(true);
    }

    // last_exit: {code, signal, at}.
    const exitOf = (id: string) => c(id).last_exit as Map<string, unknown>;
    expect(keysOf(exitOf('1'))).toEqual(['code', 'signal', 'at']);
    expect(Object.fromEntries(exitOf('1'))).toEqual({ code: null, signal: 'SIGKILL', at: expect.any(Number) });
    expect(keysOf(exitOf('2'))).toEqual(['code', 'signal', 'at']);
    expect(Object.fromEntries(exitOf('2'))).toMatchObject({ code: 1, signal: null });
    // last_diag, a summary: {at, shards_up, shards, latency, fresh}, `at` in seconds, the latency to a tenth of a millisecond.
    for (const [id, latency] of [
      ['0', 40.5],
      ['1', 42.5],
    ] as const) {
      const diag = c(id).last_diag as Map<string, unknown>;
      expect(keysOf(diag), `the last_diag of cluster ${id}`).toEqual(['at', 'shards_up', 'shards', 'latency', 'fresh']);
      const at = diag.get('at') as number;
      expect(Number.isInteger(at) && at <= now && at > now - 600, `cluster ${id}: last_diag.at ${at}`).toBe(true);
      expect(Object.fromEntries(diag)).toEqual({ at, shards_up: 2, shards: 2, latency, fresh: true });
    }

    // As Go's encoding/json writes strings: <, > and & escaped.
    expect(raw).toContain('"name":"Beta \\u003c\\u0026\\u003e"');
  });
});
