import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { expand as expandDotenv } from 'dotenv-expand';
import { CST, Lexer, LineCounter, isMap, isScalar, parseDocument, type Node as YamlNode } from 'yaml';
import * as v from 'valibot';

/**
 * config.yaml: the Go mewld's keys with their meaning kept (docs/configuration.md), plus the
 * keys this project adds. Every field says what it allows in its error text, so
 * that a refused config tells the operator what to write instead.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * A URL with its user name and password hidden: errors and logs are read by
 * more people than the config, and end up in bug reports.
 */
export function redact(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1***@').replace(/^[^\s/?#@:]*:[^\s/?#@]*@/, '***@');
}

const show = (value: unknown) =>
  value === undefined ? 'nothing' : JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? redact(item) : item));

/**
 * What kind of value was given, without the value: for the keys that hold a
 * secret or may carry one (see secretPaths), whose errors must not repeat it.
 */
function kind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    // The scheme says why a URL was refused (ftp:// for an http(s) webhook) and is no secret.
    const scheme = /^[a-z][a-z0-9+.-]{0,15}:\/\//i.exec(value)?.[0];
    return `a string of ${value.length} characters${scheme ? ` starting with ${scheme}` : ''}`;
  }
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

/** An error message that says what is allowed and what was given. */
const must = (rule: string) => (issue: { input: unknown }) => `must be ${rule}, got ${show(issue.input)}`;
/** The same for a secret: what kind of value was given, never the value. */
const mustSecret = (rule: string) => (issue: { input: unknown }) => `must be ${rule}, got ${kind(issue.input)}`;

function seconds(allowed: 'positive' | 'nonnegative') {
  const rule = allowed === 'positive' ? 'a number of seconds greater than 0' : 'a number of seconds, 0 or more';
  return v.pipe(v.number(must(rule)), allowed === 'positive' ? v.gtValue(0, must(rule)) : v.minValue(0, must(rule)));
}

function count(min: number, what: string, max = Number.MAX_SAFE_INTEGER) {
  const rule = max === Number.MAX_SAFE_INTEGER ? `${what}: an integer, ${min} or more` : `${what}: an integer from ${min} to ${max}`;
  return v.pipe(v.number(must(rule)), v.integer(must(rule)), v.minValue(min, must(rule)), v.maxValue(max, must(rule)));
}

function fraction(rule: string, above0 = false) {
  return v.pipe(v.number(must(rule)), above0 ? v.gtValue(0, must(rule)) : v.minValue(0, must(rule)), v.maxValue(1, must(rule)));
}

const text = (what: string, message = must) => v.string(message(what));
const httpUrl = () =>
  v.pipe(
    text('an http(s) URL'),
    v.check((url) => /^https?:\/\/[^\s/]/i.test(url) && URL.canParse(url), must('an http(s) URL')),
  );
const nonEmpty = (what: string, empty: string) => v.pipe(text(what), v.minLength(1, empty));
const flag = () => v.boolean(must('true or false'));
const list = <T extends v.GenericSchema>(item: T, what: string) => v.array(item, must(what));

const restartFields = v.strictObject(
  {
    backoff_initial: v.optional(seconds('nonnegative'), 1),
    backoff_factor: v.optional(v.pipe(v.number(must('a number, 1 or more')), v.minValue(1, must('a number, 1 or more'))), 2),
    backoff_max: v.optional(seconds('nonnegative'), 60),
    jitter: v.optional(fraction('a fraction from 0 to 1'), 0.2),
    reset_after: v.optional(seconds('positive'), 60),
    max_restarts: v.optional(count(1, 'restarts'), 5),
    within: v.optional(seconds('positive'), 60),
    no_restart_exit_codes: v.optional(list(count(0, 'an exit code', 255), 'a list of exit codes'), []),
    fleet_crash_ratio: v.optional(fraction('a fraction above 0, at most 1 (1 turns fleet protection off)', true), 0.5),
    fleet_window: v.optional(seconds('positive'), 30),
    fleet_pause: v.optional(seconds('positive'), 30),
  },
  must('a mapping of restart settings'),
);

