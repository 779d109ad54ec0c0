import { afterAll, describe, expect, it } from 'vitest';
import { processesByCluster, recordFigure } from '../helpers/faults.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually, isAlive, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * Input that once killed the supervisor, or fooled it, from clusters and from
 * anyone on the bus: each case checks that the supervisor keeps running with
 * every cluster process as it was, and does what it should about the input.
 */

const harness = redisHarness('fault-hostile', { fixed_shard_count: 4, per_cluster: 2 });

/** An array nested `levels` deep, as JSON, built without recursion: about 2 bytes a level. */
const deepJson = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/** Every cluster's pid now, for "nothing changed" checks. */
const pidsOf = (s: RunningSupervisor) => [...processesByCluster(s).entries()].sort(([a], [b]) => a - b).map(([, pids]) => pids);

const ipcRuns: RunningSupervisor[] = [];
afterAll(() => stopAll(ipcRuns));

describe('hostile and broken input', () => {
  it('a message nested 5,000 deep, three ways on Redis: the supervisor keeps running, every cluster as it was', async () => {
    const { s, bus, channel, statuses } = await harness.supervise({ web: { port: 0 } });
    const before = pidsOf(s);
    const pub = harness.redis.client();
    // An action log entry whose data nests 5,000 arrays deep (about 10 KB).
    await bus.publish(`{"scope":"launcher","action":"action_logs","data":{"event":"deep","x":${deepJson(5000)}}}`);
    // An unknown action with deep args, on the launcher channel where clusters on mewld/client speak.
    await pub.publish(`${channel}/launcher`, `{"scope":"launcher","action":"explode","from":1,"args":{"x":${deepJson(5000)}}}`);
    // An entry nested as deep written straight into the action log list, as anyone on the server could.
    await pub.rpush(`${channel}/actlogs`, `{"event":"planted","x":${deepJson(5000)}}`);

    await s.waitForLog((l) => /rejected a message on the bus: nested more than/.test(String(l.msg)));
    expect(Object.keys(await statuses())).toEqual(['0', '1']);
    const { base, auth } = await s.web();
    const logs = await fetch(new URL('/api/action-logs', base), { headers: auth });
    expect(logs.status).toBe(200);
    expect(s.proc.exitCode).toBeNull();
    expect(pidsOf(s)).toEqual(before);
  });

  it('a cluster that prints 600 MB without a newline: the supervisor keeps running, the line is logged cut short', async () => {
    const { s, statuses } = await harness.supervise({}, { FIXTURE_MODE_1: 'endless-line', FIXTURE_LINE_MB: '600' });
    const before = pidsOf(s);
    await s.waitForEvents((e) => e.some((x) => x.event === 'endless_line_written'), 60_000);
    const cut = await s
      .waitForLog((l) => l.cluster === 1 && /^x+… \(\d+ more characters not shown\)$/.test(String(l.msg)), 30_000)
      .catch(() => undefined);
    // The line has no end yet, so it may still be held back; what matters is that the supervisor lives.
    expect(s.proc.exitCode).toBeNull();
    expect(Object.values(await statuses()).map((c) => c.status)).not.toContain('dead');
    expect(pidsOf(s)).toEqual(before);
    const rss = Number(
      /VmRSS:\s+(\d+)/.exec(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${s.proc.pid}/status`, 'utf8')))?.[1],
    );
    recordFigure('a cluster prints 600 MB without a newline', {
      supervisor_alive: 'yes',
      supervisor_rss_mib: Math.round(rss / 1024),
      line_logged_cut: cut ? 'yes' : 'held until its newline',
    });
  });

  it('a diagnostic answer for 11,500 shards from a 2-shard cluster: only its own shards are kept', async () => {
    const { s, status } = await harness.supervise({ web: { port: 0 } }, { FIXTURE_DIAG_ENTRIES: '11500' });
    const { base, auth } = await s.web();
    const cluster = await eventually(async () => {
      const c = (await (await fetch(new URL('/api/clusters/1', base), { headers: auth })).json()) as {
        last_diag: { health: { shard_id: number }[] } | null;
      };
      return c.last_diag ? c : undefined;
    }, 10_000);
    expect(cluster.last_diag!.health.map((h) => h.shard_id)).toEqual([2, 3]);
    expect((await status(1)).status).toMatch(/^(running|diagPending)$/);
    const metrics = await (await fetch(new URL('/metrics', base), { headers: auth })).text();
    const clusterSeries = metrics.split('\n').filter((line) => line.startsWith('mewld_cluster_'));
    expect(clusterSeries.length).toBeGreaterThan(0);
    expect(clusterSeries.join('\n')).not.toMatch(/Inf|e\+\d{2}/);
    await s.waitForLog((l) => /left out 11498 entries of a diagnostic answer/.test(String(l.msg)));
  });

  it('the web token stays in the supervisor: clusters never see MEWLD_WEB_TOKEN', async () => {
    const { s } = await harness.supervise({}, { MEWLD_WEB_TOKEN: 'a-web-token-of-enough-length' });
    const env = s.events().find((e) => e.event === 'start')!.env as Record<string, string>;
    expect(env.MEWLD_CLUSTER_ID).toBeDefined();
    expect(env.MEWLD_WEB_TOKEN).toBeUndefined();
  });

  it("a message that claims to be cluster 1's cannot move its diagnostics off the channel it listens on", async () => {
    const { s, channel, statuses } = await harness.supervise({ ping_interval: 0.3, ping_timeout: 0.5 });
    const pub = harness.redis.client();
    // The message the Go-era cluster 1 (it listens only on the shared channel) never sent.
    await pub.publish(`${channel}/launcher`, JSON.stringify({ scope: 'launcher', action: 'num_processes', from: 1 }));
    const before = pidsOf(s);
    await new Promise((r) => setTimeout(r, 3000)); // ten diagnostic rounds
    const after = await statuses();
    expect(after['1']!.restarts).toBe(0);
    expect(pidsOf(s)).toEqual(before);
    expect(s.events().filter((e) => e.event === 'diag' && e.id === 1).length).toBeGreaterThanOrEqual(5);
  });

  it('a supervisor behind on its reading (200,000 messages in 3 s) judges no healthy cluster hung for it, and says it is overloaded', async () => {
    const { s, channel, statuses } = await harness.supervise({ ping_interval: 1, ping_timeout: 3, web: false });
    const before = pidsOf(s);
    const flooders = Array.from({ length: 4 }, () => harness.redis.client());
    const t0 = Date.now();
    // On the launcher channel, which only the supervisor reads: the clusters are not slowed, only the supervisor is.
    // Half are messages it reads and ignores, half are bad ones it rejects, each of which could cost a log line.
    await Promise.all(
      flooders.map(async (redis, i) => {
        for (let batch = 0; batch < 50; batch++) {
          const pipe = redis.pipeline();
          for (let n = 0; n < 1000; n++)
            pipe.publish(
              `${channel}/launcher`,
              i % 2 === 0 ? `{"scope":"bot","action":"noise","n":${n}}` : `{"scope":"launcher","action":"nope","n":${n}}`,
            );
          await pipe.exec();
        }
      }),
    );
    const flooded = Date.now() - t0;
    // Give the supervisor the backlog's time and two more diagnostic rounds.
    await eventually(async () => Object.keys(await statuses()).length === 2, 60_000, 'the supervisor to answer again');
    await new Promise((r) => setTimeout(r, 2500));
    const after = await statuses();
    expect(Object.values(after).map((c) => c.restarts)).toEqual([0, 0]);
    expect(pidsOf(s)).toEqual(before);
    const warnings = s.logs.filter((l) => l.level === 40).length;
    expect(warnings).toBeLessThan(100);
    recordFigure('200,000 messages on the channel in a few seconds (ping_timeout 3 s)', {
      sent_in_ms: flooded,
      clusters_restarted: 0,
      warning_lines: warnings,
      said_overloaded: s.logs.some((l) => /the supervisor is overloaded/.test(String(l.msg))) ? 'yes' : 'no (it kept up)',
    });
  });
});

describe('hostile input on the embedded IPC bus', () => {
  const supervise = (env: Record<string, string>, config: Record<string, unknown> = {}) => {
    const s = runSupervisor({ module: 'raw_ipc_cluster.mjs', fixed_shard_count: 4, per_cluster: 2, ...config }, env);
    ipcRuns.push(s);
    return s;
  };

  it('a cluster relays a message nested 5,000 deep: the supervisor keeps running, every cluster as it was', async () => {
    const s = supervise({ RAW_DEEP_1: '5000' });
    await s.waitForEvents((e) => e.some((x) => x.event === 'deep_sent'));
    await s.waitForLog((l) => /rejected a message on the bus: nested more than/.test(String(l.msg)));
    const before = pidsOf(s);
    await s.waitForEvents((e) => e.filter((x) => x.event === 'diag' && x.id === 1).length >= 2);
    expect(s.proc.exitCode).toBeNull();
    expect(pidsOf(s)).toEqual(before);
  });

  it('a message for one cluster (`to`) goes to it alone; one whose `to` is no cluster id is logged and dropped', async () => {
    // The last cluster to start sends: the others listen by then.
    const hello = (to: unknown, data: string) => ({ scope: 'bot', action: 'hello', from: 2, to, data });
    const sent = [hello(0, 'for 0'), hello('0', 'to a string'), hello(-1, 'to -1'), hello(0.5, 'to 0.5'), hello(null, 'for all')];
    const s = supervise({ RAW_SEND_2: JSON.stringify(sent) }, { fixed_shard_count: 6 });
    const received = (id: number) =>
      s
        .events()
        .filter((e) => e.event === 'bot' && e.id === id && (e.message as { action: string }).action === 'hello')
        .map((e) => (e.message as { data: string }).data);
    // The last one sent is through to both: whatever was to come before it has come.
    await eventually(() => [0, 1].every((id) => received(id).includes('for all')), 10_000, 'both clusters to hear the last message');
    expect(received(0)).toEqual(['for 0', 'for all']);
    expect(received(1)).toEqual(['for all']);
    expect(received(2)).toEqual([]);
    const rejected = s.logs.filter((l) => /^rejected a message on the bus: to must be a cluster id/.test(String(l.msg)));
    expect(rejected.map((l) => l.reason)).toEqual([
      'to must be a cluster id (a non-negative integer), got "0"',
      'to must be a cluster id (a non-negative integer), got -1',
      'to must be a cluster id (a non-negative integer), got 0.5',
    ]);
    expect(isAlive(s.proc.pid!)).toBe(true);
  });

  it("one cluster cannot answer another's diagnostic: a cluster that never answers is judged hung though another answers for it", async () => {
    const s = supervise({ RAW_MUTE_0: '1', RAW_FORGE_1: '0' }, { ping_interval: 0.3, ping_timeout: 0.5 });
    await s.waitForEvents((e) => e.some((x) => x.event === 'forged'));
    const judged = await s.waitForLog(
      (l) => l.cluster === 0 && /no answer to a diagnostic within ping_timeout/.test(String(l.msg)),
      10_000,
    );
    expect(judged).toBeDefined();
    // However late the forged answer reached the supervisor (before or after its judgement), it was refused.
    await s.waitForLog((l) => /ignored a diagnostic answer for cluster 0 sent by cluster 1/.test(String(l.msg)));
    expect(isAlive(s.proc.pid!)).toBe(true);
  });
});
