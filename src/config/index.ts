import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { LineCounter, isMap, isScalar, parseDocument, type Node as YamlNode } from 'yaml';
import * as v from 'valibot';

/**
 * config.yaml: the Go mewld's keys with their meaning kept (SPEC §4), plus the
 * keys this project adds. Every field says what it allows in its error text, so
 * that a refused config tells the operator what to write instead.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

/** An error message that says what is allowed and what was given. */
const must = (rule: string) => (issue: { input: unknown }) => `must be ${rule}, got ${show(issue.input)}`;

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

const text = (what: string) => v.string(must(what));
const nonEmpty = (what: string, empty: string) => v.pipe(text(what), v.minLength(1, empty));
const flag = () => v.boolean(must('true or false'));
const list = <T extends v.GenericSchema>(item: T, what: string) => v.array(item, must(what));

const restartFields = v.strictObject({
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
});

const webFields = v.strictObject({
  host: v.optional(text('a host name or address to listen on'), '127.0.0.1'),
  port: v.optional(count(0, 'a TCP port (0 picks a free one)', 65535), 1293),
  token: v.optional(v.pipe(text('the token of the web API'), v.minLength(16, 'must be at least 16 characters long'))),
  /** A WebSocket client that falls this far behind is dropped (it reconnects). */
  max_client_buffer: v.optional(count(1024, 'bytes'), 1 << 20),
});

const ALERT_EVENTS = ['cluster_failed', 'fleet_paused', 'sessions_low'];

