import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis.js';
import { CLI, eventually, ROOT, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

function mewld(args: string[], configText?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mewld-cli-'));
  if (configText !== undefined) writeFileSync(join(dir, 'config.yaml'), configText);
  return spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { ...process.env, MTOKEN: '' } });
}

describe('the mewld command', () => {
  it('--help and --version', () => {
    const help = mewld(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: mewld \[--config FILE\]/);
    const version = mewld(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('an unknown flag: exit 2 with the usage', () => {
    const result = mewld(['--frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^mewld: unknown option '--frobnicate'/);
  });

  it('each command has its own help; a mistyped option, an unknown command or an extra word is refused with exit 2, in one line', () => {
    const help = mewld(['stop', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mewld stop \[options\] <ID>\n\nstop a cluster; it stays stopped until started\n/);
    expect(help.stdout).toMatch(/-c, --config <FILE> +the config file/);
    expect(mewld(['help', 'status']).stdout).toMatch(/--json +print what the API answers, as JSON/);
    for (const [args, stderr] of [
      [['status', '--jsn'], /^mewld status: unknown option '--jsn'\n\(Did you mean --json\?\)\n$/],
      [['status', 'extra'], /^mewld status: too many arguments for 'status'\. Expected 0 arguments but got 1\.\n$/],
      [['stop', '1', '2'], /^mewld stop: too many arguments for 'stop'\. Expected 1 argument but got 2\.\n$/],
      [['stop'], /^mewld stop: missing required argument 'ID'\n$/],
      [['restart', 'x'], /^mewld restart: .*'x' is invalid for argument 'ID'\. a cluster id is a whole number: 0, 1, \.\.\.\n$/],
      [['stauts'], /^mewld: unknown command 'stauts' \(the commands are status, start, stop, restart, logs, rolling-restart, systemd; /],
    ] as const) {
      const result = mewld([...args]);
      expect({ args, status: result.status, stdout: result.stdout }).toEqual({ args, status: 2, stdout: '' });
      expect(result.stderr).toMatch(stderr);
    }
  });

  it('a bad config is refused before anything starts: exit 2, one line per problem naming key and line', () => {
    const result = mewld([], 'dir: bot\nmodule: c.js\nper_cluster: 0\nping_interval: 0\nnames: []\nredis_channel: [a]\n');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('config.yaml: invalid config');
    expect(result.stderr).toMatch(/line 3: per_cluster: must be shards per cluster: an integer, 1 or more, got 0/);
    expect(result.stderr).toMatch(/line 4: ping_interval: must be a number of seconds greater than 0, got 0/);
    expect(result.stderr).toMatch(/line 5: names: must hold at least one cluster name/);
    expect(result.stderr).toMatch(/line 6: redis_channel: must be a channel name, got \["a"\]/);
  });

  it('systemd: prints a unit that runs this config, whose cgroup takes the clusters with a dead supervisor', () => {
    const result = mewld(
      ['systemd'],
      'dir: bot\nmodule: c.js\nper_cluster: 1\nfixed_shard_count: 1\nkill_timeout: 20\nredis: 127.0.0.1:6379\n',
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^ExecStart=${process.execPath} ${CLI} --config /.+/config\\.yaml$`, 'm'));
    expect(result.stdout).toMatch(/^KillMode=control-group$/m);
    expect(result.stdout).toMatch(/^SyslogIdentifier=mewld-config$/m);
    expect(result.stdout).toMatch(/^TimeoutStopSec=35$/m);
    expect(result.stdout).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(result.stdout).toMatch(/^After=network-online\.target redis-server\.service$/m);
  });

  it('takes the config as the Go mewld did, with --cfg-file', () => {
    const result = mewld(['--cfg-file', 'other.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/other\.yaml: invalid config/);
  });

  it('a missing config file: exit 2', () => {
    const result = mewld(['--config', 'nope.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/nope\.yaml: invalid config\n {2}- cannot read the file: ENOENT/);
  });

  it('the shipped config.yaml is valid', () => {
    const result = spawnSync(
      process.execPath,
      [
        '-e',
        `
      import('${join(ROOT, 'dist/config/index.js')}').then(({ loadConfig }) => {
        const { config } = loadConfig('${join(ROOT, 'config.yaml')}');
        console.log(JSON.stringify(config));
      });`,
      ],
      { encoding: 'utf8', env: { ...process.env, MTOKEN: '' } },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ module: expect.any(String), per_cluster: expect.any(Number) });
  });
});

describe('operator commands to a running supervisor', () => {
  const running: RunningSupervisor[] = [];
  afterAll(() => stopAll(running));
  const TOKEN = 'a-token-for-the-cli-tests';

  /** The CLI, on the running supervisor's config, without blocking this process (it reads the supervisor's output). */
  const command = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, MTOKEN: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('status prints every cluster; restart, stop and start act on one, with the refusals the API gives', async () => {
    const s = runSupervisor({
      module: 'client_cluster.mjs',
      fixed_shard_count: 6,
      per_cluster: 2,
      names: ['Ayame', 'Botan', 'Chihiro'],
      web: { port: await freePort(), token: TOKEN },
    });
    running.push(s);
    await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 3);
    const config = ['--config', s.configFile];

    const status = await eventually(
      async () => {
        const r = await command(['status', ...config]);
        return r.code === 0 && / 2\/2 /.test(r.stdout.split('\n')[3] ?? '') ? r : undefined;
      },
      10_000,
      'a status with every cluster diagnosed',
    );
    const lines = status.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('up · ipc bus up · 3 clusters · 6 shards');
    expect(lines[1]).toMatch(/^ID +NAME +STATE +PID +UP FOR +RESTARTS +SHARDS UP +LATENCY$/);
    expect(lines.slice(2).map((l) => l.split(/ +/).slice(0, 3))).toEqual([
      ['0', 'Ayame', expect.stringMatching(/^(running|diagPending)$/)],
      ['1', 'Botan', expect.stringMatching(/^(running|diagPending)$/)],
      ['2', 'Chihiro', expect.stringMatching(/^(running|diagPending)$/)],
    ]);
    const pidOf1 = Number(lines[3]!.split(/ +/)[3]);
    expect(s.clusterPids()).toContain(pidOf1);

    // For scripts: what the API answers, as JSON.
    const json = await command(['status', '--json', ...config]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      phase: { phase: string };
      gateway: { shards: number };
      clusters: { id: number; name: string }[];
    };
    expect(parsed.phase.phase).toBe('up');
    expect(parsed.gateway.shards).toBe(6);
    expect(parsed.clusters.map((c) => [c.id, c.name])).toEqual([
      [0, 'Ayame'],
      [1, 'Botan'],
      [2, 'Chihiro'],
    ]);

    expect(await command(['restart', '1', ...config])).toMatchObject({ code: 0, stdout: 'ok: restart: cluster 1\n' });
    await s.waitForEvents((e) => e.filter((x) => x.event === 'start' && x.id === 1).length === 2);
    expect(await command(['stop', '9', ...config])).toMatchObject({
      code: 1,
      stderr: 'mewld stop: no cluster with id 9 (ids are 0 to 2)\n',
    });
    expect(await command(['stop', ...config])).toMatchObject({ code: 2, stderr: "mewld stop: missing required argument 'ID'\n" });
    expect(await command(['stop', '2', ...config])).toMatchObject({ code: 0 });
    await eventually(async () => (await command(['status', ...config])).stdout.includes('stopped'), 10_000, 'cluster 2 stopped');
    expect(await command(['stop', '2', ...config])).toMatchObject({ code: 1, stderr: 'mewld stop: cluster 2 is already stopped\n' });
    expect(await command(['start', '2', ...config])).toMatchObject({ code: 0, stdout: 'ok: start: cluster 2\n' });

    // A wrong token is refused as the API refuses it.
    const wrong = await command(['status', ...config], { MEWLD_WEB_TOKEN: 'not-the-token-of-this-one' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^mewld status: unauthorized/);
  });

  it('rolling-restart: started, paused (the cluster restarting finishes first), resumed and cancelled, each saying where it is', async () => {
    // Each cluster takes 1.5 s to say launch_next: time for a command to land while one restarts.
    const s = runSupervisor(
      { module: 'client_cluster.mjs', fixed_shard_count: 4, per_cluster: 1, web: { port: await freePort(), token: TOKEN } },
      { FIXTURE_START_MS: '1500' },
    );
    running.push(s);
    await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4);
    const config = ['--config', s.configFile];
    const starts = (id: number) => s.events().filter((e) => e.event === 'start' && e.id === id).length;

    expect(await command(['rolling-restart', 'status', ...config])).toMatchObject({
      code: 0,
      stdout: 'no rolling restart since the supervisor started\n',
    });
    expect(await command(['rolling-restart', 'pause', ...config])).toMatchObject({
      code: 1,
      stderr: 'mewld rolling-restart pause: no rolling restart is in progress\n',
    });
    expect(await command(['rolling-restart', ...config])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^rolling restart: 0 of 4 clusters restarted, cluster 0 restarting\n$/),
    });
    // Which cluster is restarting when the pause lands depends on how fast this machine runs the CLI.
    const pause = await command(['rolling-restart', 'pause', ...config]);
    const [, current, done] =
      /^rolling restart: pausing once cluster (\d) is back, (\d) of 4 clusters restarted\n$/.exec(pause.stdout) ?? [];
    expect(pause.code).toBe(0);
    expect(Number(current)).toBe(Number(done));
    const paused = await eventually(
      async () => {
        const r = await command(['rolling-restart', 'status', '--json', ...config]);
        const { rollout } = JSON.parse(r.stdout) as { rollout: { state: string; done: number } };
        return rollout.state === 'paused' ? rollout : undefined;
      },
      10_000,
      'the rolling restart paused',
    );
    expect(paused).toEqual({ state: 'paused', total: 4, done: Number(current) + 1, current: null });
    const next = paused.done;
    // Paused: the next cluster is not restarted however long it waits.
    await new Promise((r) => setTimeout(r, 2000));
    expect(starts(next)).toBe(1);
    expect(await command(['rolling-restart', 'resume', ...config])).toMatchObject({
      code: 0,
      stdout: `rolling restart: ${next} of 4 clusters restarted, cluster ${next} restarting\n`,
    });
    await s.waitForEvents(() => starts(next) === 2);
    expect(await command(['rolling-restart', 'cancel', ...config])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^rolling restart: cancelled, \d of 4 clusters restarted\n$/),
    });
    await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next' && x.id === next).length === 2);
    await new Promise((r) => setTimeout(r, 2000));
    // The cluster restarting when it was cancelled finished its restart; none after it was begun.
    expect([0, 1, 2, 3].map(starts).slice(next + 1)).toEqual(Array(3 - next).fill(1));
    expect(await command(['rolling-restart', 'cancel', ...config])).toMatchObject({
      code: 1,
      stderr: 'mewld rolling-restart cancel: no rolling restart is in progress\n',
    });
  });

  it('finds a supervisor with a random token and port by the file it leaves, which only its user can read, until it exits', async () => {
    const s = runSupervisor({ module: 'client_cluster.mjs', fixed_shard_count: 2, per_cluster: 2, web: { port: 0 } });
    await s.waitForEvents((e) => e.some((x) => x.event === 'all_clusters_launched'));
    await s.web();
    const env = { XDG_RUNTIME_DIR: s.dir };
    // One directory per config, only its user's; the web API's address and token in it, only its user's too.
    const [runDir] = readdirSync(join(s.dir, 'mewld'));
    expect(statSync(join(s.dir, 'mewld', runDir!)).mode & 0o777).toBe(0o700);
    expect(statSync(join(s.dir, 'mewld', runDir!, 'web.json')).mode & 0o777).toBe(0o600);
    const status = await command(['status', '--config', s.configFile], env);
    expect(status).toMatchObject({ code: 0, stdout: expect.stringMatching(/^(launching|up) · ipc bus up · 1 clusters · 2 shards\n/) });
    s.kill('SIGTERM');
    await s.exit;
    // Its address is gone; what is left is the history, for the next run (only its user's too).
    expect(readdirSync(join(s.dir, 'mewld', runDir!))).toEqual(['history.json']);
    expect(statSync(join(s.dir, 'mewld', runDir!, 'history.json')).mode & 0o777).toBe(0o600);
    const gone = await command(['status', '--config', s.configFile], env);
    expect(gone).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/has left its address here, and the config has no token: is it running\?/),
    });
  });

  it('says what is wrong when no supervisor answers, or when the config gives no way to reach one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-cli-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      `dir: bot\nmodule: c.js\nper_cluster: 1\nfixed_shard_count: 1\nweb:\n  port: ${await freePort()}\n  token: ${TOKEN}\n`,
    );
    const nobody = await command(['status', '--config', file], { XDG_RUNTIME_DIR: dir });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(
      /^mewld status: no supervisor answers at http:\/\/127\.0\.0\.1:\d+ .*is it running, with .*config\.yaml\?/,
    );
    writeFileSync(file, 'dir: bot\nmodule: c.js\nper_cluster: 1\nfixed_shard_count: 1\n');
    expect(await command(['status', '--config', file], { XDG_RUNTIME_DIR: dir })).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/no supervisor of .*config\.yaml has left its address here/),
    });
    expect(await command(['frobnicate', '--config', file])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^mewld: unknown command 'frobnicate'/),
    });
  });
});
