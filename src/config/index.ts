import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { LineCounter, isMap, isScalar, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';

/**
 * config.yaml: the Go mewld's keys with their meaning kept (SPEC §4), plus the
 * keys this project adds. Every field says what it allows in its error text, so
 * that a refused config tells the operator what to write instead.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

function seconds(allowed: 'positive' | 'nonnegative') {
  const rule = allowed === 'positive' ? 'a number of seconds greater than 0' : 'a number of seconds, 0 or more';
  const base = z.number({ error: (iss) => `must be ${rule}, got ${show(iss.input)}` });
  return allowed === 'positive'
    ? base.positive({ error: (iss) => `must be ${rule}, got ${show(iss.input)}` })
    : base.nonnegative({ error: (iss) => `must be ${rule}, got ${show(iss.input)}` });
}

function count(min: number, what: string) {
  const rule = `${what}: an integer, ${min} or more`;
  return z
    .number({ error: (iss) => `must be ${rule}, got ${show(iss.input)}` })
    .int({ error: (iss) => `must be ${rule}, got ${show(iss.input)}` })
    .min(min, { error: (iss) => `must be ${rule}, got ${show(iss.input)}` });
}

const text = (what: string) => z.string({ error: (iss) => `must be ${what}, got ${show(iss.input)}` });
const flag = () => z.boolean({ error: (iss) => `must be true or false, got ${show(iss.input)}` });
const exitCodes = () =>
  z.array(count(0, 'an exit code').max(255, { error: 'exit codes are 0 to 255' }), {
    error: (iss) => `must be a list of exit codes, got ${show(iss.input)}`,
  });

const restartFields = z.strictObject({
  backoff_initial: seconds('nonnegative').default(1),
  backoff_factor: z.number({ error: 'must be a number, 1 or more' }).min(1, { error: 'must be a number, 1 or more' }).default(2),
  backoff_max: seconds('nonnegative').default(60),
  jitter: z
    .number({ error: 'must be a fraction from 0 to 1' })
    .min(0, { error: 'must be a fraction from 0 to 1' })
    .max(1, { error: 'must be a fraction from 0 to 1' })
    .default(0.2),
  reset_after: seconds('positive').default(60),
  max_restarts: count(1, 'restarts').default(5),
  within: seconds('positive').default(60),
  no_restart_exit_codes: exitCodes().default([]),
  fleet_crash_ratio: z
    .number({ error: 'must be a fraction above 0, at most 1 (1 turns fleet protection off)' })
    .gt(0, { error: 'must be a fraction above 0, at most 1 (1 turns fleet protection off)' })
    .max(1, { error: 'must be a fraction above 0, at most 1 (1 turns fleet protection off)' })
    .default(0.5),
  fleet_window: seconds('positive').default(30),
  fleet_pause: seconds('positive').default(30),
});

const webFields = z.strictObject({
  host: text('a host name or address to listen on').default('127.0.0.1'),
  port: count(0, 'a TCP port (0 picks a free one)').max(65535, { error: 'a TCP port is at most 65535' }).default(1293),
  token: text('the token of the web API').min(16, { error: 'must be at least 16 characters long' }).optional(),
  /** A WebSocket client that falls this far behind is dropped (it reconnects). */
  max_client_buffer: count(1024, 'bytes').default(1 << 20),
});

export const configSchema = z.strictObject({
  token: text('the bot token, a string').optional(),
  dir: text('a directory under $HOME').optional(),
  override_dir: text('a directory path').optional(),
  use_current_directory: flag().default(false),
  env: z.array(text('a file path'), { error: 'must be a list of env file paths' }).default([]),
  names: z
    .array(text('a cluster name').min(1, { error: 'a cluster name cannot be empty' }), {
      error: (iss) => `must be a list of cluster names, got ${show(iss.input)}`,
    })
    .min(1, { error: 'must hold at least one cluster name (or leave the key out for generated names)' })
    .refine((names) => new Set(names).size === names.length, { error: 'cluster names must be unique' })
    .optional(),
  redis: text('a Redis address such as redis://127.0.0.1:6379 or 127.0.0.1:6379').optional(),
  redis_channel: text('a channel name').min(1, { error: 'must not be empty' }).default('mewld'),
  allowed_ids: z.array(z.union([z.string(), z.number()]), { error: 'must be a list of Discord user ids' }).default([]),
  oauth: z.record(z.string(), z.unknown(), { error: 'must be a mapping' }).optional(),
  // The Go version's web UI and resharding switches: accepted so that its configs load, then ignored.
  use_custom_webui: flag().optional(),
  experimental_features: z.array(z.string(), { error: 'must be a list of feature names' }).optional(),
  reshard_all: flag().optional(),
  ping_interval: seconds('positive').default(15),
  ping_timeout: seconds('positive').default(10),
  cluster_start_next_delay: seconds('nonnegative').default(5),
  per_cluster: count(1, 'shards per cluster'),
  minimum_safe_sessions_remaining: count(0, 'sessions').default(5),
  fixed_shard_count: count(1, 'shards').optional(),
  proxy: z.url({ error: (iss) => `must be an http(s) URL, got ${show(iss.input)}` }).default('https://discord.com'),
  module: text('the cluster program, a path relative to the working directory').min(1, {
    error: 'must name the cluster program',
  }),
  interp: text('an interpreter command such as node or python3').optional(),
  // Keys new in this project.
  launch_timeout: seconds('positive').default(300),
  kill_timeout: seconds('positive').default(10),
  gateway_timeout: seconds('positive').default(15),
  bus_reconnect_grace: seconds('nonnegative').default(10),
  action_log_max: count(1, 'entries').default(1000),
  log_level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  restart: restartFields.prefault({}),
  web: z
    .union([z.literal(false), webFields], { error: 'must be false, or a mapping with host, port, token' })
    .default(() => webFields.parse({})),
});

export type Config = z.output<typeof configSchema>;
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

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lineOf = (path: PropertyKey[], key?: string) => {
      const node = nodeAt(doc.contents, key === undefined ? path : [...path, key], key !== undefined);
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    };
    const problems = parsed.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => {
          const name = [...issue.path, key].join('.');
          const line = lineOf(issue.path, key);
          return `${line ? `line ${line}: ` : ''}${name}: unknown key; allowed keys are ${allowedKeys(issue.path).join(', ')}`;
        });
      }
      const name = issue.path.join('.') || '(top level)';
      const line = lineOf(issue.path);
      const message =
        issue.message.includes('received undefined') || /got nothing$/.test(issue.message)
          ? `is required (${issue.message.replace(/, got nothing$/, '')})`
          : issue.message;
      return [`${line ? `line ${line}: ` : ''}${name}: ${message}`];
    });
    throw new ConfigError(file, problems);
  }

  const config = parsed.data;
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

function allowedKeys(path: PropertyKey[]): string[] {
  const nested: Record<string, { shape: object }> = { restart: restartFields, web: webFields };
  const shape = path.length === 0 ? configSchema.shape : (nested[String(path[0])]?.shape ?? {});
  return Object.keys(shape);
}

/** The directory clusters run in (SPEC §2). */
export function workDir(config: Config, home = process.env.HOME ?? '/', cwd = process.cwd()): string {
  if (config.override_dir) return resolve(config.override_dir);
  return resolve(config.use_current_directory ? cwd : home, config.dir ?? '.');
}
