import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../helpers/supervisor.js';

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
    expect(result.stderr).toMatch(/Unknown option '--frobnicate'/);
  });

  it('a bad config is refused before anything starts: exit 2, one line per problem naming key and line', () => {
    const result = mewld([], 'dir: bot\nmodule: c.js\nper_cluster: 0\nping_interval: 0\nnames: []\ncolour: blue\n');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('config.yaml: invalid config');
    expect(result.stderr).toMatch(/line 3: per_cluster: must be shards per cluster: an integer, 1 or more, got 0/);
    expect(result.stderr).toMatch(/line 4: ping_interval: must be a number of seconds greater than 0, got 0/);
    expect(result.stderr).toMatch(/line 5: names: must hold at least one cluster name/);
    expect(result.stderr).toMatch(/line 6: colour: unknown key; allowed keys are/);
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
