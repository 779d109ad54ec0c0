import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../helpers/busClient.js';
import { startFakeDiscord } from '../helpers/discord.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually, FIXTURES, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * A bot migrating from the Go mewld (github.com/cheesycod/mewld): its config
 * in the shape of the Go repository's config_sample.yaml, and clusters
 * written the way Go-era clusters were (tests/fixtures/go_cluster.mjs: raw
 * Redis, positional argv, the Go version's message shapes and the variants
 * real clusters send). Everything must run as it is.
 */

const harness = redisHarness('compat');
const running: RunningSupervisor[] = [];
afterAll(() => stopAll(running));

const NAMES = ['Pika', 'Eevee', 'Bulbasaur', 'Squirtle', 'Blastoise', 'Lugia', 'Psyduck', 'Meowth'];

/**
 * The Go repository's config_sample.yaml (verbatim but for what a test must
 * change: the Redis address, the interpreter, Discord's address, a quicker
 * ping_interval), in a home of its own with the module under `dir`.
 */
function goSample(options: { discord: string; channel: string; extra?: string }) {
  const home = mkdtempSync(join(tmpdir(), 'mewld-go-home-'));
  mkdirSync(join(home, 'mewbot'));
  symlinkSync(join(FIXTURES, 'go_cluster.mjs'), join(home, 'mewbot', 'mew'));
  mkdirSync(join(home, 'env'));
  writeFileSync(join(home, 'env', 'bot.env'), 'FROM_ENV_FILE_A=bot\nexport FROM_ENV_FILE_B="bot"\n# a comment\nMTOKEN=from-the-env-file\n');
  writeFileSync(join(home, 'env', 'mongo.env'), 'FROM_ENV_FILE_A=mongo\nFROM_ENV_FILE_C="mongo ${FROM_ENV_FILE_A}"\n');
  writeFileSync(join(home, 'env', 'postgres.env'), 'FROM_ENV_FILE_D="multi\nline"\n');
  writeFileSync(join(home, 'env', 'voting.env'), '');
  const text = `dir: mewbot
override_dir:
env:
  - "env/bot.env"
  - "env/mongo.env"
  - "env/postgres.env"
  - "env/voting.env"
names: 
${NAMES.map((n) => `  - ${n}`).join('\n')}
module: mew
redis: ${harness.redis.address}
redis_channel: ${options.channel}
interp: ${process.execPath}
token: the-config-token

# WEBUI
allowed_ids:
  - "563808552288780322"
  - "455277032625012737"

oauth:
  client_id: 999908791061594194
  client_secret: "SECRET HERE"
  redirect_url: REDIRECT URL HERE

ping_interval: 1 # 120 seconds (for testing, change this)

per_cluster: 2 # Number of shards per cluster, can be overrided using \`\`PER_CLUSTER\`\` env var
proxy: ${options.discord}
pign_timeout: 3
${options.extra ?? ''}`;
  return { home, text };
}

const discordAnswer = (shards: number) => [
  {
    status: 200,
    body: {
      url: 'wss://gateway.discord.gg',
      shards,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
    },
  },
];