const alertFields = v.strictObject({
  webhook: v.pipe(text('an http(s) URL'), v.url(must('an http(s) URL')), v.regex(/^https?:\/\//i, must('an http(s) URL'))),
  format: v.optional(v.picklist(['discord', 'slack', 'json'], must('discord, slack or json')), 'discord'),
  events: v.optional(list(nonEmpty('an action log event', 'an event name cannot be empty'), 'a list of action log events'), ALERT_EVENTS),
  name: v.optional(nonEmpty('a name', 'must not be empty'), 'mewld'),
});

export const configSchema = v.strictObject({
  token: v.optional(text('the bot token, a string')),
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
  redis: v.optional(text('a Redis address such as redis://127.0.0.1:6379 or 127.0.0.1:6379')),
  redis_channel: v.optional(nonEmpty('a channel name', 'must not be empty'), 'mewld'),
  allowed_ids: v.optional(list(v.union([v.string(), v.number()]), 'a list of Discord user ids'), []),
  oauth: v.optional(v.record(v.string(), v.unknown(), must('a mapping'))),
  // The Go version's web UI and resharding switches: accepted so that its configs load, then ignored.
  use_custom_webui: v.optional(flag()),
  experimental_features: v.optional(list(v.string(), 'a list of feature names')),
  reshard_all: v.optional(flag()),
  ping_interval: v.optional(seconds('positive'), 15),
  ping_timeout: v.optional(seconds('positive'), 10),
  cluster_start_next_delay: v.optional(seconds('nonnegative'), 5),
  per_cluster: count(1, 'shards per cluster'),
  minimum_safe_sessions_remaining: v.optional(count(0, 'sessions'), 5),
  max_concurrency: v.optional(count(1, 'identify buckets')),
  fixed_shard_count: v.optional(count(1, 'shards')),
  proxy: v.optional(v.pipe(text('an http(s) URL'), v.url(must('an http(s) URL'))), 'https://discord.com'),
  module: nonEmpty('the cluster program, a path relative to the working directory', 'must name the cluster program'),
  interp: v.optional(text('an interpreter command such as node or python3')),
  // Keys new in this project.
  launch_timeout: v.optional(seconds('positive'), 300),
  kill_timeout: v.optional(seconds('positive'), 10),
  gateway_timeout: v.optional(seconds('positive'), 15),
  bus_reconnect_grace: v.optional(seconds('nonnegative'), 10),
  action_log_max: v.optional(count(1, 'entries'), 1000),
  log_level: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)),
  restart: v.optional(restartFields, {}),
  web: v.optional(v.union([v.literal(false), webFields], must('false, or a mapping with host, port, token')), {}),
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

/** Reads, parses and validates a config file; throws ConfigError with every problem found. */
export function loadConfig(file: string, processEnv: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfig(source, file, processEnv);
}

export function parseConfig(source: string, file: string, processEnv: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}YAML syntax error: ${message}`;
      }),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, ['the file must be a mapping of keys to values (key: value)']);
  }

  const parsed = v.safeParse(configSchema, raw, { abortEarly: false });
  if (!parsed.success) {
    const lineOf = (path: PropertyKey[], isKey: boolean) => {
      const node = nodeAt(doc.contents, path, isKey);
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    };
    const problems = parsed.issues.map((issue) => {
      const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
      const name = path.join('.') || '(top level)';
      if (issue.type === 'strict_object' && issue.expected === 'never') {
        const line = lineOf(path, true);
        return `${line ? `line ${line}: ` : ''}${name}: unknown key; allowed keys are ${allowedKeys(path.slice(0, -1)).join(', ')}`;
      }
      if (issue.type === 'strict_object') {
        // A required key is missing: say what it would have allowed.
        const field = entriesAt(path.slice(0, -1))[String(path.at(-1))];
        const allowed = field ? v.safeParse(field, undefined).issues?.[0]?.message.replace(/, got nothing$/, '') : undefined;
        return `${name}: is required${allowed ? ` (${allowed})` : ''}`;
      }
      const line = lineOf(path, false);
      const message = /got nothing$/.test(issue.message) ? `is required (${issue.message.replace(/, got nothing$/, '')})` : issue.message;
      return `${line ? `line ${line}: ` : ''}${name}: ${message}`;
    });
    throw new ConfigError(file, problems);
  }

  const config = parsed.output;
  const warnings: string[] = [];
  const baseDir = dirname(resolve(file));
  const env: Record<string, string> = {};
  const problems: string[] = [];
  config.env.forEach((envFile, i) => {
    // Relative to the config file; the Go version read them relative to its working directory, so that works too.
    const candidates = isAbsolute(envFile) ? [envFile] : [resolve(baseDir, envFile), resolve(envFile)];
    const path = candidates.find((c) => existsSync(c));
    if (path === undefined) {
      problems.push(`env.${i}: the env file ${candidates[0]} does not exist`);
      return;
    }
    Object.assign(env, parseEnv(readFileSync(path, 'utf8')));
  });

  // An empty MTOKEN counts as unset, as an empty token would be refused by Discord anyway.
  if (config.web && processEnv.MEWLD_WEB_TOKEN) config.web.token = processEnv.MEWLD_WEB_TOKEN;
  const token = processEnv.MTOKEN || env.MTOKEN || config.token;
  if (token !== undefined) config.token = token;
  if (config.fixed_shard_count === undefined && !config.token) {
    problems.push('token: is required to ask Discord for the shard count (set token, or MTOKEN, or fixed_shard_count)');
  }
  if (config.override_dir === undefined && config.dir === undefined && !config.use_current_directory) {
    problems.push('dir: is required (or set override_dir, or use_current_directory: true)');
  }
  if (problems.length > 0) throw new ConfigError(file, problems);

  if (config.oauth !== undefined) warnings.push('oauth is ignored: the web server uses token authentication');
  if (config.use_custom_webui !== undefined) warnings.push('use_custom_webui is ignored: see the web key');
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

function entriesAt(path: PropertyKey[]): Record<string, v.GenericSchema> {
  const nested: Record<string, { entries: Record<string, v.GenericSchema> }> = { restart: restartFields, web: webFields };
  return path.length === 0 ? configSchema.entries : (nested[String(path[0])]?.entries ?? {});
}

function allowedKeys(path: PropertyKey[]): string[] {
  return Object.keys(entriesAt(path));
}

/** The directory clusters run in (SPEC §2). */
export function workDir(config: Config, home = process.env.HOME ?? '/', cwd = process.cwd()): string {
  if (config.override_dir) return resolve(config.override_dir);
  return resolve(config.use_current_directory ? cwd : home, config.dir ?? '.');
}
