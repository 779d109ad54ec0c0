import { z } from 'zod';
import type { ClusterView, ShardHealth } from '../machines/instanceMachine.js';
import type { CommandAction, CommandResult } from '../machines/orchestratorMachine.js';

/**
 * The mewld bus protocol (SPEC §3), as pure functions: what a message on the
 * channel means, and the exact bytes the Go mewld publishes, so that clusters
 * written for it work unchanged. Both buses (Redis, IPC) use this module.
 */

/** Actions the supervisor answers; anything else on scope "launcher" is refused. */
export const LAUNCHER_ACTIONS = [
  'launch_next',
  'rollingrestart',
  'start',
  'stop',
  'restart',
  'statuses',
  'num_processes',
  'shutdown',
  'restartproc',
  'action_logs',
  'diag',
  'reshard',
] as const;
export type LauncherAction = (typeof LAUNCHER_ACTIONS)[number];

/** What one message on the channel asks of the supervisor. */
export type Inbound =
  /** Not for the supervisor: replies, diagnostics requests, messages between clusters. */
  | { kind: 'ignored' }
  | { kind: 'invalid'; reason: string; commandId?: string | number }
  | { kind: 'command'; action: CommandAction; id?: number; commandId?: string | number }
  | { kind: 'launch_next'; id: number; commandId?: string | number }
  | { kind: 'action_log'; data: Record<string, unknown>; commandId?: string | number }
  | { kind: 'diag'; nonce: string; health: ShardHealth[] };

const clusterId = z
  .number({ error: (iss) => `args.id must be a cluster id (a non-negative integer), got ${show(iss.input)}` })
  .int({ error: (iss) => `args.id must be a cluster id (a non-negative integer), got ${show(iss.input)}` })
  .nonnegative({ error: (iss) => `args.id must be a cluster id (a non-negative integer), got ${show(iss.input)}` });

const envelope = z.object({
  scope: z.string().optional(),
  action: z.string({ error: 'action must be a string' }),
  args: z.record(z.string(), z.unknown(), { error: 'args must be an object' }).nullish(),
  command_id: z.union([z.string(), z.number()], { error: 'command_id must be a string' }).nullish(),
  output: z.unknown().optional(),
  data: z.unknown().optional(),
});

const shardHealth = z
  .object({
    shard_id: z.number().int().nonnegative().optional(),
    id: z.number().int().nonnegative().optional(),
    up: z.boolean(),
    latency: z.number(),
    guilds: z.number().default(0),
    users: z.number().default(0),
  })
  .refine((h) => h.shard_id !== undefined || h.id !== undefined, { error: 'a shard health entry needs shard_id (or id)' })
  .transform((h): ShardHealth => ({ shard_id: (h.shard_id ?? h.id)!, up: h.up, latency: h.latency, guilds: h.guilds, users: h.users }));

const diagPayload = z
  .object({
    Nonce: z.string().optional(),
    nonce: z.string().optional(),
    Data: z.array(shardHealth).nullish(),
    data: z.array(shardHealth).nullish(),
  })
  .refine((p) => (p.Nonce ?? p.nonce) !== undefined, { error: 'a diagnostic answer needs Nonce (or nonce)' })
  .transform((p) => ({ nonce: (p.Nonce ?? p.nonce)!, health: p.Data ?? p.data ?? [] }));

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? 'nothing' : text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return issue.path.length > 0 && !issue.message.includes(String(issue.path[0]))
    ? `${issue.path.join('.')}: ${issue.message}`
    : issue.message;
}

