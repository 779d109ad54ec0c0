import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, MAX_CONFIG_BYTES, parseConfig } from './index.js';

/**
 * The edges of reading a config that mutation testing found unguarded
 * (docs/testing.md): exact limits, the shape of the document, the words of a
 * syntax error, what keeps login with Discord off. checkLaunch is off: the
 * file system is index.test.ts's business.
 */
const minimal = 'module: bot.js\nper_cluster: 2\nfixed_shard_count: 4\nuse_current_directory: true\n';

function problems(source: string): string[] {
  try {
    parseConfig(source, 'c.yaml', {}, { checkLaunch: false });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
}
/** The problems of a config, none if it is accepted. */
function problemsOf(source: string): string[] {
  try {
    parseConfig(source, 'c.yaml', {}, { checkLaunch: false });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}
const TOO_DEEP = expect.stringMatching(/nested more than/);
const load = (source: string) => parseConfig(source, 'c.yaml', {}, { checkLaunch: false });

describe('the document', () => {
  it.each([
    ['a list', '- module: bot.js\n- per_cluster: 2\n'],
    ['a bare word', 'module\n'],
    ['a number', '42\n'],
  ])('that is %s, not a mapping, is refused saying what a config is', (_name, source) => {
    expect(problems(source)).toEqual(['the file must be a mapping of keys to values (key: value)']);
  });

  it('an empty file is a mapping with nothing in it: what is required is named', () => {
    expect(problems('')).toEqual(expect.arrayContaining([expect.stringMatching(/^module: is required/)]));
  });

  it('without dir, override_dir or use_current_directory, says which keys would do', () => {
    expect(problems('module: bot.js\nper_cluster: 2\nfixed_shard_count: 4\n')).toEqual([
      'dir: is required (or set override_dir, or use_current_directory: true)',
    ]);
  });

  it('a syntax error names its line and column, once, without the parser\'s own "at line" suffix', () => {
    const [problem, ...rest] = problems(`${minimal}names: [Alpha, Beta\nping_interval: 3\n`);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^line \d+, column \d+: YAML syntax error: \S/);
    expect(problem).not.toMatch(/ at line \d+/);
  });

  it('a config of exactly 1 MiB is read; one byte more is refused, as text and as a file', () => {
    const padded = (size: number) => `${minimal}# ${'x'.repeat(size - minimal.length - 3)}\n`;
    expect(Buffer.byteLength(padded(MAX_CONFIG_BYTES))).toBe(MAX_CONFIG_BYTES);
    expect(load(padded(MAX_CONFIG_BYTES)).config.per_cluster).toBe(2);
    expect(problems(padded(MAX_CONFIG_BYTES + 1))).toEqual([expect.stringMatching(/^the document is larger than 1 MiB/)]);
    const dir = mkdtempSync(join(tmpdir(), 'mewld-edges-'));
    writeFileSync(join(dir, 'exact.yaml'), padded(MAX_CONFIG_BYTES));
    writeFileSync(join(dir, 'over.yaml'), padded(MAX_CONFIG_BYTES + 1));
    expect(loadConfig(join(dir, 'exact.yaml'), {}, { checkLaunch: false }).config.per_cluster).toBe(2);
    expect(() => loadConfig(join(dir, 'over.yaml'), {}, { checkLaunch: false })).toThrow(/the file is larger than 1 MiB/);
  });

  it('an env file over 1 MiB is refused, naming the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-edges-'));
    writeFileSync(join(dir, 'big.env'), `A=${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(() => parseConfig(`${minimal}env: [big.env]\n`, join(dir, 'config.yaml'), {}, { checkLaunch: false })).toThrow(
      /line 5: env\.0: the env file .*big\.env is larger than 1 MiB/,
    );
  });
});

describe('the depth, counted before parsing', () => {
  // The top-level mapping is one level: 63 brackets more make 64, the most allowed.
  it.each([
    ['flow sequences', (n: number) => `names: ${'['.repeat(n)}${']'.repeat(n)}`],
    ['flow mappings', (n: number) => `x-other: ${'{a: '.repeat(n)}1${'}'.repeat(n)}`],
  ])('%s: 64 levels are read, 65 refused on their line', (_name, nest) => {
    // Read (and then refused for what it holds, which is not the point here), not refused for its depth.
    expect(problemsOf(`${minimal}${nest(63)}\n`)).not.toContainEqual(TOO_DEEP);
    expect(problems(`${minimal}${nest(64)}\n`)).toEqual(['line 5: the document is nested more than 64 levels deep']);
  });

  it('closing brackets end levels: many shallow lists side by side are no deeper than one', () => {
    const wide = Array.from({ length: 100 }, () => '[[1]]').join(', ');
    expect(() => load(`${minimal}x-wide: [${wide}]\n`)).not.toThrow();
  });

  it('a sequence of sequences by indentation counts each `- `', () => {
    const nested = (n: number) => `x-deep:\n${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}- `).join('\n')}x\n`;
    // The top level, then one per `- ` line: 63 lines make 64 levels.
    expect(() => load(`${minimal}${nested(63)}`)).not.toThrow();
    expect(problems(`${minimal}${nested(64)}`)).toEqual([`line ${4 + 1 + 64}: the document is nested more than 64 levels deep`]);
  });
});

describe('what keeps Log in with Discord off', () => {
  const oauth = (fields: string) => load(`${minimal}allowed_ids: ["1"]\noauth:\n${fields}`).warnings;
  it.each([
    [
      'a client_id with letters after the digits',
      '  client_id: 123abc\n  client_secret: s\n  redirect_url: https://a.example\n',
      'client_id',
    ],
    [
      'a client_id with letters before the digits',
      '  client_id: abc123\n  client_secret: s\n  redirect_url: https://a.example\n',
      'client_id',
    ],
    ['no client_secret', '  client_id: 1\n  redirect_url: https://a.example\n', 'client_secret'],
    [
      'a redirect_url that only contains a URL',
      '  client_id: 1\n  client_secret: s\n  redirect_url: see https://a.example\n',
      'redirect_url',
    ],
    ['a redirect_url with no host', '  client_id: 1\n  client_secret: s\n  redirect_url: "https:///path"\n', 'redirect_url'],
  ])('%s', (_name, fields, key) => {
    expect(oauth(fields)).toEqual([expect.stringMatching(new RegExp(`^oauth: ${key} .*: log in with Discord is off`))]);
  });

  it('a complete one gives no warning', () => {
    expect(oauth('  client_id: 1\n  client_secret: s\n  redirect_url: https://a.example\n')).toEqual([]);
  });

  it('proxy and discord_url must start with http(s)://, not merely contain it', () => {
    expect(problems(`${minimal}proxy: ftp://host/https://x\n`)).toEqual([
      expect.stringMatching(/^line 5: proxy: must be an http\(s\) URL/),
    ]);
  });
});

describe('secrets in refusals', () => {
  it('a web token given as a number is described as a number, never shown', () => {
    const [problem] = problems(`${minimal}web:\n  token: 98765432109876543210\n`);
    expect(problem).toMatch(/web\.token: must be .*, got a number$/);
    expect(problem).not.toContain('9876543210');
  });
});
