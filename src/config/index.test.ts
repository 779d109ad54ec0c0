import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, MAX_CONFIG_BYTES, parseConfig, workDir } from './index.js';

/**
 * The machine the configs are checked on (the config refuses a module or an
 * interp it would fail to launch): a home with the bot's directory and its
 * cluster program, and a PATH that holds only fake node and python3.
 */
const home = mkdtempSync(join(tmpdir(), 'mewld-config-home-'));
const bin = join(home, 'bin');
mkdirSync(join(home, 'bot'));
mkdirSync(bin);
const PROGRAM = '#!/bin/sh\nexit 0\n';
writeFileSync(join(home, 'bot', 'cluster.js'), PROGRAM, { mode: 0o755 });
for (const name of ['node', 'python3']) writeFileSync(join(bin, name), PROGRAM, { mode: 0o755 });
const machine: NodeJS.ProcessEnv = { HOME: home, PATH: bin };

const minimal = `
dir: bot
module: cluster.js
per_cluster: 4
token: abc
`;

function problems(source: string, env: NodeJS.ProcessEnv = machine): string[] {
  try {
    parseConfig(source, 'config.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
}

describe('config', () => {
  it('fills in the documented defaults (docs/configuration.md) and the new keys', () => {
    const { config } = parseConfig(minimal, 'config.yaml', machine);
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
      machine,
    );
    expect(config.ping_interval).toBe(0.5);
    expect(warnings.join()).toMatch(/oauth is ignored/);
    expect(warnings.join()).toMatch(/experimental_features and reshard_all are ignored/);
  });

  it('MTOKEN overrides token', () => {
    expect(parseConfig(minimal, 'config.yaml', { ...machine, MTOKEN: 'from-env' }).config.token).toBe('from-env');
  });

  it('loads env files relative to the config, and MTOKEN may come from one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-'));
    writeFileSync(join(dir, '.env'), 'MTOKEN=from-file\nOTHER="x y"\n');
    const loaded = parseConfig(`dir: bot\nmodule: cluster.js\nper_cluster: 1\nenv: [.env]\n`, join(dir, 'config.yaml'), machine);
    expect(loaded.env).toEqual({ MTOKEN: 'from-file', OTHER: 'x y' });
    expect(loaded.config.token).toBe('from-file');
    expect(problems(`dir: bot\nmodule: cluster.js\nper_cluster: 1\ntoken: t\nenv: [missing.env]\n`)).toEqual([
      expect.stringMatching(/^line 5: env\.0: the env file .*missing\.env does not exist/),
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
    expect(problems('dir: bot\nmodule: cluster.js\nper_cluster: 1\n')).toEqual([expect.stringMatching(/^token: is required/)]);
    expect(
      parseConfig('dir: bot\nmodule: cluster.js\nper_cluster: 1\nfixed_shard_count: 2\n', 'c.yaml', machine).config.token,
    ).toBeUndefined();
  });

  it('reports every problem at once', () => {
    expect(problems('module: 3\nper_cluster: 0\nping_timeout: -2\n')).toHaveLength(3);
  });

  it('computes the working directory as the Go version did', () => {
    const { config } = parseConfig(minimal, 'c.yaml', machine);
    expect(workDir(config, '/home/bot', '/srv')).toBe('/home/bot/bot');
    expect(workDir({ ...config, use_current_directory: true }, '/home/bot', '/srv')).toBe('/srv/bot');
    expect(workDir({ ...config, override_dir: '/opt/bot' }, '/home/bot', '/srv')).toBe('/opt/bot');
  });

  it('lists every problem sorted by line, those of no line last', () => {
    // The schema finds them in its own order: ping_timeout, per_cluster, module.
    expect(problems('module: 3\nping_timeout: -2\nper_cluster: 0\n')).toEqual([
      expect.stringMatching(/^line 1: module:/),
      expect.stringMatching(/^line 2: ping_timeout:/),
      expect.stringMatching(/^line 3: per_cluster:/),
    ]);
    // And the checks after the schema, whatever they look at.
    expect(problems('env: [missing.env]\ninterp: nodee\nper_cluster: 1\ndir: bot\nmodule: missing.js\n')).toEqual([
      expect.stringMatching(/^line 1: env\.0: the env file/),
      expect.stringMatching(/^line 2: interp: nodee/),
      expect.stringMatching(/^line 5: module: .*missing\.js does not exist/),
      expect.stringMatching(/^token: is required/),
    ]);
  });
});