/** Reads one message from the channel. Never throws: bad input is `invalid`, with a reason. */
export function parseInbound(raw: string, maxBytes = 1 << 20): Inbound {
  if (Buffer.byteLength(raw) > maxBytes)
    return { kind: 'invalid', reason: `message of ${Buffer.byteLength(raw)} bytes exceeds the limit of ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { kind: 'invalid', reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { kind: 'invalid', reason: 'not a JSON object' };
  const message = json as Record<string, unknown>;
  // Diagnostic requests have no scope; replies and bot messages are for clusters.
  if (message.scope !== 'launcher') return { kind: 'ignored' };

  const parsed = envelope.safeParse(message);
  const rawCommandId = message.command_id;
  const commandId = typeof rawCommandId === 'string' || typeof rawCommandId === 'number' ? rawCommandId : undefined;
  const withId = <T extends object>(value: T) => (commandId === undefined ? value : { ...value, commandId });
  if (!parsed.success) return withId({ kind: 'invalid', reason: firstIssue(parsed.error) }) as Inbound;
  const { action, args } = parsed.data;

  const needId = (): number | string => {
    const id = clusterId.safeParse(args?.id);
    return id.success ? id.data : firstIssue(id.error);
  };

  switch (action as LauncherAction) {
    case 'launch_next': {
      const id = needId();
      return typeof id === 'number' ? withId({ kind: 'launch_next', id }) : withId({ kind: 'invalid', reason: id });
    }
    case 'start':
    case 'stop':
    case 'restart': {
      const id = needId();
      return typeof id === 'number'
        ? withId({ kind: 'command', action: action as CommandAction, id })
        : withId({ kind: 'invalid', reason: id });
    }
    case 'rollingrestart':
    case 'statuses':
    case 'num_processes':
    case 'shutdown':
    case 'restartproc':
      return withId({ kind: 'command', action: action as CommandAction });
    case 'action_logs': {
      const data = parsed.data.data;
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        return withId({ kind: 'invalid', reason: `action_logs needs data, an object; got ${show(data)}` });
      }
      return withId({ kind: 'action_log', data: data as Record<string, unknown> });
    }
    case 'reshard':
      return withId({
        kind: 'invalid',
        reason: 'reshard is not supported: change the shard count in the config and restart the supervisor',
      });
    case 'diag': {
      let output = parsed.data.output;
      if (typeof output === 'string') {
        try {
          output = JSON.parse(output);
        } catch {
          return { kind: 'invalid', reason: 'diag output is a string that is not JSON' };
        }
      }
      const answer = diagPayload.safeParse(output);
      if (!answer.success) return { kind: 'invalid', reason: `diag: ${firstIssue(answer.error)}` };
      return { kind: 'diag', ...answer.data };
    }
    default:
      return withId({ kind: 'invalid', reason: `unknown action ${show(action)}; known actions: ${LAUNCHER_ACTIONS.join(', ')}` });
  }
}

/**
 * JSON as Go's encoding/json writes it: maps (a JS `Map`) with their keys
 * sorted as strings, structs (plain objects) in field order, and the same
 * escapes of <, >, & and the line separators, so that byte-for-byte
 * comparisons with the Go mewld hold.
 */
export function goJson(value: unknown): string {
  return encode(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function encode(value: unknown): string {
  if (value instanceof Map) {
    const keys = [...value.keys()].map(String).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(value.get(k) ?? value.get(Number(k)))}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : encode(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encode(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A Go map[string]any: encoded with sorted keys. */
const goMap = (entries: Record<string, unknown>) => new Map(Object.entries(entries));

/** A reply, as the Go version's SendMessage marshals its map: action, command_id, output, scope. */
export function formatReply(commandId: string | number | undefined, output: unknown): string {
  return goJson(goMap({ command_id: commandId ?? '', output: output ?? null, scope: 'bot', action: '' }));
}

/** A broadcast from the supervisor to every cluster (all_clusters_launched). */
export function formatBroadcast(action: string, commandId: string, output: unknown = ''): string {
  return goJson(goMap({ command_id: commandId, output, scope: 'bot', action }));
}

export function formatDiagRequest(id: number, nonce: string): string {
  return goJson({ id, nonce, diag: true });
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A random string of letters, as the Go version's RandomString (used for broadcast command ids). */
export function randomLetters(length: number, random: () => number = Math.random): string {
  let out = '';
  for (let i = 0; i < length; i++) out += LETTERS[Math.floor(random() * LETTERS.length)];
  return out;
}

/** Go's zero time.Time as unix seconds: what the Go version reports for a cluster that never started. */
export const GO_ZERO_TIME = -62135596800;

/** The `statuses` payload: a map keyed by cluster id; the Go fields first, then what this supervisor adds. */
export function statusesPayload(views: readonly ClusterView[]): Map<string, unknown> {
  const payload = new Map<string, unknown>();
  for (const v of views) {
    payload.set(String(v.id), {
      active: v.active,
      status: v.state,
      name: v.name,
      started_at: v.startedAt === null ? GO_ZERO_TIME : Math.floor(v.startedAt / 1000),
      shard_list: v.shards,
      pid: v.pid,
      restarts: v.restarts,
      up_at: v.upAt === null ? null : Math.floor(v.upAt / 1000),
      last_exit: v.lastExit,
      last_diag: v.lastDiag ? { at: Math.floor(v.lastDiag.at / 1000), health: v.lastDiag.health } : null,
      down_reason: v.downReason,
      backoff_ms: v.backoffMs,
      failed_reason: v.failedReason,
    });
  }
  return payload;
}

/** What a command's reply carries on the bus: "ok", a payload, or the reason it was refused. */
export function busOutput(action: CommandAction, result: CommandResult): unknown {
  if (!result.ok) return result.reason;
  if (action === 'statuses') return statusesPayload((result.value as ClusterView[]) ?? []);
  if (action === 'num_processes') return result.value;
  return 'ok';
}

/** An action log entry as stored in `<channel>/actlogs`: the entry plus `ts` in unix microseconds, keys sorted as Go's map. */
export function formatActionLog(entry: Record<string, unknown>, nowMs = Date.now()): string {
  return goJson(goMap({ ...entry, ts: Math.round(nowMs * 1000) }));
}

export const actionLogKey = (channel: string) => `${channel}/actlogs`;