/** How a stderr line is logged: `auto` at warn when it looks like an error, else at info (docs/operations.md, cluster output). */
export const STDERR_LEVELS = ['auto', 'info', 'warn'] as const;

const logsFields = v.strictObject(
  {
    // Each cluster's last lines, for `mewld logs` and the API; a line is cut at 16 KiB, so 1000 lines cost 16 MiB at most.
    lines: v.optional(count(1, 'lines', 100_000), 1000),
    stderr: v.optional(v.picklist(STDERR_LEVELS, must(STDERR_LEVELS.join(', '))), 'auto'),
  },
  must('a mapping with lines, stderr'),
);

const webFields = v.strictObject(
  {
    host: v.optional(text('a host name or address to listen on'), '127.0.0.1'),
    port: v.optional(count(0, 'a TCP port (0 picks a free one)', 65535), 1293),
    token: v.optional(
      v.pipe(
        text('the token of the web API', mustSecret),
        v.minLength(16, (issue) => `must be at least 16 characters long, got ${kind(issue.input)}`),
      ),
    ),
    /** A WebSocket client that falls this far behind is dropped (it reconnects). */
    max_client_buffer: v.optional(count(1024, 'bytes'), 1 << 20),
  },
  mustSecret('false, or a mapping with host, port, token'),
);

const ALERT_EVENTS = ['cluster_failed', 'fleet_paused', 'sessions_low'];

const alertFields = v.strictObject(
  {
    // A webhook URL carries its own token (Discord's and Slack's do, in the path).
    webhook: v.pipe(
      text('an http(s) URL', mustSecret),
      v.url(mustSecret('an http(s) URL')),
      v.regex(/^https?:\/\//i, mustSecret('an http(s) URL')),
    ),
    format: v.optional(v.picklist(['discord', 'slack', 'json'], must('discord, slack or json')), 'discord'),
    events: v.optional(list(nonEmpty('an action log event', 'an event name cannot be empty'), 'a list of action log events'), ALERT_EVENTS),
    name: v.optional(nonEmpty('a name', 'must not be empty'), 'mewld'),
  },
  mustSecret('a mapping with webhook, and optionally format, events, name'),
);

/**
 * Log in with Discord (docs/http-api.md, logging in): the Go version's oauth keys, and where Discord is.
 * Its sample config ships placeholders ("REDIRECT URL HERE"): a config with them starts, without the login (oauthLogin).
 */
const oauthFields = v.strictObject(
  {
    client_id: v.optional(text('the OAuth2 application id')),
    client_secret: v.optional(text('the OAuth2 client secret', mustSecret)),
    // Where Discord sends the browser back: this server's address as the browser sees it (/confirm is added, as the Go version did).
    redirect_url: v.optional(text('an http(s) URL')),
    // Only a test changes it: a local stand-in for Discord's OAuth2.
    discord_url: v.optional(httpUrl(), 'https://discord.com'),
  },
  mustSecret('a mapping with client_id, client_secret, redirect_url'),
);

export const configSchema = v.strictObject({
  token: v.optional(text('the bot token, a string', mustSecret)),
  dir: v.optional(text('a directory under $HOME')),
  override_dir: v.optional(text('a directory path')),
  use_current_directory: v.optional(flag(), false),
  env: v.optional(list(text('a file path'), 'a list of env file paths'), []),
  names: v.optional(
    v.pipe(
      list(nonEmpty('a cluster name', 'a cluster name cannot be empty'), 'a list of cluster names'),
      v.minLength(1, 'must hold at least one cluster name (or leave the key out for generated names)'),
      v.check((names) => new Set(names).size === names.length, 'cluster names must be unique'),
    ),
  ),
  // A Redis URL may hold a password (redis://:password@host).
  redis: v.optional(text('a Redis address such as redis://127.0.0.1:6379 or 127.0.0.1:6379', mustSecret)),
  redis_channel: v.optional(nonEmpty('a channel name', 'must not be empty'), 'mewld'),
  // Strings: an id written as a number is read as its text (goRead), never rounded to a float.
  allowed_ids: v.optional(
    list(v.pipe(text('a Discord user id'), v.regex(/^\d{1,20}$/, must('a Discord user id'))), 'a list of Discord user ids'),
    [],
  ),
  oauth: v.optional(oauthFields),
  // Serve the API without the bundled dashboard (the Go version's switch for mewld-ui).
  use_custom_webui: v.optional(flag(), false),
  // The Go version's resharding switches: accepted so that its configs load, then ignored.
  experimental_features: v.optional(list(text('a feature name'), 'a list of feature names')),
  reshard_all: v.optional(flag()),
  ping_interval: v.optional(seconds('positive'), 15),
  ping_timeout: v.optional(seconds('positive'), 10),
  cluster_start_next_delay: v.optional(seconds('nonnegative'), 5),
  identify_window: v.optional(seconds('positive'), 5),
  per_cluster: count(1, 'shards per cluster'),
  minimum_safe_sessions_remaining: v.optional(count(0, 'sessions'), 5),
  max_concurrency: v.optional(count(1, 'identify buckets')),
  fixed_shard_count: v.optional(count(1, 'shards')),
  proxy: v.optional(httpUrl()),
  module: nonEmpty('the cluster program, a path relative to the working directory', 'must name the cluster program'),
  interp: v.optional(text('an interpreter command such as node or python3')),
  // Keys new in this project.
  launch_timeout: v.optional(seconds('positive'), 300),
  kill_timeout: v.optional(seconds('positive'), 10),
  gateway_timeout: v.optional(seconds('positive'), 15),
  bus_reconnect_grace: v.optional(seconds('nonnegative'), 10),
  action_log_max: v.optional(count(1, 'entries'), 1000),
  // How often the charts' figures are sampled; they keep the last hour (at most 3,600 samples).
  history_interval: v.optional(seconds('positive'), 30),
  log_level: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)),
  restart: v.optional(restartFields, {}),
  logs: v.optional(logsFields, {}),
  // false, or the mapping: chosen by the value, so that a mistake inside the mapping is reported as itself.
  web: v.optional(
    v.lazy((input) => (input === false ? v.literal(false) : webFields)),
    {},
  ),
  alerts: v.optional(alertFields),
});

