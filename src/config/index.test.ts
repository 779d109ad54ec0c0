import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, workDir } from './index.js';

const minimal = `
dir: bot
module: cluster.js
per_cluster: 4
token: abc
`;

function problems(source: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(source, 'config.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
}

describe('config', () => {
  it('fills in the defaults of SPEC §4 and the new keys', () => {
    const { config } = parseConfig(minimal, 'config.yaml', {});
    expect(config).toMatchObject({
      ping_interval: 15,
      ping_timeout: 10,
      cluster_start_next_delay: 5,
      minimum_safe_sessions_remaining: 5,
      redis_channel: 'mewld',
      proxy: 'https://discord.com',
      launch_timeout: 300,
      kill_timeout: 10,
      restart: { backoff_initial: 1, backoff_factor: 2, backoff_max: 60, jitter: 0.2, reset_after: 60, max_restarts: 5, within: 60 },
    });
  });

  it('accepts a Go mewld config as it is, oauth block included', () => {
    const { config, warnings } = parseConfig(
      `${minimal}
redis: localhost:6379
redis_channel: mybot
names: [Alpha, Beta]
allowed_ids: ["563808552288780322"]
oauth:
  client_id: "1"
  client_secret: x
  redirect_url: http://localhost
ping_interval: 0.5
interp: python3
use_custom_webui: true
experimental_features: [reshard]
reshard_all: false
`,
      'config.yaml',
      {},
    );
    expect(config.ping_interval).toBe(0.5);
    expect(warnings.join()).toMatch(/oauth is ignored/);
    expect(warnings.join()).toMatch(/experimental_features and reshard_all are ignored/);
  });

  it('MTOKEN overrides token', () => {
    expect(parseConfig(minimal, 'config.yaml', { MTOKEN: 'from-env' }).config.token).toBe('from-env');
  });

  it('loads env files relative to the config, and MTOKEN may come from one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-'));
    writeFileSync(join(dir, '.env'), 'MTOKEN=from-file\nOTHER="x y"\n');
    const loaded = parseConfig(`dir: bot\nmodule: c.js\nper_cluster: 1\nenv: [.env]\n`, join(dir, 'config.yaml'), {});
    expect(loaded.env).toEqual({ MTOKEN: 'from-file', OTHER: 'x y' });
    expect(loaded.config.token).toBe('from-file');
    expect(problems(`dir: bot\nmodule: c.js\nper_cluster: 1\ntoken: t\nenv: [missing.env]\n`)).toEqual([
      expect.stringMatching(/^env\.0: the env file .*missing\.env does not exist/),
    ]);
  });

  it.each([
    ['wrong type', 'per_cluster: "four"', /^line 1: per_cluster: must be shards per cluster: an integer, 1 or more, got "four"/],
    ['ping_interval: 0', 'ping_interval: 0', /^line 1: ping_interval: must be a number of seconds greater than 0, got 0/],
    ['empty names', 'names: []', /^line 1: names: must hold at least one cluster name/],
    ['duplicate names', 'names: [a, a]', /names: cluster names must be unique/],
    ['unknown key', 'pingInterval: 3', /^line 1: pingInterval: unknown key; allowed keys are token, dir, .*ping_interval/],
    ['unknown restart key', 'restart:\n  max_restart: 3', /^line 2: restart\.max_restart: unknown key; allowed keys are backoff_initial/],
    ['negative delay', 'cluster_start_next_delay: -1', /cluster_start_next_delay: must be a number of seconds, 0 or more, got -1/],
    ['bad proxy', 'proxy: not a url', /proxy: must be an http\(s\) URL/],
    [
      'an alert webhook that is not http(s)',
      'alerts:\n  webhook: ftp://example.com/hook',
      /^line 2: alerts\.webhook: must be an http\(s\) URL/,
    ],
    [
      'an unknown alert format',
      'alerts:\n  webhook: https://example.com/hook\n  format: teams',
      /^line 3: alerts\.format: must be discord, slack or json/,
    ],
    ['max_concurrency: 0', 'max_concurrency: 0', /^line 1: max_concurrency: must be identify buckets: an integer, 1 or more, got 0/],
  ])('refuses %s, naming the key, its line and what is allowed', (_name, line, message) => {
    const source = `${line}\n${minimal.replace(new RegExp(`^${line.split(':')[0]}:.*$`, 'm'), '')}`;
    expect(problems(source)).toEqual([expect.stringMatching(message)]);
  });

  it('refuses a config without per_cluster', () => {
    expect(problems('dir: bot\nmodule: c.js\ntoken: t\n')).toEqual([
      expect.stringMatching(/^per_cluster: is required \(must be shards per cluster/),
    ]);
  });

  it('refuses a YAML syntax error with its line', () => {
    expect(problems('dir: bot\nmodule: [unclosed\nper_cluster: 1\n')[0]).toMatch(/^line \d+, column \d+: YAML syntax error/);
  });

  it('needs a token unless the shard count is fixed', () => {
    expect(problems('dir: bot\nmodule: c.js\nper_cluster: 1\n')).toEqual([expect.stringMatching(/^token: is required/)]);
    expect(parseConfig('dir: bot\nmodule: c.js\nper_cluster: 1\nfixed_shard_count: 2\n', 'c.yaml', {}).config.token).toBeUndefined();
  });

  it('reports every problem at once', () => {
    expect(problems('module: 3\nper_cluster: 0\nping_timeout: -2\n')).toHaveLength(3);
  });

  it('computes the working directory as the Go version did', () => {
    const { config } = parseConfig(minimal, 'c.yaml', {});
    expect(workDir(config, '/home/bot', '/srv')).toBe('/home/bot/bot');
    expect(workDir({ ...config, use_current_directory: true }, '/home/bot', '/srv')).toBe('/srv/bot');
    expect(workDir({ ...config, override_dir: '/opt/bot' }, '/home/bot', '/srv')).toBe('/opt/bot');
  });
});
