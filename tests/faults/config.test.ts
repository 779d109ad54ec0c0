import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI, FIXTURES, readEvents } from '../helpers/supervisor.js';

/**
 * Configs no supervisor should start on, given to the real CLI: each must be
 * refused at once with exit code 2 and a line the operator can act on, never
 * a stack trace, never a secret, and nothing launched. A supervisor that does
 * start is stopped (SIGTERM) after the timeout, which fails the test.
 */
function mewld(config: Record<string, unknown> | string) {
  const dir = mkdtempSync(join(tmpdir(), 'mewld-fault-config-'));
  const text =
    typeof config === 'string'
      ? config
      : stringify({
          // As runSupervisor writes them: the Node fixture cluster, no Discord, no web server.
          override_dir: FIXTURES,
          module: 'cluster.mjs',
          interp: 'node',
          fixed_shard_count: 2,
          per_cluster: 1,
          web: false,
          ...config,
        });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  const eventsFile = join(dir, 'events.jsonl');
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, '--config', file], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 10_000,
    killSignal: 'SIGTERM',
    env: { ...process.env, FIXTURE_LOG: eventsFile, MTOKEN: '', MEWLD_WEB_TOKEN: '', XDG_RUNTIME_DIR: dir },
  });
  return {
    ...result,
    ms: performance.now() - started,
    output: `${result.stdout}${result.stderr}`,
    /** The line of the file that `key:` starts. */
    lineOf: (key: string) => text.split('\n').findIndex((l) => l.startsWith(`${key}:`)) + 1,
    launched: () => readEvents(eventsFile).length > 0 || /cluster process/.test(`${result.stdout}${result.stderr}`),
  };
}

/** Refused as a bad config: exit 2, the problems only, on stderr, before anything started. */
function expectRefused(run: ReturnType<typeof mewld>) {
  expect(run.status, run.output).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^mewld: .*config\.yaml: invalid config\n/);
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(run.launched()).toBe(false);
}

describe('mewld refuses a bad config with exit 2 and nothing started', () => {
  it('secrets of the wrong type or form are described, never shown', () => {
    const secrets = {
      token: 'MTIzNDU2Nzg5MDEy.Gsecret.bot-token-in-a-list',
      web: 'web-secret-xyz',
      alerts: 'ftp://hooks.example.com/SECRET-HOOK-PATH',
      redis: 'SECRET-REDIS-PW',
      oauth: 'SECRET-OAUTH-CLIENT',
    };
    const run = mewld({
      token: [secrets.token],
      web: { token: secrets.web },
      alerts: { webhook: secrets.alerts },
      redis: { url: `redis://:${secrets.redis}@127.0.0.1:6379` },
      oauth: secrets.oauth,
    });
    expectRefused(run);
    for (const secret of Object.values(secrets)) expect(run.output).not.toContain(secret);
    // A value written as a block starts on the line after its key.
    expect(run.stderr).toContain(`line ${run.lineOf('token') + 1}: token: must be the bot token, a string, got a list`);
    expect(run.stderr).toContain(
      `line ${run.lineOf('web') + 1}: web.token: must be at least 16 characters long, got a string of 14 characters`,
    );
    expect(run.stderr).toContain(`line ${run.lineOf('alerts') + 1}: alerts.webhook: must be an http(s) URL, got a string of 40 characters`);
    expect(run.stderr).toContain(`line ${run.lineOf('redis') + 1}: redis: must be a Redis address`);
    expect(run.stderr).toContain(
      `line ${run.lineOf('oauth')}: oauth: must be a mapping with client_id, client_secret, redirect_url, got a string of 19 characters`,
    );
  });

  it('an alias bomb: one clear line, at once', () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 9; i++)
      bomb += `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
        .fill(`*${'abcdefghi'[i - 1]}`)
        .join(',')}]\n`;
    const run = mewld(`override_dir: ${FIXTURES}\nmodule: cluster.mjs\ninterp: node\nfixed_shard_count: 2\nper_cluster: 1\n${bomb}`);
    expectRefused(run);
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/invalid config$/),
      expect.stringMatching(/^ {2}- the document expands aliases \(\*name\) more than 100 times/),
    ]);
    expect(run.ms).toBeLessThan(2_000);
  });

  it('a module that does not exist', () => {
    const run = mewld({ module: 'no-such-cluster.mjs' });
    expectRefused(run);
    expect(run.stderr).toContain(`line ${run.lineOf('module')}: module: ${join(FIXTURES, 'no-such-cluster.mjs')} does not exist`);
  });

  it('a working directory that does not exist', () => {
    const missing = join(FIXTURES, 'no-such-directory');
    const run = mewld({ override_dir: missing });
    expectRefused(run);
    expect(run.stderr).toContain(`line ${run.lineOf('override_dir')}: override_dir: the working directory ${missing} does not exist`);
  });

  it('an interp that is not a program (interp: nodee)', () => {
    const run = mewld({ interp: 'nodee' });
    expectRefused(run);
    expect(run.stderr).toContain(`line ${run.lineOf('interp')}: interp: nodee is not a program found in PATH`);
  });
});