export type Config = v.InferOutput<typeof configSchema>;
export type RestartPolicy = Config['restart'];

/** A config that cannot be used; exits the CLI with code 2 before anything starts. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid config\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadedConfig {
  config: Config;
  /** Variables read from the `env` files, passed to every cluster. */
  env: Record<string, string>;
  /** Where the config was read from, for messages. */
  file: string;
  /** Things the operator should know that do not stop the start. */
  warnings: string[];
}

export interface ConfigOptions {
  /**
   * Whether to check, on this machine, what the launcher will run (the working
   * directory, interp, module). True unless the config is read only to reach a
   * running supervisor, perhaps from another account that cannot see its files.
   */
  checkLaunch?: boolean;
}

/** Far above any real config (a few kilobytes), far below what takes long to parse. */
export const MAX_CONFIG_BYTES = 1 << 20;
/**
 * A config is three levels deep. The yaml parser recurses once a level: a few
 * hundred overflow its stack, and a megabyte of `[` takes it seconds.
 */
const MAX_DEPTH = 64;
/**
 * Alias expansions allowed, as the yaml package counts them (uses times the
 * aliases inside what they point to): plenty for a config, and a "billion
 * laughs" document, whose aliases point to aliases, stops at once.
 */
const MAX_ALIASES = 100;
const TOO_LARGE = 'is larger than 1 MiB; a config is a few kilobytes: is this the right file?';

/** A problem found in a config, with the line it is on when it is on one. */
interface Problem {
  line?: number | undefined;
  column?: number | undefined;
  text: string;
}