describe('config secrets', () => {
  it.each([
    ['token: 123456789012345678901234', '12345678901234567', /^line 1: token: must be the bot token, a string, got a number$/],
    ['token: [MTIzNDU2Nzg5.Gabcde.bot-token-secret]', 'bot-token-secret', /^line 1: token: must be the bot token, a string, got a list$/],
    ['web:\n  token: 98765432109876543210', '98765432109876', /^line 2: web\.token: must be the token of the web API, got a number$/],
    [
      'web:\n  token: short-secret',
      'short-secret',
      /^line 2: web\.token: must be at least 16 characters long, got a string of 12 characters$/,
    ],
    [
      'web: a-web-token-where-web-goes',
      'a-web-token-where-web-goes',
      /^line 1: web: must be false, or a mapping with host, port, token, got a string of 26 characters$/,
    ],
    [
      'alerts:\n  webhook: ftp://discord.com/api/webhooks/1/hook-secret',
      'hook-secret',
      /^line 2: alerts\.webhook: must be an http\(s\) URL, got a string of 44 characters starting with ftp:\/\/$/,
    ],
    [
      'alerts: https://discord.com/api/webhooks/1/hook-secret',
      'hook-secret',
      /^line 1: alerts: must be a mapping with webhook, .*, got a string of 46 characters starting with https:\/\/$/,
    ],
    ['redis:\n  url: redis://:hunter2hunter2@127.0.0.1:6379', 'hunter2', /^line 2: redis: must be a Redis address .*, got a mapping$/],
    ['redis: 987654321', '987654321', /^line 1: redis: must be a Redis address .*, got a number$/],
    ['oauth: the-client-secret', 'the-client-secret', /^line 1: oauth: must be a mapping, got a string of 17 characters$/],
  ])('never shows a secret given the wrong type or form: %s', (line, secret, message) => {
    const source = `${line}\n${minimal.replace(/^token:.*$/m, '')}`;
    const found = problems(source);
    expect(found).toEqual([expect.stringMatching(message)]);
    expect(found.join('\n')).not.toContain(secret);
  });

  it('hides the password of a URL it shows, and a secret pasted under another key', () => {
    const proxy = problems(`proxy: "http://user:hunter2@exa mple.com"\n${minimal}`);
    expect(proxy).toEqual([expect.stringMatching(/^line 1: proxy: must be an http\(s\) URL, got "http:\/\/\*\*\*@exa mple\.com"$/)]);
    expect(proxy.join()).not.toContain('hunter2');
    expect(problems(`ping_interval: [user:hunter2@proxy]\n${minimal}`)).toEqual([
      'line 1: ping_interval: must be a number of seconds greater than 0, got ["***@proxy"]',
    ]);
    const pasted = problems(`${minimal.replace(/^token:.*$/m, 'token: the-bot-token-1234')}\nping_interval: the-bot-token-1234\n`);
    expect(pasted).toEqual([expect.stringMatching(/ping_interval: must be a number of seconds greater than 0, got "\*\*\*"$/)]);
  });
});

