import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, LOG_LEVELS, loadConfig, oauthLogin, parseConfig, redact, workDir } from './index.js';

/**
 * The rules of each key, at their edges, and the words a refused config is
 * told with. The file system is not checked here (checkLaunch: false): that
 * is index.test.ts's business.
 */
const minimal = 'module: bot.js\nper_cluster: 2\nfixed_shard_count: 4\nuse_current_directory: true\n';

const load = (extra: string, env: NodeJS.ProcessEnv = {}) => parseConfig(`${minimal}${extra}\n`, 'c.yaml', env, { checkLaunch: false });

function problems(extra: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    load(extra, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
}

describe('defaults', () => {
  it('of the keys this project adds, and of web', () => {
    const { config, warnings } = load('');
    expect(config).toMatchObject({
      use_current_directory: true,
      env: [],
      redis_channel: 'mewld',
      allowed_ids: [],
      ping_interval: 15,
      ping_timeout: 10,
      cluster_start_next_delay: 5,
      minimum_safe_sessions_remaining: 5,
      launch_timeout: 300,
      kill_timeout: 10,
      gateway_timeout: 15,
      bus_reconnect_grace: 10,
      action_log_max: 1000,
      web: { host: '127.0.0.1', port: 1293, max_client_buffer: 1024 * 1024 },
    });
    expect(config.restart).toMatchObject({ fleet_crash_ratio: 0.5, fleet_window: 30, fleet_pause: 30, no_restart_exit_codes: [] });
    expect(config.alerts).toBeUndefined();
    expect(config.log_level).toBeUndefined();
    expect(config.max_concurrency).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('of the Go keys: no proxy, no oauth, the bundled dashboard', () => {
    const { config } = load('');
    expect(config.proxy).toBeUndefined();
    expect(config.oauth).toBeUndefined();
    expect(config.use_custom_webui).toBe(false);
    expect(oauthLogin(config)).toBeUndefined();
  });

  it('of alerts: Discord format, the events that need an operator, named mewld', () => {
    expect(load('alerts:\n  webhook: https://example.com/hook').config.alerts).toEqual({
      webhook: 'https://example.com/hook',
      format: 'discord',
      events: ['cluster_failed', 'fleet_paused', 'sessions_low'],
      name: 'mewld',
    });
  });

  it('web: false turns the web server off', () => {
    expect(load('web: false').config.web).toBe(false);
  });

  it('use_current_directory defaults to false', () => {
    const { config } = parseConfig(
      'module: bot.js\nper_cluster: 2\nfixed_shard_count: 4\ndir: bot\n',
      'c.yaml',
      {},
      { checkLaunch: false },
    );
    expect(config.use_current_directory).toBe(false);
  });
});

describe('the rules of each key, at their edges', () => {
  it.each([
    ['cluster_start_next_delay: 0', 'cluster_start_next_delay', 0],
    ['bus_reconnect_grace: 0', 'bus_reconnect_grace', 0],
    ['minimum_safe_sessions_remaining: 0', 'minimum_safe_sessions_remaining', 0],
    ['action_log_max: 1', 'action_log_max', 1],
    ['max_concurrency: 1', 'max_concurrency', 1],
    ['fixed_shard_count: 1', 'fixed_shard_count', 1],
    ['launch_timeout: 0.5', 'launch_timeout', 0.5],
    ['log_level: silent', 'log_level', 'silent'],
  ])('accepts %s', (line, key, value) => {
    const source = `${minimal.replace(new RegExp(`^${key}:.*\\n`, 'm'), '')}${line}\n`;
    expect((parseConfig(source, 'c.yaml', {}, { checkLaunch: false }).config as Record<string, unknown>)[key]).toBe(value);
  });

  it.each([
    ['launch_timeout: 0', 'line 5: launch_timeout: must be a number of seconds greater than 0, got 0'],
    ['kill_timeout: -1', 'line 5: kill_timeout: must be a number of seconds greater than 0, got -1'],
    ['gateway_timeout: "5"', 'line 5: gateway_timeout: must be a number of seconds greater than 0, got "5"'],
    ['bus_reconnect_grace: -0.5', 'line 5: bus_reconnect_grace: must be a number of seconds, 0 or more, got -0.5'],
    ['action_log_max: 0', 'line 5: action_log_max: must be entries: an integer, 1 or more, got 0'],
    ['action_log_max: 1.5', 'line 5: action_log_max: must be entries: an integer, 1 or more, got 1.5'],
    ['minimum_safe_sessions_remaining: -1', 'line 5: minimum_safe_sessions_remaining: must be sessions: an integer, 0 or more, got -1'],
    ['log_level: loud', `line 5: log_level: must be one of ${LOG_LEVELS.join(', ')}`],
    ['reshard_all: 1', 'line 5: reshard_all: must be true or false, got 1'],
    ['redis_channel: ""', 'line 5: redis_channel: must not be empty'],
    ['env: a.env', 'line 5: env: must be a list of env file paths, got "a.env"'],
    ['names: x', 'line 5: names: must be a list of cluster names, got "x"'],
    ['names: [a, ""]', 'line 5: names.1: a cluster name cannot be empty'],
  ])('refuses %s', (line, problem) => {
    expect(problems(line)).toEqual([problem]);
  });

  it('web: a port from 0 to 65535, a token of 16 characters or more, a buffer of 1 KiB or more', () => {
    expect(load('web:\n  port: 0').config.web).toMatchObject({ port: 0 });
    expect(load('web:\n  port: 65535\n  max_client_buffer: 1024').config.web).toMatchObject({ port: 65535, max_client_buffer: 1024 });
    expect(load('web:\n  token: sixteen-chars-ok').config.web).toMatchObject({ token: 'sixteen-chars-ok' });
    expect(problems('web:\n  port: 65536')).toEqual([
      'line 6: web.port: must be a TCP port (0 picks a free one): an integer from 0 to 65535, got 65536',
    ]);
    expect(problems('web:\n  port: -1')).toEqual([
      'line 6: web.port: must be a TCP port (0 picks a free one): an integer from 0 to 65535, got -1',
    ]);
    expect(problems('web:\n  max_client_buffer: 1023')).toEqual([
      'line 6: web.max_client_buffer: must be bytes: an integer, 1024 or more, got 1023',
    ]);
    expect(problems('web:\n  token: fifteen-chars!!')).toEqual([
      'line 6: web.token: must be at least 16 characters long, got a string of 15 characters',
    ]);
  });

  it('web: true is neither false nor a mapping', () => {
    expect(problems('web: true')).toEqual(['line 5: web: must be false, or a mapping with host, port, token, got true']);
  });

  it('restart: the edges of each setting', () => {
    const { config } = load(
      'restart:\n  backoff_initial: 0\n  backoff_factor: 1\n  backoff_max: 0\n  jitter: 1\n  max_restarts: 1\n  no_restart_exit_codes: [0, 255]\n  fleet_crash_ratio: 1',
    );
    expect(config.restart).toMatchObject({
      backoff_initial: 0,
      backoff_factor: 1,
      backoff_max: 0,
      jitter: 1,
      max_restarts: 1,
      no_restart_exit_codes: [0, 255],
      fleet_crash_ratio: 1,
    });
    expect(load('restart:\n  jitter: 0\n  fleet_crash_ratio: 0.01').config.restart).toMatchObject({ jitter: 0, fleet_crash_ratio: 0.01 });
    expect(
      problems(
        'restart:\n  backoff_initial: -1\n  backoff_factor: 0.99\n  jitter: 1.01\n  reset_after: 0\n  max_restarts: 0\n  within: 0\n  no_restart_exit_codes: [256, -1, 1.5]\n  fleet_crash_ratio: 0\n  fleet_window: 0\n  fleet_pause: 0',
      ),
    ).toEqual([
      'line 6: restart.backoff_initial: must be a number of seconds, 0 or more, got -1',
      'line 7: restart.backoff_factor: must be a number, 1 or more, got 0.99',
      'line 8: restart.jitter: must be a fraction from 0 to 1, got 1.01',
      'line 9: restart.reset_after: must be a number of seconds greater than 0, got 0',
      'line 10: restart.max_restarts: must be restarts: an integer, 1 or more, got 0',
      'line 11: restart.within: must be a number of seconds greater than 0, got 0',
      'line 12: restart.no_restart_exit_codes.0: must be an exit code: an integer from 0 to 255, got 256',
      'line 12: restart.no_restart_exit_codes.1: must be an exit code: an integer from 0 to 255, got -1',
      'line 12: restart.no_restart_exit_codes.2: must be an exit code: an integer from 0 to 255, got 1.5',
      'line 13: restart.fleet_crash_ratio: must be a fraction above 0, at most 1 (1 turns fleet protection off), got 0',
      'line 14: restart.fleet_window: must be a number of seconds greater than 0, got 0',
      'line 15: restart.fleet_pause: must be a number of seconds greater than 0, got 0',
    ]);
    expect(problems('restart:\n  jitter: -0.1\n  fleet_crash_ratio: 1.5')).toEqual([
      'line 6: restart.jitter: must be a fraction from 0 to 1, got -0.1',
      'line 7: restart.fleet_crash_ratio: must be a fraction above 0, at most 1 (1 turns fleet protection off), got 1.5',
    ]);
    expect(problems('restart: 5')).toEqual(['line 5: restart: must be a mapping of restart settings, got 5']);
    expect(problems('restart:\n  no_restart_exit_codes: 1')).toEqual([
      'line 6: restart.no_restart_exit_codes: must be a list of exit codes, got 1',
    ]);
  });

  it('alerts: an http(s) webhook, a known format, event names and a name that are not empty', () => {
    expect(
      load('alerts:\n  webhook: HTTP://example.com/hook\n  format: slack\n  events: [cluster_died]\n  name: bot').config.alerts,
    ).toEqual({
      webhook: 'HTTP://example.com/hook',
      format: 'slack',
      events: ['cluster_died'],
      name: 'bot',
    });
    expect(load('alerts:\n  webhook: https://example.com/hook\n  format: json').config.alerts?.format).toBe('json');
    expect(problems('alerts:\n  webhook: https://example.com/hook\n  events: [""]\n  name: ""')).toEqual([
      'line 7: alerts.events.0: an event name cannot be empty',
      'line 8: alerts.name: must not be empty',
    ]);
    expect(problems('alerts:\n  webhook: https://example.com/hook\n  events: fleet_paused')).toEqual([
      'line 7: alerts.events: must be a list of action log events, got "fleet_paused"',
    ]);
    expect(problems('alerts:\n  format: json')).toEqual(['alerts.webhook: is required (must be an http(s) URL)']);
    // Said twice (by the URL rule and by the http(s) rule): the same line, which the operator reads twice.
    expect([...new Set(problems('alerts:\n  webhook: not a url'))]).toEqual([
      'line 6: alerts.webhook: must be an http(s) URL, got a string of 9 characters',
    ]);
  });

  it('a missing required key says what it would allow', () => {
    expect(() => parseConfig('per_cluster: 1\n', 'c.yaml', {}, { checkLaunch: false })).toThrow(
      'c.yaml: invalid config\n  - module: is required (must be the cluster program, a path relative to the working directory)',
    );
  });

  it('module may not be empty', () => {
    expect(() => parseConfig('module: ""\nper_cluster: 1\nfixed_shard_count: 1\n', 'c.yaml', {}, { checkLaunch: false })).toThrow(
      'c.yaml: invalid config\n  - line 1: module: must name the cluster program',
    );
  });
});

describe('a config written for the Go mewld, read as the Go version read it', () => {
  it('a key with nothing after it takes its default, at the top level and inside restart, web, alerts, oauth', () => {
    const { config, warnings } = load(
      [
        'override_dir:',
        'proxy:',
        'ping_interval:',
        'redis_channel:',
        'names:',
        'env:',
        'token: ~',
        'restart:',
        '  jitter:',
        '  max_restarts: 3',
        'web:',
        '  port:',
        '  host: 0.0.0.0',
        'alerts:',
        '  webhook: https://discord.com/api/webhooks/1/abc',
        '  format:',
        'allowed_ids: ["563808552288780322"]',
        'oauth:',
        '  client_id: 928702343732658256',
        '  client_secret: SECRETHERE',
        '  redirect_url: http://localhost:1293',
        '  discord_url: null',
      ].join('\n'),
    );
    expect(config).toMatchObject({
      ping_interval: 15,
      redis_channel: 'mewld',
      env: [],
      restart: { jitter: 0.2, max_restarts: 3 },
      web: { host: '0.0.0.0', port: 1293 },
      alerts: { format: 'discord' },
      oauth: { discord_url: 'https://discord.com' },
    });
    for (const key of ['override_dir', 'proxy', 'names', 'token'] as const) expect(config[key]).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('a mapping key with nothing under it is its default mapping: web keeps serving, restart keeps its policy', () => {
    const { config } = load('web:\nrestart:\nalerts:\noauth:');
    expect(config.web).toEqual({ host: '127.0.0.1', port: 1293, max_client_buffer: 1024 * 1024 });
    expect(config.restart).toMatchObject({ max_restarts: 5, within: 60 });
    expect(config.alerts).toBeUndefined();
    expect(config.oauth).toBeUndefined();
  });

  it('a required key with nothing after it is missing', () => {
    expect(() =>
      parseConfig('module:\nper_cluster: 2\nfixed_shard_count: 4\nuse_current_directory: true\n', 'c.yaml', {}, { checkLaunch: false }),
    ).toThrow('c.yaml: invalid config\n  - module: is required (must be the cluster program, a path relative to the working directory)');
  });

  it('a number or true where the Go struct has a string is its text, as written', () => {
    const { config } = parseConfig(
      [
        'token: 1234567890',
        'override_dir: 2024',
        'module: 1',
        'interp: 3',
        'redis: 6379',
        'redis_channel: 0x1F',
        'names: [1, 2, 03, 4.50]',
        'experimental_features: [true]',
        'per_cluster: 2',
        'fixed_shard_count: 8',
        '',
      ].join('\n'),
      'c.yaml',
      {},
      { checkLaunch: false },
    );
    expect(config).toMatchObject({
      token: '1234567890',
      override_dir: '2024',
      module: '1',
      interp: '3',
      redis: '6379',
      redis_channel: '0x1F',
      names: ['1', '2', '03', '4.50'],
      experimental_features: ['true'],
    });
    // The keys that are numbers in the Go struct stay numbers.
    expect(config.per_cluster).toBe(2);
    expect(workDir(config, '/home/u', '/srv')).toBe(join(process.cwd(), '2024'));
  });

  it('a text read that way must still be what the key allows', () => {
    expect(problems('proxy: 8080')).toEqual(['line 5: proxy: must be an http(s) URL, got "8080"']);
    expect(problems('names: [1, 01, 1]')).toEqual(['line 5: names: cluster names must be unique']);
  });

  it('ids written as bare numbers keep every digit (a float would round them)', () => {
    const { config } = load(
      'allowed_ids:\n  - 563808552288780322\n  - 18446744073709551615\n  - 7\noauth:\n  client_id: 999908791061594194\n  client_secret: 0012\n  redirect_url: https://mewld.example.com',
    );
    expect(config.allowed_ids).toEqual(['563808552288780322', '18446744073709551615', '7']);
    expect(config.oauth).toMatchObject({ client_id: '999908791061594194', client_secret: '0012' });
  });

  it('an allowed id is 1 to 20 digits', () => {
    expect(problems('allowed_ids:\n  - cheesycod\n  - "<@563808552288780322>"\n  - 123456789012345678901\n  - -5\n  - ""')).toEqual([
      'line 6: allowed_ids.0: must be a Discord user id, got "cheesycod"',
      'line 7: allowed_ids.1: must be a Discord user id, got "<@563808552288780322>"',
      'line 8: allowed_ids.2: must be a Discord user id, got "123456789012345678901"',
      'line 9: allowed_ids.3: must be a Discord user id, got "-5"',
      'line 10: allowed_ids.4: must be a Discord user id, got ""',
    ]);
  });

  it('a value of the wrong kind for a known key is still refused, next to keys that are only ignored', () => {
    expect(
      problems('pign_timeout: 20\nping_interval: "5"\nuse_custom_webui: "true"\nrestart:\n  max_restarts: "3"\n  resett_after: 5'),
    ).toEqual([
      'line 6: ping_interval: must be a number of seconds greater than 0, got "5"',
      'line 7: use_custom_webui: must be true or false, got "true"',
      'line 9: restart.max_restarts: must be restarts: an integer, 1 or more, got "3"',
    ]);
    expect(problems('web:\n  port: "8080"')).toEqual([
      'line 6: web.port: must be a TCP port (0 picks a free one): an integer from 0 to 65535, got "8080"',
    ]);
  });

  it('use_custom_webui and proxy are taken as they are set', () => {
    const { config, warnings } = load('use_custom_webui: true\nproxy: http://proxy.internal:8080');
    expect(config.use_custom_webui).toBe(true);
    expect(config.proxy).toBe('http://proxy.internal:8080');
    expect(warnings).toEqual([]);
  });
});

describe('oauth: log in with Discord', () => {
  const goSample =
    'oauth:\n  client_id: 928702343732658256\n  client_secret: SECRETHERE\n  redirect_url: http://localhost:1293 # must end in /confirm';

  it('oauthLogin gives the keys, Discord where it is, and the ids allowed in', () => {
    const { config, warnings } = load(`allowed_ids:\n  - "563808552288780322"\n  - 455277032625012737\n${goSample}`);
    expect(warnings).toEqual([]);
    const login = oauthLogin(config);
    expect(login).toMatchObject({
      clientId: '928702343732658256',
      clientSecret: 'SECRETHERE',
      redirectUrl: 'http://localhost:1293',
      discordUrl: 'https://discord.com',
    });
    expect(login?.allowedIds()).toEqual(['563808552288780322', '455277032625012737']);
  });

  it('discord_url points the login at a stand-in for Discord', () => {
    const { config } = load(`allowed_ids: ["1"]\n${goSample}\n  discord_url: http://127.0.0.1:9999`);
    expect(oauthLogin(config)?.discordUrl).toBe('http://127.0.0.1:9999');
    expect(problems(`${goSample}\n  discord_url: discord.com`)).toEqual(['line 9: oauth.discord_url: must be an http(s) URL, got "***"']);
  });

  it('set without allowed_ids: a warning, since nobody can log in', () => {
    const { config, warnings } = load(goSample);
    expect(warnings).toEqual(['oauth is set but allowed_ids is empty: nobody can log in with Discord']);
    expect(oauthLogin(config)?.allowedIds()).toEqual([]);
  });

  it('placeholders or missing keys: the config starts without the login, and says why', () => {
    const cases: [string, string][] = [
      [
        '  client_id: CLIENT ID HERE\n  client_secret: SECRETHERE\n  redirect_url: http://localhost:1293',
        'client_id is not an application id',
      ],
      ['  client_id: 928702343732658256\n  redirect_url: http://localhost:1293', 'client_secret is not set'],
      ['  client_id: 928702343732658256\n  client_secret:\n  redirect_url: http://localhost:1293', 'client_secret is not set'],
      [
        '  client_id: 928702343732658256\n  client_secret: SECRETHERE\n  redirect_url: REDIRECT URL HERE',
        'redirect_url is not an http(s) URL',
      ],
      [
        '  client_id: 928702343732658256\n  client_secret: SECRETHERE\n  redirect_url: localhost:1293',
        'redirect_url is not an http(s) URL',
      ],
      ['  client_id: 928702343732658256\n  client_secret: SECRETHERE\n  redirect_url: /confirm', 'redirect_url is not an http(s) URL'],
    ];
    for (const [keys, why] of cases) {
      const { config, warnings } = load(`allowed_ids: ["563808552288780322"]\noauth:\n${keys}`);
      expect(warnings).toEqual([`oauth: ${why}: log in with Discord is off (the token still works)`]);
      expect(oauthLogin(config)).toBeUndefined();
    }
  });

  it('given as anything but a mapping, refused', () => {
    expect(problems('oauth: true')).toEqual([
      'line 5: oauth: must be a mapping with client_id, client_secret, redirect_url, got a string of 4 characters',
    ]);
    expect(
      problems('oauth:\n  client_id: [928702343732658256]\n  client_secret: SECRETHERE\n  redirect_url: http://localhost:1293'),
    ).toEqual([expect.stringMatching(/^line 6: oauth\.client_id: must be the OAuth2 application id, got /)]);
  });
});

describe('secrets and the kinds of values told instead', () => {
  it('a secret key given a value of the wrong kind: the kind, not the value', () => {
    expect(problems('token: [a-secret-token]')).toEqual(['line 5: token: must be the bot token, a string, got a list']);
    expect(problems('token: {a: a-secret-token}')).toEqual(['line 5: token: must be the bot token, a string, got a mapping']);
    expect(problems('web: 12345678')).toEqual(['line 5: web: must be false, or a mapping with host, port, token, got a number']);
  });

  it('an empty value is told as such', () => {
    expect(problems('redis: ""\nweb:\n  token: ""')).toEqual([
      'line 7: web.token: must be at least 16 characters long, got a string of 0 characters',
    ]);
  });

  it('the scheme of a URL is no secret; what follows it is', () => {
    expect(problems('alerts:\n  webhook: ftp://x.example/secret-part')).toEqual([
      'line 6: alerts.webhook: must be an http(s) URL, got a string of 27 characters starting with ftp://',
    ]);
    // A scheme of more than 16 characters is not taken for one.
    expect(problems(`alerts:\n  webhook: ${'a'.repeat(17)}://x`)).toEqual([
      'line 6: alerts.webhook: must be an http(s) URL, got a string of 21 characters',
    ]);
  });

  it('hides every long enough secret value wherever it shows up, even under another key', () => {
    const secret = 'abcdefgh-secret';
    const found = problems(`token: ${secret}\nping_interval: ${secret}`);
    expect(found).toEqual(['line 6: ping_interval: must be a number of seconds greater than 0, got "***"']);
    // Shorter than 8 characters: no secret, and hiding it would garble the messages.
    expect(problems('token: short12\nping_interval: short12')).toEqual([
      'line 6: ping_interval: must be a number of seconds greater than 0, got "short12"',
    ]);
  });
});

describe('redact', () => {
  it('hides the user and password of a URL, keeps the rest', () => {
    expect(redact('redis://user:hunter2@127.0.0.1:6379/0')).toBe('redis://***@127.0.0.1:6379/0');
    expect(redact('connect to https://:pw@example.com and HTTP://a@b.c')).toBe('connect to https://***@example.com and HTTP://***@b.c');
    expect(redact('user:hunter2@host:6379')).toBe('***@host:6379');
  });

  it('leaves what has no credentials alone', () => {
    for (const text of ['redis://127.0.0.1:6379', 'https://example.com/a@b', 'mail me at a@b.c', 'plain text'])
      expect(redact(text)).toBe(text);
  });
});

describe('ConfigError', () => {
  it('names the file and lists every problem, one a line', () => {
    const error = new ConfigError('/etc/mewld.yaml', ['first', 'second']);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.file).toBe('/etc/mewld.yaml');
    expect(error.problems).toEqual(['first', 'second']);
    expect(error.message).toBe('/etc/mewld.yaml: invalid config\n  - first\n  - second');
  });
});

describe('loadConfig', () => {
  it('reads a file, in pieces when it is large', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-schema-'));
    const file = join(dir, 'config.yaml');
    // Over 64 KiB: more than one read.
    writeFileSync(file, `${minimal}# ${'x'.repeat(200_000)}\nping_interval: 7\n`);
    const loaded = loadConfig(file, {}, { checkLaunch: false });
    expect(loaded.file).toBe(file);
    expect(loaded.config.ping_interval).toBe(7);
  });

  it('says why a file cannot be read', () => {
    expect(() => loadConfig('/nonexistent/mewld/config.yaml', {})).toThrow(
      /^\/nonexistent\/mewld\/config\.yaml: invalid config\n {2}- cannot read the file: ENOENT/,
    );
  });
});

describe('warnings', () => {
  it('a ping_timeout of ten ping_intervals or more', () => {
    expect(load('ping_interval: 1\nping_timeout: 10').warnings).toEqual([
      'ping_timeout (10s) is much longer than ping_interval (1s): hung clusters will be noticed late',
    ]);
    expect(load('ping_interval: 1\nping_timeout: 9.9').warnings).toEqual([]);
  });

  it('a key mewld does not know, at the top level and in restart, web, alerts, oauth: its line, and the key likely meant', () => {
    const { config, warnings } = load(
      [
        'pign_timeout: 30',
        'restart:',
        '  max_restart: 10',
        'web:',
        '  prot: 8080',
        'alerts:',
        '  webhook: https://discord.com/api/webhooks/1/abc',
        '  formt: slack',
        'allowed_ids: ["563808552288780322"]',
        'oauth:',
        '  client_id: 928702343732658256',
        '  client_secret: SECRETHERE',
        '  redirect_url: http://localhost:1293',
        '  redirect_uri: http://localhost:1293/confirm',
        'Ping_Interval: 5',
      ].join('\n'),
    );
    expect(warnings).toEqual([
      'line 5: pign_timeout: not a key mewld knows, ignored; did you mean ping_timeout?',
      'line 7: restart.max_restart: not a key mewld knows, ignored; did you mean max_restarts?',
      'line 9: web.prot: not a key mewld knows, ignored; did you mean port?',
      'line 12: alerts.formt: not a key mewld knows, ignored; did you mean format?',
      'line 18: oauth.redirect_uri: not a key mewld knows, ignored; did you mean redirect_url?',
      'line 19: Ping_Interval: not a key mewld knows, ignored; did you mean ping_interval?',
    ]);
    // Ignored: what they meant to set keeps its default.
    expect(config).toMatchObject({ ping_timeout: 10, ping_interval: 15, restart: { max_restarts: 5 }, web: { port: 1293 } });
    expect(config.alerts?.format).toBe('discord');
    expect(config.oauth).not.toHaveProperty('redirect_uri');
  });

  it('a key far from every known one: no guess, and never its value', () => {
    expect(load('sentry_dsn: https://abcdef0123456789@o1.ingest.sentry.io/2\nshards: 16').warnings).toEqual([
      'line 5: sentry_dsn: not a key mewld knows, ignored',
      'line 6: shards: not a key mewld knows, ignored',
    ]);
  });

  it('resharding switches, which are ignored', () => {
    const warning = 'experimental_features and reshard_all are ignored: this supervisor does not reshard while running';
    expect(load('reshard_all: false').warnings).toEqual([warning]);
    expect(load('experimental_features: [x]').warnings).toEqual([warning]);
    expect(load('experimental_features: []').warnings).toEqual([]);
  });
});

describe('workDir', () => {
  it('dir under $HOME, or under the current directory, or override_dir as it is', () => {
    const { config } = load('');
    expect(workDir({ ...config, use_current_directory: false, dir: 'bot' }, '/home/u', '/srv')).toBe('/home/u/bot');
    expect(workDir({ ...config, use_current_directory: false, dir: undefined }, '/home/u', '/srv')).toBe('/home/u');
    expect(workDir({ ...config, use_current_directory: true, dir: undefined }, '/home/u', '/srv')).toBe('/srv');
    expect(workDir({ ...config, override_dir: 'rel/dir' }, '/home/u', '/srv')).toBe(join(process.cwd(), 'rel/dir'));
  });
});
