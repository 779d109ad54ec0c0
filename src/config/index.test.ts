import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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
    const { config, warnings } = parseConfig(minimal, 'config.yaml', machine);
    expect(config).toMatchObject({
      ping_interval: 15,
      ping_timeout: 10,
      cluster_start_next_delay: 5,
      minimum_safe_sessions_remaining: 5,
      redis_channel: 'mewld',
      use_custom_webui: false,
      allowed_ids: [],
      launch_timeout: 300,
      kill_timeout: 10,
      restart: { backoff_initial: 1, backoff_factor: 2, backoff_max: 60, jitter: 0.2, reset_after: 60, max_restarts: 5, within: 60 },
    });
    // No proxy unless one is set: Discord is called directly, as the Go version did.
    expect(config.proxy).toBeUndefined();
    expect(config.oauth).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('accepts a Go mewld config as it is, oauth block included, and reads it as the Go version did', () => {
    // Laid out as the Go version's config_sample.yaml: an empty override_dir, ids and a client id as bare numbers.
    const { config, warnings } = parseConfig(
      `dir: bot
override_dir:
names: [Alpha, Beta]
module: cluster.js
redis: localhost:6379
redis_channel: mybot
interp: python3
token: abc
per_cluster: 4
ping_interval: 5

# WEBUI
allowed_ids:
  - "563808552288780322"
  - 455277032625012737

oauth:
  client_id: 928702343732658256
  client_secret: SECRETHERE
  redirect_url: http://localhost:1293 # must end in /confirm
use_custom_webui: true
experimental_features: [reshard]
reshard_all: false
`,
      'config.yaml',
      machine,
    );
    expect(config).toMatchObject({
      names: ['Alpha', 'Beta'],
      redis: 'localhost:6379',
      redis_channel: 'mybot',
      interp: 'python3',
      ping_interval: 5,
      allowed_ids: ['563808552288780322', '455277032625012737'],
      oauth: {
        client_id: '928702343732658256',
        client_secret: 'SECRETHERE',
        redirect_url: 'http://localhost:1293',
        discord_url: 'https://discord.com',
      },
      use_custom_webui: true,
    });
    // The empty override_dir is no override: the clusters run in dir, under $HOME.
    expect(config.override_dir).toBeUndefined();
    expect(workDir(config, home)).toBe(join(home, 'bot'));
    // oauth is used now; only the resharding switches are left unused.
    expect(warnings).toEqual(['experimental_features and reshard_all are ignored: this supervisor does not reshard while running']);
  });

  it('MTOKEN overrides token', () => {
    expect(parseConfig(minimal, 'config.yaml', { ...machine, MTOKEN: 'from-env' }).config.token).toBe('from-env');
  });

  it('loads env files relative to the config, but never takes MTOKEN from one (the Go version set it from the config first)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-'));
    writeFileSync(join(dir, '.env'), 'MTOKEN=from-file\nOTHER="x y"\n');
    const loaded = parseConfig(
      `dir: bot\nmodule: cluster.js\nper_cluster: 1\ntoken: from-config\nenv: [.env]\n`,
      join(dir, 'config.yaml'),
      machine,
    );
    // The clusters are not given the file's MTOKEN either.
    expect(loaded.env).toEqual({ OTHER: 'x y' });
    expect(loaded.config.token).toBe('from-config');
    // An empty MTOKEN in the environment is unset: the config's token still counts, the file's still does not.
    expect(
      parseConfig(`token: from-config\nenv: [.env]\n${minimal.replace(/^token:.*$/m, '')}`, join(dir, 'config.yaml'), {
        ...machine,
        MTOKEN: '',
      }).config.token,
    ).toBe('from-config');
    // With no token anywhere else, the env file's MTOKEN does not stand in for one.
    expect(() => parseConfig(`dir: bot\nmodule: cluster.js\nper_cluster: 1\nenv: [.env]\n`, join(dir, 'config.yaml'), machine)).toThrow(
      /\n {2}- token: is required to ask Discord for the shard count/,
    );
    expect(problems(`dir: bot\nmodule: cluster.js\nper_cluster: 1\ntoken: t\nenv: [missing.env]\n`)).toEqual([
      expect.stringMatching(/^line 5: env\.0: the env file .*missing\.env does not exist/),
    ]);
  });

  it.each([
    ['wrong type', 'per_cluster: "four"', /^line 1: per_cluster: must be shards per cluster: an integer, 1 or more, got "four"/],
    ['ping_interval: 0', 'ping_interval: 0', /^line 1: ping_interval: must be a number of seconds greater than 0, got 0/],
    ['empty names', 'names: []', /^line 1: names: must hold at least one cluster name/],
    ['duplicate names', 'names: [a, a]', /names: cluster names must be unique/],
    [
      'an allowed id that is a user name',
      'allowed_ids: [cheesycod]',
      /^line 1: allowed_ids\.0: must be a Discord user id, got "cheesycod"$/,
    ],
    [
      'a single allowed id, not in a list',
      'allowed_ids: "563808552288780322"',
      /^line 1: allowed_ids: must be a list of Discord user ids, got "563808552288780322"$/,
    ],
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

  it('warns about a key it does not know, ignores it, and loads the rest', () => {
    const { config, warnings } = parseConfig(`${minimal}pingInterval: 3\nrestart:\n  max_restart: 3\n`, 'config.yaml', machine);
    expect(warnings).toEqual([
      'line 6: pingInterval: not a key mewld knows, ignored; did you mean ping_interval?',
      'line 8: restart.max_restart: not a key mewld knows, ignored; did you mean max_restarts?',
    ]);
    // The misspelt settings take no effect: the defaults stay.
    expect(config.ping_interval).toBe(15);
    expect(config.restart.max_restarts).toBe(5);
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
    expect(problems('module: [cluster.js]\nper_cluster: 0\nping_timeout: -2\n')).toHaveLength(3);
  });

  it('computes the working directory as the Go version did', () => {
    const { config } = parseConfig(minimal, 'c.yaml', machine);
    expect(workDir(config, '/home/bot', '/srv')).toBe('/home/bot/bot');
    expect(workDir({ ...config, use_current_directory: true }, '/home/bot', '/srv')).toBe('/srv/bot');
    expect(workDir({ ...config, override_dir: '/opt/bot' }, '/home/bot', '/srv')).toBe('/opt/bot');
  });

  it('lists every problem sorted by line, those of no line last', () => {
    // The schema finds them in its own order: ping_timeout, per_cluster, module.
    expect(problems('module: [cluster.js]\nping_timeout: -2\nper_cluster: 0\n')).toEqual([
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

describe('config: env files, read as the Go version (godotenv) read them', () => {
  /** Writes the env files next to a config that lists them, in that order, and loads it. */
  function withEnvFiles(files: Record<string, string>, processEnv: NodeJS.ProcessEnv = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-env-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const list = Object.keys(files)
      .map((name) => `  - ${name}`)
      .join('\n');
    return parseConfig(`${minimal}env:\n${list}\n`, join(dir, 'config.yaml'), { ...machine, ...processEnv }).env;
  }

  it('quotes, export, comments and multi-line values', () => {
    expect(
      withEnvFiles({
        '.env':
          '# the bot\nexport LOG_LEVEL=debug\nGREETING="hello world" # said on start\nNAME=mewbot # a comment\nKEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\n',
      }),
    ).toEqual({ LOG_LEVEL: 'debug', GREETING: 'hello world', NAME: 'mewbot', KEY: '-----BEGIN KEY-----\nabc\n-----END KEY-----' });
  });

  it('an env file named by a bare number is found by that name', () => {
    expect(withEnvFiles({ '2025': 'SEASON=2025\n' })).toEqual({ SEASON: '2025' });
  });

  it("never overrides the supervisor's environment", () => {
    // The clusters get the supervisor's REDIS_URL: the file's is not passed on.
    const env = withEnvFiles({ '.env': 'REDIS_URL=redis://127.0.0.1:6379\nSENTRY_ENV=dev\n' }, { REDIS_URL: 'redis://redis.prod:6379' });
    expect(env).toEqual({ SENTRY_ENV: 'dev' });
  });

  it('the first file that sets a key wins over the later ones', () => {
    expect(
      withEnvFiles({
        '.env.local': 'PORT=8080\n',
        '.env': 'PORT=3000\nHOST=0.0.0.0\n',
      }),
    ).toEqual({ PORT: '8080', HOST: '0.0.0.0' });
  });

  it('${VAR} is taken from the same file first, then from the earlier files and the environment', () => {
    const env = withEnvFiles(
      {
        'base.env': 'DB_HOST=db.internal\nDB_USER=bot\n',
        'app.env':
          'DB_USER=app\nDATABASE_URL=postgres://${DB_USER}@${DB_HOST}:5432/${PGDATABASE}\nLOG_DIR=/tmp/logs\nLOG_FILE=${LOG_DIR}/bot.log\n',
      },
      { PGDATABASE: 'mewbot', LOG_DIR: '/var/log/mewbot' },
    );
    // DB_USER of app.env is used in its own DATABASE_URL, though base.env's DB_USER is the one passed on.
    expect(env).toEqual({
      DB_HOST: 'db.internal',
      DB_USER: 'bot',
      DATABASE_URL: 'postgres://app@db.internal:5432/mewbot',
      LOG_FILE: '/tmp/logs/bot.log',
    });
  });

  it('a later value in the same file is not seen, and an unknown ${VAR} is empty', () => {
    expect(withEnvFiles({ '.env': 'URL=http://${HOST}:8080\nHOST=localhost\nMISSING=[${NOT_SET_ANYWHERE}]\n' })).toEqual({
      URL: 'http://:8080',
      HOST: 'localhost',
      MISSING: '[]',
    });
  });

  it('MTOKEN: the environment, else the config; an env file is never asked', () => {
    const env = withEnvFiles({ '.env': 'MTOKEN=from-file\n' }, { MTOKEN: 'from-environment' });
    expect(env).toEqual({});
    const dir = mkdtempSync(join(tmpdir(), 'mewld-config-env-'));
    writeFileSync(join(dir, '.env'), 'MTOKEN=from-file\n');
    const load = (processEnv: NodeJS.ProcessEnv) =>
      parseConfig(`${minimal}env: [.env]\n`, join(dir, 'config.yaml'), processEnv).config.token;
    expect(load({ ...machine, MTOKEN: 'from-environment' })).toBe('from-environment');
    expect(load(machine)).toBe('abc');
  });
});

describe('config secrets', () => {
  it.each([
    [
      'token:\n  prod: MTIzNDU2Nzg5.Gabcde.prod-token-secret\n  dev: MTIzNDU2Nzg5.Gabcde.dev-token-secret',
      'token-secret',
      /^line 2: token: must be the bot token, a string, got a mapping$/,
    ],
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
    [
      'redis:\n  - redis://:hunter2hunter2@10.0.0.5:6379\n  - redis://:hunter2hunter2@10.0.0.6:6379',
      'hunter2',
      /^line 2: redis: must be a Redis address .*, got a list$/,
    ],
    [
      'oauth: the-client-secret',
      'the-client-secret',
      /^line 1: oauth: must be a mapping with client_id, client_secret, redirect_url, got a string of 17 characters$/,
    ],
    [
      'oauth:\n  client_id: 928702343732658256\n  client_secret: [the-client-secret]\n  redirect_url: http://localhost:1293',
      'the-client-secret',
      /^line 3: oauth\.client_secret: must be the OAuth2 client secret, got a list$/,
    ],
    [
      'oauth:\n  client_id: 928702343732658256\n  client_secret:\n    prod: the-client-secret\n  redirect_url: http://localhost:1293',
      'the-client-secret',
      /^line 4: oauth\.client_secret: must be the OAuth2 client secret, got a mapping$/,
    ],
  ])('never shows a secret given the wrong type or form: %s', (line, secret, message) => {
    const source = `${line}\n${minimal.replace(/^token:.*$/m, '')}`;
    const found = problems(source);
    expect(found).toEqual([expect.stringMatching(message)]);
    expect(found.join('\n')).not.toContain(secret);
  });

  it('never shows the oauth secret in a warning, wherever it was put', () => {
    // Under a misspelt key, and pasted into redirect_url: the config loads, without the login, and says why.
    const { warnings } = parseConfig(
      `${minimal}allowed_ids: ["563808552288780322"]\noauth:\n  client_id: 928702343732658256\n  client_secert: the-client-secret\n  redirect_url: the-client-secret\n`,
      'config.yaml',
      machine,
    );
    expect(warnings).toEqual([
      'line 9: oauth.client_secert: not a key mewld knows, ignored; did you mean client_secret?',
      'oauth: client_secret is not set: log in with Discord is off (the token still works)',
    ]);
    expect(
      parseConfig(
        `${minimal}allowed_ids: ["563808552288780322"]\noauth:\n  client_id: 928702343732658256\n  client_secret: the-client-secret\n  redirect_url: the-client-secret\n`,
        'config.yaml',
        machine,
      ).warnings,
    ).toEqual(['oauth: redirect_url is not an http(s) URL: log in with Discord is off (the token still works)']);
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
    // Cluster names full of brackets, and a leftover key of another tool (ignored) that nests ten levels.
    const source = `${minimal}names:\n  - "${brackets}1"\n  - '${brackets}2'\n  - |\n    ${brackets}3\n  # ${brackets}\n  - x${brackets}\nx-layout:\n  e: [[[[[[[[[[1]]]]]]]]]]\n`;
    const { config, warnings } = parseConfig(source, 'c.yaml', machine);
    expect(config.names).toEqual([`${brackets}1`, `${brackets}2`, `${brackets}3\n`, `x${brackets}`]);
    expect(warnings).toEqual(['line 13: x-layout: not a key mewld knows, ignored']);
    // A few levels more than allowed, which the yaml package would parse: refused, though under a key that would be ignored.
    expect(problems(`${source}  f: ${'['.repeat(65)}${']'.repeat(65)}\n`)).toEqual([
      'line 15: the document is nested more than 64 levels deep',
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

  it('with interp, the module can be opened: a link to nothing, or a loop of links, is refused', () => {
    // The name is in the directory listing, but nothing can be read through it (whoever runs the check, root included).
    symlinkSync(join(home, 'releases', 'v1', 'cluster.js'), join(home, 'bot', 'current.js'));
    expect(problems(config('dir: bot\nmodule: current.js\ninterp: node'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'current.js')} does not exist`,
    ]);
    symlinkSync('loop-b.js', join(home, 'bot', 'loop-a.js'));
    symlinkSync('loop-a.js', join(home, 'bot', 'loop-b.js'));
    expect(problems(config('dir: bot\nmodule: loop-a.js\ninterp: node'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'loop-a.js')} cannot be used (ELOOP)`,
    ]);
    // A file taken for a directory on the way.
    expect(problems(config('dir: bot\nmodule: cluster.js/index.js\ninterp: node'))).toEqual([
      `line 4: module: ${join(home, 'bot', 'cluster.js', 'index.js')} does not exist`,
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