/** Throws a ConfigError with the problems sorted by line (those of no line last), secrets hidden. */
function refuse(file: string, problems: Problem[], secrets: string[] = []): never {
  const sorted = [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  throw new ConfigError(
    file,
    sorted.map(({ line, column, text }) => {
      const where = line === undefined ? '' : `line ${line}${column === undefined ? '' : `, column ${column}`}: `;
      return secrets.reduce((shown, secret) => shown.split(secret).join('***'), `${where}${text}`);
    }),
  );
}

/** Reads, parses and validates a config file; throws ConfigError with every problem found. */
export function loadConfig(file: string, processEnv: NodeJS.ProcessEnv = process.env, options: ConfigOptions = {}): LoadedConfig {
  let source: string | undefined;
  try {
    source = readBounded(file, MAX_CONFIG_BYTES);
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  if (source === undefined) throw new ConfigError(file, [`the file ${TOO_LARGE}`]);
  return parseConfig(source, file, processEnv, options);
}

/**
 * The text of a file, or undefined if it is longer than `max` bytes. Read in
 * steps rather than trusting its size: a pipe or a device (/dev/zero) has none.
 */
function readBounded(file: string, max: number): string | undefined {
  const fd = openSync(file, 'r');
  try {
    if (fstatSync(fd).size > max) return undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return Buffer.concat(chunks).toString('utf8');
      total += n;
      if (total > max) return undefined;
      chunks.push(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

export function parseConfig(
  source: string,
  file: string,
  processEnv: NodeJS.ProcessEnv = process.env,
  options: ConfigOptions = {},
): LoadedConfig {
  const lineCounter = new LineCounter();
  const { doc, raw: written } = readDocument(source, file, lineCounter);
  const secrets = secretValues(written);
  const lineOf = (path: PropertyKey[], isKey = false) => {
    const node = nodeAt(doc.contents, path, isKey);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const { raw, warnings } = goRead(written, (path) => nodeAt(doc.contents, path, false), lineOf);

  const parsed = v.safeParse(configSchema, raw, { abortEarly: false });
  if (!parsed.success) {
    const problems = parsed.issues.map((issue): Problem => {
      const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
      const name = path.join('.') || '(top level)';
      if (issue.type === 'strict_object' && issue.expected === 'never') {
        return { line: lineOf(path, true), text: `${name}: unknown key; allowed keys are ${allowedKeys(path.slice(0, -1)).join(', ')}` };
      }
      if (issue.type === 'strict_object' && issue.expected !== 'Object') {
        // A required key is missing: say what it would have allowed.
        const field = entriesAt(path.slice(0, -1))[String(path.at(-1))];
        const allowed = field ? v.safeParse(field, undefined).issues?.[0]?.message.replace(/, got nothing$/, '') : undefined;
        return { text: `${name}: is required${allowed ? ` (${allowed})` : ''}` };
      }
      const message = /got nothing$/.test(issue.message) ? `is required (${issue.message.replace(/, got nothing$/, '')})` : issue.message;
      return { line: lineOf(path), text: `${name}: ${message}` };
    });
    refuse(file, problems, secrets);
  }

  const config = parsed.output;
  const baseDir = dirname(resolve(file));
  const env: Record<string, string> = {};
  const problems: Problem[] = [];
  config.env.forEach((envFile, i) => {
    const line = lineOf(['env', i]);
    // Relative to the config file; the Go version read them relative to its working directory, so that works too.
    const candidates = isAbsolute(envFile) ? [envFile] : [resolve(baseDir, envFile), resolve(envFile)];
    const path = candidates.find((c) => existsSync(c));
    if (path === undefined) {
      problems.push({ line, text: `env.${i}: the env file ${candidates[0]} does not exist` });
      return;
    }
    try {
      const text = readBounded(path, MAX_CONFIG_BYTES);
      if (text === undefined) problems.push({ line, text: `env.${i}: the env file ${path} ${TOO_LARGE}` });
      else addEnvFile(env, text, processEnv);
    } catch (err) {
      problems.push({ line, text: `env.${i}: cannot read the env file ${path}: ${(err as Error).message}` });
    }
  });

  // An empty MTOKEN counts as unset, as an empty token would be refused by Discord anyway.
  if (config.web && processEnv.MEWLD_WEB_TOKEN) config.web.token = processEnv.MEWLD_WEB_TOKEN;
  // The Go version set MTOKEN from the config before reading the env files, which never override: theirs never counts.
  delete env.MTOKEN;
  const token = processEnv.MTOKEN || config.token;
  if (token !== undefined) config.token = token;
  if (config.fixed_shard_count === undefined && !config.token) {
    problems.push({ text: 'token: is required to ask Discord for the shard count (set token, or MTOKEN, or fixed_shard_count)' });
  }
  if (config.override_dir === undefined && config.dir === undefined && !config.use_current_directory) {
    problems.push({ text: 'dir: is required (or set override_dir, or use_current_directory: true)' });
  } else if (options.checkLaunch !== false) {
    problems.push(...launchProblems(config, env, processEnv, lineOf));
  }
  if (problems.length > 0) refuse(file, problems, secrets);

  if (config.oauth !== undefined) {
    const why = oauthIncomplete(config.oauth);
    if (why) warnings.push(`oauth: ${why}: log in with Discord is off (the token still works)`);
    else if (config.allowed_ids.length === 0) warnings.push('oauth is set but allowed_ids is empty: nobody can log in with Discord');
  }
  if (config.experimental_features?.length || config.reshard_all !== undefined) {
    warnings.push('experimental_features and reshard_all are ignored: this supervisor does not reshard while running');
  }
  if (config.ping_timeout >= config.ping_interval * 10) {
    warnings.push(
      `ping_timeout (${config.ping_timeout}s) is much longer than ping_interval (${config.ping_interval}s): hung clusters will be noticed late`,
    );
  }
  return { config, env, file, warnings };
}

/** Keys whose value is a string in the Go struct (config.go): a number or true written there is its text, as yaml.v3 reads it. */
const GO_STRINGS = new Set(['token', 'dir', 'override_dir', 'redis', 'redis_channel', 'module', 'interp', 'proxy', 'oauth']);
const GO_STRING_LISTS = new Set(['names', 'env', 'allowed_ids', 'experimental_features']);

/**
 * The config as the Go version read it (yaml.v3 into its struct), made ready
 * for the schema: a key with no value (`override_dir:`) is absent, so its
 * default applies; a number where a string belongs is read as written
 * (`client_id: 999908791061594194` would lose digits as a float); a key
 * nobody knows is a warning that says where it is and what was likely meant,
 * not a refusal, so that a Go config with leftovers starts.
 */
function goRead(
  written: object,
  nodeOf: (path: PropertyKey[]) => YamlNode | undefined,
  lineOf: (path: PropertyKey[], isKey?: boolean) => number | undefined,
): { raw: Record<string, unknown>; warnings: string[] } {
  const warnings: string[] = [];
  const asWritten = (value: unknown, path: PropertyKey[]) => {
    if (typeof value !== 'number' && typeof value !== 'boolean') return value;
    const node = nodeOf(path);
    return isScalar(node) && typeof node.source === 'string' ? node.source : String(value);
  };
  const read = (mapping: Record<string, unknown>, at: string[]): Record<string, unknown> => {
    const known = allowedKeys(at);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(mapping)) {
      const path = [...at, key];
      if (!known.includes(key)) {
        const line = lineOf(path, true);
        const near = nearest(key, known);
        warnings.push(
          `${line === undefined ? '' : `line ${line}: `}${path.join('.')}: not a key mewld knows, ignored${near ? `; did you mean ${near}?` : ''}`,
        );
        continue;
      }
      if (value === null) continue;
      const nested = at.length === 0 && NESTED.has(key) && typeof value === 'object' && !Array.isArray(value);
      if (nested) out[key] = read(value as Record<string, unknown>, [key]);
      else if (at.length === 0 && GO_STRING_LISTS.has(key) && Array.isArray(value))
        out[key] = value.map((item, i) => asWritten(item, [key, i]));
      else if (GO_STRINGS.has(at[0] ?? key)) out[key] = asWritten(value, path);
      else out[key] = value;
    }
    return out;
  };
  return { raw: read(written as Record<string, unknown>, []), warnings };
}

/** The known key a misspelt one most likely meant: the closest by edit distance, if close enough. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * One env file, read as the Go version's godotenv read it (quotes, `export`,
 * comments, multi-line values, ${VAR} expanded from the file itself, then
 * from the environment), added where nothing has set the key yet: the
 * supervisor's environment beats every file, and the first file beats the
 * later ones.
 */
function addEnvFile(env: Record<string, string>, text: string, processEnv: NodeJS.ProcessEnv) {
  const parsed = parseDotenv(text);
  const lookup: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...processEnv, ...env }))
    if (value !== undefined && !Object.hasOwn(parsed, key)) lookup[key] = value;
  const expanded = expandDotenv({ parsed, processEnv: lookup }).parsed ?? parsed;
  for (const [key, value] of Object.entries(expanded)) {
    if (processEnv[key] === undefined && !Object.hasOwn(env, key)) env[key] = value;
  }
}

/**
 * The YAML document and its plain value. Whatever goes wrong on the way is a
 * ConfigError: an exception of the yaml package would end the CLI with a
 * stack trace and exit code 1, as if the supervisor had a bug.
 */
function readDocument(source: string, file: string, lineCounter: LineCounter) {
  // parseConfig is also called with text that did not come through loadConfig.
  if (Buffer.byteLength(source, 'utf8') > MAX_CONFIG_BYTES) {
    refuse(file, [{ text: `the document ${TOO_LARGE}` }]);
  }
  const deep = tooDeep(source);
  if (deep !== undefined) refuse(file, [{ line: deep, text: `the document is nested more than ${MAX_DEPTH} levels deep` }]);
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(source, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    refuse(file, [{ text: `cannot parse the YAML: ${(err as Error).message}` }]);
  }
  if (doc.errors.length > 0) {
    refuse(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { line: pos?.line, column: pos?.col, text: `YAML syntax error: ${message}` };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? {};
  } catch (err) {
    const aliases = err instanceof ReferenceError && /alias count/i.test(err.message);
    refuse(file, [
      {
        text: aliases
          ? `the document expands aliases (*name) more than ${MAX_ALIASES} times, as a "billion laughs" attack does; write the values out instead`
          : `cannot read the YAML document: ${(err as Error).message}`,
      },
    ]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    refuse(file, [{ text: 'the file must be a mapping of keys to values (key: value)' }]);
  }
  return { doc, raw };
}

/**
 * The first line on which the document is nested deeper than MAX_DEPTH, found
 * with the yaml lexer (which knows quotes, comments and block scalars) before
 * the parser spends seconds on it. Block levels are counted by indentation and
 * by the `- ` and `? ` on a line, flow levels by brackets: a little more than
 * the depth, never less.
 */
function tooDeep(source: string): number | undefined {
  let line = 1;
  let flow = 0;
  let indicators = 0; // `- ` and `? ` on this line
  let indent = 0;
  let lineStart = true;
  let scalar = false;
  const levels: number[] = []; // the indentation of each open block level
  for (const token of new Lexer().lex(source)) {
    // The token after a scalar marker is the scalar's text, whatever it looks like.
    const type = scalar ? 'scalar' : CST.tokenType(token);
    scalar = token === CST.SCALAR;
    if (scalar) continue;
    if (type === 'newline') {
      line++;
      [indicators, indent, lineStart] = [0, 0, true];
      continue;
    }
    if (type === 'space' && lineStart) indent = token.length;
    if (type === 'space' || type === 'comment' || type === 'doc-mode' || type === 'byte-order-mark' || type === 'flow-error-end') continue;
    if (lineStart && flow === 0) {
      while (levels.length > 0 && levels.at(-1)! >= indent) levels.pop();
      levels.push(indent);
    }
    lineStart = false;
    if (type === 'doc-start') levels.length = flow = 0;
    else if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    else if ((type === 'seq-item-ind' || type === 'explicit-key-ind') && flow === 0) indicators++;
    if (levels.length + indicators + flow > MAX_DEPTH) return line;
    line += token.split('\n').length - 1;
  }
  return undefined;
}

/**
 * The secrets of a config as written, hidden from every problem as a last
 * guard: the messages above say what kind of value a secret key was given,
 * never the value, but valibot's own messages (a key added later without one)
 * would show it. Short strings are left alone: they are no secret, and hiding
 * them would garble the messages.
 */
function secretValues(raw: unknown): string[] {
  const at = (path: string[]) =>
    path.reduce<unknown>(
      (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      raw,
    );
  const found: string[] = [];
  const collect = (value: unknown, depth: number) => {
    if (typeof value === 'string' || typeof value === 'number') found.push(String(value));
    else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH)
      for (const item of Object.values(value)) collect(item, depth + 1);
  };
  for (const path of secretPaths) collect(at(path), 0);
  // web and alerts given as a string, perhaps the token or the webhook itself.
  for (const key of ['web', 'alerts']) if (typeof at([key]) !== 'object') collect(at([key]), 0);
  return found.filter((s) => s.length >= 8);
}

/** The keys that hold a secret, or may: a password in a Redis URL, an OAuth client secret. */
const secretPaths = [['token'], ['web', 'token'], ['alerts', 'webhook'], ['redis'], ['oauth']];

/**
 * What the launcher will run (launchCommand and executable() in
 * adapters/clusterProcess.ts), checked now, while the operator reads the
 * answer: a missing module or a misspelt interp would otherwise start the
 * supervisor, fail every launch and retry it every few seconds, with an ENOENT
 * that names the interpreter rather than the missing file.
 */
function launchProblems(
  config: Config,
  env: Record<string, string>,
  processEnv: NodeJS.ProcessEnv,
  lineOf: (path: PropertyKey[]) => number | undefined,
): Problem[] {
  const dir = workDir(config, processEnv.HOME);
  const dirKey = config.override_dir ? 'override_dir' : config.dir !== undefined ? 'dir' : 'use_current_directory';
  const dirProblem = pathProblem(dir, 'directory');
  // Nothing under a working directory that is not there can be found either.
  if (dirProblem) return [{ line: lineOf([dirKey]), text: `${dirKey}: the working directory ${dir} ${dirProblem}` }];

  // Clusters get the supervisor's environment over the env files' (supervisor.ts); execvp searches its default without a PATH.
  const path = processEnv.PATH ?? env.PATH ?? '/usr/bin:/bin';
  const moduleLine = lineOf(['module']);
  // interp may carry flags ("node --enable-source-maps"): its first word is the program.
  const program = config.interp?.trim().split(/\s+/)[0];
  if (program) {
    const problems: Problem[] = [];
    const line = lineOf(['interp']);
    if (program.includes('/')) {
      const found = resolve(dir, program);
      const problem = pathProblem(found, 'executable');
      if (problem) problems.push({ line, text: `interp: ${program} (${found}) ${problem}` });
    } else if (findInPath(program, path, dir) === undefined) {
      problems.push({ line, text: `interp: ${program} is not a program found in PATH (${path})` });
    }
    const script = join(dir, config.module);
    const problem = pathProblem(script, 'readable');
    if (problem) problems.push({ line: moduleLine, text: `module: ${script} ${problem}` });
    return problems;
  }

  // Without interp the module is the program: a path relative to the working directory, or a bare name looked up there, then in PATH.
  const hint = /\.[cm]?js$/.test(config.module) ? ' (interp: node)' : /\.py$/.test(config.module) ? ' (interp: python3)' : '';
  if (!isAbsolute(config.module) && !config.module.includes('/') && !existsSync(join(dir, config.module))) {
    return findInPath(config.module, path, dir) === undefined
      ? [
          {
            line: moduleLine,
            text: `module: ${config.module} is neither in the working directory ${dir} nor a program found in PATH (${path}); a script needs interp${hint}`,
          },
        ]
      : [];
  }
  const executablePath = isAbsolute(config.module) ? config.module : resolve(dir, config.module);
  const problem = pathProblem(executablePath, 'executable');
  if (!problem) return [];
  return [
    {
      line: moduleLine,
      text: `module: ${executablePath} ${problem}${problem === 'is not executable' ? `: set interp${hint}, or make it executable` : ''}`,
    },
  ];
}

/** What stops `path` from being used as `need`, in words; undefined if nothing does. */
function pathProblem(path: string, need: 'directory' | 'readable' | 'executable'): string | undefined {
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    // A file where a directory was expected on the way (ENOTDIR), a loop of links, a NUL in the name.
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOTDIR' ? 'does not exist' : `cannot be used (${code ?? (err as Error).message})`;
  }
  if (stat === undefined) return 'does not exist';
  if (need === 'directory' && !stat.isDirectory()) return 'is not a directory';
  if (need === 'executable' && !stat.isFile()) return 'is not a file';
  const [mode, refusal] =
    need === 'directory'
      ? [constants.X_OK, 'cannot be entered (permission denied)']
      : need === 'readable'
        ? [constants.R_OK, 'cannot be read (permission denied)']
        : [constants.X_OK, 'is not executable'];
  try {
    accessSync(path, mode);
  } catch {
    return refusal;
  }
  return undefined;
}

/**
 * Where execvp would find the program `name` (a bare name) in `path`, an empty
 * entry meaning `cwd`, as the launcher looks it up (findInPath in
 * adapters/clusterProcess.ts); undefined if it is not there.
 */
function findInPath(name: string, path: string, cwd: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    const candidate = resolve(cwd, dir, name);
    if (pathProblem(candidate, 'executable') === undefined) return candidate;
  }
  return undefined;
}

function nodeAt(root: unknown, path: PropertyKey[], wantKey: boolean): YamlNode | undefined {
  let node: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === segment);
      if (!pair) return undefined; // a missing key has no line
      if (last && wantKey) return pair.key as YamlNode;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      node = (node as { items: unknown[] }).items[Number(segment)];
    } else {
      return node as YamlNode | undefined;
    }
  }
  return node as YamlNode | undefined;
}