describe('config documents that would cost more than a refusal', () => {
  /** A "billion laughs": each anchor holds nine aliases of the one before. */
  const aliasBomb = () => {
    let source = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 9; i++)
      source += `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
        .fill(`*${'abcdefghi'[i - 1]}`)
        .join(',')}]\n`;
    return `${minimal}oauth:\n  ${source.trimEnd().replace(/\n/g, '\n  ')}\n`;
  };

  it('refuses an alias bomb with a ConfigError, and takes ordinary aliases', () => {
    expect(problems(aliasBomb())).toEqual([expect.stringMatching(/^the document expands aliases \(\*name\) more than 100 times/)]);
    const { config } = parseConfig(`${minimal}names: &names [Alpha, Beta]\nexperimental_features: *names\n`, 'c.yaml', machine);
    expect(config.experimental_features).toEqual(['Alpha', 'Beta']);
  });

  it('refuses a config over 1 MiB, from a file without reading it all', () => {
    expect(problems(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n${minimal}`)).toEqual([expect.stringMatching(/larger than 1 MiB/)]);
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-'));
    writeFileSync(join(dir, 'big.yaml'), `${minimal}# ${'x'.repeat(2 * MAX_CONFIG_BYTES)}\n`);
    for (const file of [join(dir, 'big.yaml'), '/dev/zero']) {
      expect(() => loadConfig(file, machine)).toThrow(/invalid config\n {2}- the file is larger than 1 MiB/);
    }
  });

  it.each([
    ['flow collections', `oauth: ${'['.repeat(500_000)}`, 1],
    ['compact sequences', `oauth:\n  ${'- '.repeat(300_000)}x`, 2],
    ['indentation', `oauth:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n')}`, 65],
  ])('refuses a document nested absurdly deep (%s), at once', (_name, nested, line) => {
    const started = performance.now();
    expect(problems(`${minimal}${nested}\n`)).toEqual([`line ${line + 5}: the document is nested more than 64 levels deep`]);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('counts the depth of collections, not brackets in quotes, comments and block scalars', () => {
    const brackets = '['.repeat(200);
    const source = `${minimal}oauth:\n  a: "${brackets}"\n  b: '${brackets}'\n  c: |\n    ${brackets}\n  # ${brackets}\n  d: x${brackets}\n  e: [[[[[[[[[[1]]]]]]]]]]\n`;
    expect(parseConfig(source, 'c.yaml', machine).config.oauth).toMatchObject({ a: brackets, c: `${brackets}\n`, d: `x${brackets}` });
    // A few levels more than allowed, which the yaml package would parse.
    expect(problems(`${source}  f: ${'['.repeat(65)}${']'.repeat(65)}\n`)).toEqual([
      'line 14: the document is nested more than 64 levels deep',
    ]);
  });

  it('an env file that cannot be read is a problem of the config, not a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-'));
    mkdirSync(join(dir, 'env.d'));
    expect(() => parseConfig(`${minimal}env: [env.d]\n`, join(dir, 'config.yaml'), machine)).toThrow(
      /line 6: env\.0: cannot read the env file .*env\.d: EISDIR/,
    );
  });
});