describe('a bot migrating from the Go mewld', () => {
  it("starts on the Go repository's config_sample.yaml as it is: nulls, oauth with a bare client_id, env files, a leftover key", async () => {
    const discord = await startFakeDiscord(discordAnswer(4));
    const channel = `compat-sample-${process.pid}`;
    // Ours, not the Go version's: a free port for the web server, so that tests do not share 1293.
    const { home, text } = goSample({ discord: discord.url, channel, extra: 'web:\n  port: 0\n' });
    const s = runSupervisor({}, { HOME: home, GO_REDIS: harness.redis.url, GO_CHANNEL: channel, FROM_ENV_FILE_B: 'the-process' }, [], {
      dir: home,
      configText: text,
    });
    running.push(s);
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 2, 20_000);
    // Asked where the Go version asked, through the proxy.
    expect(discord.requests.map((r) => r.path)).toEqual(['/api/gateway/bot']);
    expect(discord.requests[0]!.authorization).toBe('Bot the-config-token');
    // A leftover key is a warning that says what was meant; the config is not refused.
    expect(s.logs.some((l) => /pign_timeout: not a key mewld knows, ignored; did you mean ping_timeout\?/.test(String(l.msg)))).toBe(true);
    const starts = events.filter((e) => e.event === 'start');
    expect(starts.map((e) => e.name)).toEqual(['Pika', 'Eevee']);
    expect(starts[0]!.argv).toEqual(['[0, 1]', '4', '0', 'Pika', '0', join(home, 'mewbot')]);
    // godotenv's order: the environment beats the files, the first file beats the later ones;
    // MTOKEN is the config's, set before the files are read.
    expect(starts[0]!.env).toEqual({
      FROM_ENV_FILE_A: 'bot',
      FROM_ENV_FILE_B: 'the-process',
      FROM_ENV_FILE_C: 'mongo mongo',
      FROM_ENV_FILE_D: 'multi\nline',
      MTOKEN: 'the-config-token',
    });
    // Through several diagnostic rounds, nothing is restarted.
    await s.waitForEvents((e) => e.filter((x) => x.event === 'diag').length >= 6, 15_000);
    expect(s.events().filter((e) => e.event === 'start')).toHaveLength(2);
    const bus = await connectBus(harness.redis.url, channel);
    const statuses = (await bus.request('statuses')).output as Record<string, { active: boolean; name: string; restarts: number }>;
    bus.close();
    expect(Object.values(statuses).map((c) => [c.name, c.active, c.restarts])).toEqual([
      ['Pika', true, 0],
      ['Eevee', true, 0],
    ]);
    await discord.close();
  });

  it('takes every diagnostic answer and launch_next the Go version took, in the shapes real clusters send', async () => {
    const variants = ['go', 'lowercase', 'upper', 'no-latency', 'nulls', 'rust', 'anti-raid', 'envelope-case'];
    const launches = ['number', 'string', 'fraction', 'absent', 'number', 'string', 'fraction', 'absent'];
    const channel = `compat-variants-${process.pid}`;
    const { s } = await harness.supervise(
      {
        module: 'go_cluster.mjs',
        redis_channel: channel,
        fixed_shard_count: 8,
        per_cluster: 1,
        ping_interval: 0.5,
        ping_timeout: 1,
        web: { port: 0 },
      },
      {
        ...Object.fromEntries(variants.map((v, id) => [`GO_DIAG_${id}`, v])),
        ...Object.fromEntries(launches.map((v, id) => [`GO_LAUNCH_NEXT_${id}`, v])),
        GO_REDIS: harness.redis.url,
        GO_CHANNEL: channel,
      },
      { waitForLaunch: false },
    );
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 8, 30_000);
    // One after another, each after the previous one's launch_next, whatever its id looked like.
    expect(events.filter((e) => e.event === 'start').map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Several diagnostic rounds for every cluster: none is judged hung.
    await s.waitForEvents(
      (e) => [0, 1, 2, 3, 4, 5, 6, 7].every((id) => e.filter((x) => x.event === 'diag' && x.id === id).length >= 4),
      20_000,
    );
    expect(s.events().filter((e) => e.event === 'start')).toHaveLength(8);
    const { base, auth } = await s.web();
    const clusters = (await (await fetch(new URL('/api/clusters', base), { headers: auth })).json()).clusters as {
      id: number;
      state: string;
      last_diag: { health: { shard_id: number; up: boolean; latency: number | null; guilds: number | null }[] } | null;
    }[];
    expect(clusters.every((c) => c.last_diag !== null)).toBe(true);
    const health = (id: number) => clusters[id]!.last_diag!.health[0]!;
    expect(health(2)).toMatchObject({ shard_id: 2, up: true, latency: 42, guilds: 102 });
    // A figure the cluster did not give is unknown, never 0.
    expect(health(3)).toMatchObject({ shard_id: 3, up: true, latency: null, guilds: 103 });
    expect(health(4)).toMatchObject({ shard_id: 4, up: true, latency: null, guilds: null });
    expect(health(5)).toMatchObject({ shard_id: 5, up: true, latency: 41, guilds: 125 });
  });

  it('keeps the action log of a Redis the Go version wrote to (its last entry, a string), and loses no new entry', async () => {
    const channel = `compat-actlogs-${process.pid}`;
    const redis = harness.redis.client();
    await redis.set(`${channel}/actlogs`, '{"event":"ping_failure","id":2,"ts":1728794582123456}');
    const { s } = await harness.supervise({ redis_channel: channel, fixed_shard_count: 4, per_cluster: 2, web: { port: 0 } });
    await s.waitForLog((l) => /held the Go mewld's action log/.test(String(l.msg)));
    const { base, auth } = await s.web();
    const logs = await eventually(async () => {
      const res = await fetch(new URL('/api/action-logs', base), { headers: auth });
      expect(res.status).toBe(200);
      const entries = ((await res.json()) as { entries: { event: string }[] }).entries;
      return entries.some((e) => e.event === 'all_clusters_launched') ? entries : undefined;
    }, 10_000);
    expect(logs[0]).toMatchObject({ event: 'ping_failure', id: 2, ts: 1728794582123456 });
    expect(await redis.type(`${channel}/actlogs`)).toBe('list');
  });

  it('says once what is wrong when clusters written for Redis are run on the embedded bus', async () => {
    const s = runSupervisor(
      { module: 'go_cluster.mjs', fixed_shard_count: 2, per_cluster: 2, launch_timeout: 1.5, web: { port: 0 } },
      { GO_REDIS: harness.redis.url, GO_CHANNEL: 'nobody-listens' },
    );
    running.push(s);
    const line = await s.waitForLog(
      (l) => /no cluster has said anything on the embedded bus within launch_timeout/.test(String(l.msg)),
      15_000,
    );
    expect(line.msg).toMatch(/clusters written for the Go mewld talk over Redis: set redis: host:port/);
    // The same words in the action log, which the dashboard and the alert webhook show.
    const { base, auth } = await s.web();
    const entries = (
      (await (await fetch(new URL('/api/action-logs', base), { headers: auth })).json()) as { entries: Record<string, unknown>[] }
    ).entries;
    expect(entries.filter((e) => e.event === 'bus_silent')).toEqual([
      expect.objectContaining({ likely: expect.stringMatching(/talk over Redis: set redis: host:port/) }),
    ]);
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.logs.filter((l) => /no cluster has said anything/.test(String(l.msg)))).toHaveLength(1);
  });

  it("answers the Go version's web routes as it did, behind the same authentication", async () => {
    const { s, channel } = await harness.supervise({ fixed_shard_count: 4, per_cluster: 2, web: { port: 0 } }, {});
    const { base, token, auth } = await s.web();
    const get = (path: string, headers: Record<string, string> = auth) => fetch(new URL(path, base), { headers, redirect: 'manual' });
    expect((await get('/ping', {})).status).toBe(401);
    expect(await (await get('/ping')).text()).toBe('pong');
    // The Go UI's header.
    expect(await (await get('/ping', { 'x-session': token })).text()).toBe('pong');
    await eventually(async () => ((await (await get('/cluster-health?cid=1')).json()) as { health?: unknown[] }).health, 10_000);
    const list = await (await get('/instance-list')).text();
    expect(list.endsWith('\n')).toBe(true);
    const il = JSON.parse(list) as Record<string, unknown>;
    expect(Object.keys(il)).toEqual([
      'LastClusterStartedAt',
      'Map',
      'Instances',
      'ShardCount',
      'GetGatewayBot',
      'Dir',
      'RollRestarting',
      'FullyUp',
    ]);
    expect(il.Map).toEqual([
      { ID: 0, Name: 'Cluster 0', Shards: [0, 1] },
      { ID: 1, Name: 'Cluster 1', Shards: [2, 3] },
    ]);
    expect(Object.keys((il.Instances as object[])[0]!)).toEqual([
      'StartedAt',
      'SessionID',
      'ClusterID',
      'Shards',
      'Active',
      'ClusterHealth',
      'CurrentlyKilling',
      'LockClusterTime',
      'LaunchedFully',
      'LastChecked',
    ]);
    expect(il).toMatchObject({ ShardCount: 4, FullyUp: true, RollRestarting: false });
    // cluster-health: the Go version's shapes, its 400 on success included.
    const health = await get('/cluster-health?cid=1');
    expect(health.status).toBe(400);
    expect(await health.json()).toMatchObject({ health: [{ shard_id: 2, up: true }, { shard_id: 3 }], locked: false });
    expect(await (await get('/cluster-health?cid=x')).text()).toBe('{"error": "Invalid cid, could not parse as int"}');
    expect(await (await get('/cluster-health?cid=9')).text()).toBe('{"error": "Invalid cid, no such instance"}');
    // action-logs: a JSON array, keys sorted as Go encodes a map.
    const logs = await (await get('/action-logs')).text();
    expect(logs.startsWith('[{"event":"all_clusters_launched","not_up":[],"ts":')).toBe(true);
    // redis/pub: publishes on the bus, as if from a cluster: here a stop.
    const bus = await connectBus(harness.redis.url, channel);
    const pub = await fetch(new URL('/redis/pub', base), {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ scope: 'launcher', action: 'stop', args: { id: 1 }, command_id: 'from-the-web' }),
    });
    expect(pub.status).toBe(200);
    expect(await pub.text()).toBe('');
    await eventually(() => bus.messages.find((m) => m.json?.command_id === 'from-the-web'), 10_000, 'the reply');
    await eventually(async () => ((await (await get('/api/clusters/1')).json()) as { state: string }).state === 'stopped', 10_000);
    bus.close();
  });

  it('use_custom_webui: the API without the bundled dashboard', async () => {
    const { s } = await harness.supervise({ fixed_shard_count: 2, per_cluster: 2, use_custom_webui: true, web: { port: 0 } });
    const { base, auth } = await s.web();
    const page = await fetch(new URL('/', base));
    expect(await page.text()).toBe('Mewld instance up, use mewld-ui to access it using your browser');
    expect((await fetch(new URL('/app.js', base))).status).toBe(404);
    expect((await fetch(new URL('/api/clusters', base), { headers: auth })).status).toBe(200);
  });
});