const NESTED = new Set(['restart', 'logs', 'web', 'alerts', 'oauth']);

function entriesAt(path: PropertyKey[]): Record<string, v.GenericSchema> {
  const nested: Record<string, { entries: Record<string, v.GenericSchema> }> = {
    restart: restartFields,
    logs: logsFields,
    web: webFields,
    alerts: alertFields,
    oauth: oauthFields,
  };
  return path.length === 0 ? configSchema.entries : (nested[String(path[0])]?.entries ?? {});
}

function allowedKeys(path: PropertyKey[]): string[] {
  return Object.keys(entriesAt(path));
}

/** The directory clusters run in (docs/protocol.md, the cluster process). */
export function workDir(config: Config, home = process.env.HOME ?? '/', cwd = process.cwd()): string {
  if (config.override_dir) return resolve(config.override_dir);
  return resolve(config.use_current_directory ? cwd : home, config.dir ?? '.');
}

/** What keeps the oauth keys from working, in words; undefined when they can. */
function oauthIncomplete(oauth: NonNullable<Config['oauth']>): string | undefined {
  if (!oauth.client_id || !/^\d+$/.test(oauth.client_id)) return 'client_id is not an application id';
  if (!oauth.client_secret) return 'client_secret is not set';
  if (!/^https?:\/\/[^\s/]+/i.test(oauth.redirect_url ?? '') || !URL.canParse(oauth.redirect_url!))
    return 'redirect_url is not an http(s) URL';
  return undefined;
}

/** Log in with Discord, as the config sets it (oauth, allowed_ids); undefined when oauth is not set, or not usable. */
export function oauthLogin(config: Config) {
  if (config.oauth === undefined || oauthIncomplete(config.oauth) !== undefined) return undefined;
  const { client_id, client_secret, redirect_url, discord_url } = config.oauth;
  return {
    clientId: client_id!,
    clientSecret: client_secret!,
    redirectUrl: redirect_url!,
    discordUrl: discord_url,
    allowedIds: () => config.allowed_ids,
  };
}