describe('config: what the launcher will run is checked at load', () => {
  const config = (lines: string) => `per_cluster: 1\ntoken: t\n${lines}\n`;

  it('the working directory exists and is a directory', () => {
    expect(problems(config('dir: nope\nmodule: cluster.js'))).toEqual([
      `line 3: dir: the working directory ${join(home, 'nope')} does not exist`,
    ]);
    expect(problems(config(`module: cluster.js\noverride_dir: ${join(home, 'bot', 'cluster.js')}`))).toEqual([
      `line 4: override_dir: the working directory ${join(home, 'bot', 'cluster.js')} is not a directory`,
    ]);
    expect(problems(config('use_current_directory: true\ndir: nope\nmodule: cluster.js'))).toEqual([
      expect.stringMatching(/^line 4: dir: the working directory .*\/nope does not exist$/),
    ]);
  });

  it('interp: its first word is a program in PATH, or a path from the working directory', () => {
    expect(problems(config('dir: bot\nmodule: cluster.js\ninterp: nodee'))).toEqual([
      `line 5: interp: nodee is not a program found in PATH (${bin})`,
    ]);
    expect(problems(config('dir: bot\nmodule: cluster.js\ninterp: ./nodee --flag'))).toEqual([
      `line 5: interp: ./nodee (${join(home, 'bot', 'nodee')}) does not exist`,
    ]);
    expect(problems(config('dir: bot\nmodule: cluster.js\ninterp: node'), { HOME: home, PATH: '/nonexistent' })).toEqual([
      expect.stringMatching(/^line 5: interp: node is not a program found in PATH \(\/nonexistent\)$/),
    ]);
    for (const interp of ['node', 'node --enable-source-maps', 'python3 -u', `${bin}/node`, '../bin/node', './cluster.js']) {
      expect(parseConfig(config(`dir: bot\nmodule: cluster.js\ninterp: ${interp}`), 'c.yaml', machine).config.interp).toBe(interp);
    }
    // Without a PATH in the supervisor's environment, one from an env file; without either, execvp's default.
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-'));
    writeFileSync(join(dir, '.env'), `PATH=${bin}\n`);
    expect(
      parseConfig(config('dir: bot\nmodule: cluster.js\ninterp: python3\nenv: [.env]'), join(dir, 'c.yaml'), { HOME: home }).env.PATH,
    ).toBe(bin);
    expect(parseConfig(config('dir: bot\nmodule: cluster.js\ninterp: sh'), 'c.yaml', { HOME: home }).config.interp).toBe('sh');
    expect(problems(config('dir: bot\nmodule: cluster.js\ninterp: nodee'), { HOME: home })).toEqual([
      'line 5: interp: nodee is not a program found in PATH (/usr/bin:/bin)',
    ]);
  });

  it('with interp, the module is a file under the working directory', () => {
    expect(problems(config('dir: bot\nmodule: missing.js\ninterp: node'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'missing.js')} does not exist`,
    ]);
    // Both mistakes at once, in the order of the file.
    expect(problems(config('dir: bot\ninterp: nodee\nmodule: missing.js'))).toEqual([
      expect.stringMatching(/^line 4: interp: nodee is not a program found in PATH/),
      expect.stringMatching(/^line 5: module: .*missing\.js does not exist$/),
    ]);
  });

  it.skipIf(process.getuid?.() === 0)('with interp, the module can be read', () => {
    writeFileSync(join(home, 'bot', 'secret.js'), '', { mode: 0o200 });
    expect(problems(config('dir: bot\nmodule: secret.js\ninterp: node'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'secret.js')} cannot be read (permission denied)`,
    ]);
  });

  it('without interp, the module is an executable found as the launcher finds it', () => {
    writeFileSync(join(home, 'bot', 'plain.js'), 'console.log(1)\n');
    chmodSync(join(home, 'bot', 'plain.js'), 0o644);
    expect(problems(config('dir: bot\nmodule: plain.js'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'plain.js')} is not executable: set interp (interp: node), or make it executable`,
    ]);
    expect(problems(config('dir: bot\nmodule: mybot'))).toEqual([
      `line 4: module: mybot is neither in the working directory ${join(home, 'bot')} nor a program found in PATH (${bin}); a script needs interp`,
    ]);
    expect(problems(config('dir: bot\nmodule: sub/cluster.js'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'sub', 'cluster.js')} does not exist`,
    ]);
    expect(problems(config(`dir: bot\nmodule: ${home}`))).toEqual([`line 4: module: ${home} is not a file`]);
    // In the working directory, relative to it, absolute, or a bare name in PATH.
    for (const module of ['cluster.js', './cluster.js', '../bot/cluster.js', join(home, 'bot', 'cluster.js'), 'python3']) {
      expect(parseConfig(config(`dir: bot\nmodule: ${module}`), 'c.yaml', machine).config.module).toBe(module);
    }
  });

  it('checks nothing on the file system when told not to (a config read to reach a running supervisor)', () => {
    const source = config('dir: nope\nmodule: missing.js\ninterp: nodee');
    expect(problems(source)).toHaveLength(1);
    expect(parseConfig(source, 'c.yaml', machine, { checkLaunch: false }).config.interp).toBe('nodee');
  });
});
