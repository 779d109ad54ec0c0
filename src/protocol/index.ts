import { createHmac } from 'node:crypto';
import * as v from 'valibot';
import { withinDepth, MAX_DEPTH } from './depth.js';
import { goFields, goMap } from './goJson.js';
import type { ShardHealth } from './health.js';
import { ANSWER_ACTION, CALL_ACTION, botTarget, readAnswer, readCall, type Answer, type Call } from './calls.js';
import { isObject, show } from './values.js';

export * from './actionLog.js';
export * from './calls.js';
export * from './closeCodes.js';
export * from './depth.js';
export * from './goJson.js';
export * from './health.js';
export * from './replies.js';

/**
 * The mewld bus protocol (docs/protocol.md), as pure functions: what a message on the
 * channel means, and the exact bytes the Go mewld publishes, so that clusters
 * written for it work unchanged. The supervisor's buses and the cluster
 * client library both use this module; it depends on neither.
 */

/** A message on the bus: one JSON object. */
export interface BusMessage {
  scope?: string;
  action?: string;
  args?: Record<string, unknown>;
  command_id?: string | number;
  output?: unknown;
  data?: unknown;
  [key: string]: unknown;
}

/** What operators may do to a running rolling restart: mewld's own actions (the Go version has none). */
export const ROLLOUT_ACTIONS = ['rollingrestart_pause', 'rollingrestart_resume', 'rollingrestart_cancel'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** Launcher actions that are commands to the supervisor, answered with a reply. */
export type CommandAction =
  'rollingrestart' | RolloutAction | 'start' | 'stop' | 'restart' | 'statuses' | 'num_processes' | 'shutdown' | 'restartproc';

/** Actions the supervisor answers; anything else on scope "launcher" is refused. */
export const LAUNCHER_ACTIONS = [
  'launch_next',
  'identify_wait',
  'identified',
  'rollingrestart',
  ...ROLLOUT_ACTIONS,
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
  /**
   * `id` undefined: the message named no cluster the Go version could read (no
   * id, or not a number): it meant the cluster that holds the launch slot.
   */
  | { kind: 'launch_next'; id: number | undefined; commandId?: string | number }
  /** identify_wait (loaded, waiting for its turn) and identified (docs/protocol.md, identify turns). */
  | { kind: 'identify'; step: 'wait' | 'done'; id: number; commandId?: string | number }
  | { kind: 'action_log'; data: Record<string, unknown>; commandId?: string | number }
  /** `proof`: diagProof of the nonce, from a cluster that has its key (MEWLD_CLUSTER_KEY). */
  | { kind: 'diag'; nonce: string; health: ShardHealth[]; proof?: string };

const idRule = (issue: { input: unknown }) => `args.id must be a cluster id (a non-negative integer), got ${show(issue.input)}`;
const clusterId = v.pipe(v.number(idRule), v.integer(idRule), v.minValue(0, idRule));

const ENVELOPE_FIELDS = ['scope', 'action', 'args', 'command_id', 'output', 'data'] as const;

const envelope = v.object({
  scope: v.optional(v.string()),
  action: v.string('action must be a string'),
  // valibot's record() lets an array through; Go's map[string]any does not.
  args: v.nullish(
    v.pipe(
      v.custom<Record<string, unknown>>((a) => typeof a === 'object' && a !== null && !Array.isArray(a), 'args must be an object'),
      v.record(v.string(), v.unknown(), 'args must be an object'),
    ),
  ),
  command_id: v.nullish(v.union([v.string(), v.number()], 'command_id must be a string')),
  output: v.optional(v.unknown()),
  data: v.optional(v.unknown()),
});

/**
 * A figure of a shard's health, as a cluster may send it: a number, or null or
 * nothing when it does not know it (the Go struct's fields are all optional).
 * Unknown stays null, never 0: a missing figure must not look like an idle shard.
 */
const figure = v.nullish(v.number(), null);
const shardNumber = v.nullish(v.pipe(v.number(), v.integer(), v.minValue(0)));
const HEALTH_FIELDS = ['shard_id', 'id', 'up', 'latency', 'guilds', 'users'] as const;
const shardHealth = v.pipe(
  v.object({
    shard_id: shardNumber,
    id: shardNumber,
    up: v.nullish(v.boolean(), false),
    latency: figure,
    guilds: figure,
    users: figure,
  }),
  v.check((h) => h.shard_id != null || h.id != null, 'a shard health entry needs shard_id (or id)'),
  v.transform((h): ShardHealth => ({
    shard_id: (h.shard_id ?? h.id)!,
    up: h.up,
    latency: h.latency ?? null,
    guilds: h.guilds ?? null,
    users: h.users ?? null,
  })),
);

const DIAG_FIELDS = ['Nonce', 'Data'] as const;
const diagPayload = v.object({
  Nonce: v.string('a diagnostic answer needs Nonce, a string'),
  Data: v.nullish(v.array(v.unknown(), 'Data must be a list of shard health entries'), []),
});

/**
 * A launch_next's cluster id as the Go version read it (a JSON number, a
 * fraction truncated), or as a numeric string; undefined when there is none to
 * read, which the Go version took as "the next one, please" and so does this.
 */
function launchNextId(args: Record<string, unknown> | null | undefined): number | undefined {
  // The exact key: Go read args, a map, as args["id"].
  const raw = args?.id;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(\.\d*)?\s*$/.test(raw) ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER ? Math.trunc(n) : undefined;
}

function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0]!;
  const path = (issue.path ?? []).map((item) => String(item.key));
  return path.length > 0 && !issue.message.includes(path[0]!) ? `${path.join('.')}: ${issue.message}` : issue.message;
}

const REPLY_PREFIX = '{"action":"","command_id":"';

/**
 * The command_id of a reply in the shape the supervisor (and the Go version)
 * publishes, read without parsing it; undefined for anything else. On Redis
 * every cluster receives every reply: this lets them skip the others' unread.
 */
export function replyCommandId(raw: string): string | undefined {
  if (!raw.startsWith(REPLY_PREFIX)) return undefined;
  const end = raw.indexOf('"', REPLY_PREFIX.length);
  const id = raw.slice(REPLY_PREFIX.length, end);
  return end < 0 || id.includes('\\') ? undefined : id;
}

/** The largest message the supervisor reads, by default. */
export const MAX_MESSAGE_BYTES = 1 << 20;

const TOO_DEEP = `nested more than ${MAX_DEPTH} levels deep`;

/** The JSON of one message off the channel, or why it cannot be read: too big, not JSON, or too deep. */
export function decodeMessage(raw: string, maxBytes = MAX_MESSAGE_BYTES): { ok: true; json: unknown } | { ok: false; reason: string } {
  // A string's length is at most its UTF-8 size: only long ones need counting.
  const bytes = raw.length * 3 <= maxBytes ? raw.length : Buffer.byteLength(raw);
  if (bytes > maxBytes) return { ok: false, reason: `message of ${bytes} bytes exceeds the limit of ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  return withinDepth(json) ? { ok: true, json } : { ok: false, reason: TOO_DEEP };
}

/**
 * At most `max` characters of a message, for a log line: never throws, whatever
 * the message (too deep for JSON.stringify, a cycle, a BigInt).
 */
export function sampleOf(message: unknown, max = 200): string {
  if (typeof message === 'string') return message.slice(0, max);
  if (!withinDepth(message)) return `(${TOO_DEEP})`;
  try {
    return String(JSON.stringify(message)).slice(0, max);
  } catch (err) {
    return `(cannot be shown: ${(err as Error).message})`;
  }
}

/** Reads one message from the channel. Never throws: bad input is `invalid`, with a reason. */
export function parseInbound(raw: string, maxBytes = MAX_MESSAGE_BYTES): Inbound {
  // Replies (its own, on Redis) are for clusters: no need to parse them.
  if (replyCommandId(raw) !== undefined && raw.endsWith('"scope":"bot"}')) return { kind: 'ignored' };
  const decoded = decodeMessage(raw, maxBytes);
  return decoded.ok ? interpretInbound(decoded.json) : { kind: 'invalid', reason: decoded.reason };
}

/** What an already decoded message (from the IPC channel, say) asks of the supervisor. */
export function interpretInbound(json: unknown): Inbound {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { kind: 'invalid', reason: 'not a JSON object' };
  const message = json as Record<string, unknown>;
  // Off an IPC channel nothing was decoded by decodeMessage: the depth is checked here, before anything relays or logs it.
  if (!withinDepth(message)) return { kind: 'invalid', reason: TOO_DEEP };
  // Keys as Go's json.Unmarshal matched them, whatever their case.
  const fields = goFields(message, ENVELOPE_FIELDS);
  // Diagnostic requests have no scope; replies and bot messages are for clusters.
  if (fields.scope !== 'launcher') return { kind: 'ignored' };

  const parsed = v.safeParse(envelope, fields);
  const rawCommandId = fields.command_id;
  const commandId = typeof rawCommandId === 'string' || typeof rawCommandId === 'number' ? rawCommandId : undefined;
  const withId = <T extends object>(value: T) => (commandId === undefined ? value : { ...value, commandId });
  if (!parsed.success) return withId({ kind: 'invalid', reason: firstIssue(parsed.issues) }) as Inbound;
  const { action, args } = parsed.output;

  const needId = (): number | string => {
    const id = v.safeParse(clusterId, args?.id);
    return id.success ? id.output : firstIssue(id.issues);
  };

  switch (action as LauncherAction) {
    case 'launch_next':
      return withId({ kind: 'launch_next', id: launchNextId(args) });
    case 'identify_wait':
    case 'identified': {
      const id = needId();
      return typeof id === 'number'
        ? withId({ kind: 'identify', step: action === 'identify_wait' ? 'wait' : 'done', id })
        : withId({ kind: 'invalid', reason: id });
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
    case 'rollingrestart_pause':
    case 'rollingrestart_resume':
    case 'rollingrestart_cancel':
    case 'statuses':
    case 'num_processes':
    case 'shutdown':
    case 'restartproc':
      return withId({ kind: 'command', action: action as CommandAction });
    case 'action_logs': {
      const data = parsed.output.data;
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
      let output = parsed.output.output;
      if (typeof output === 'string') {
        try {
          output = JSON.parse(output);
        } catch {
          return { kind: 'invalid', reason: 'diag: the output is a string that is not JSON' };
        }
      }
      if (!isObject(output))
        return { kind: 'invalid', reason: `diag: the answer must be an object with Nonce and Data, got ${show(output)}` };
      const payload = goFields(output, DIAG_FIELDS);
      if (typeof payload.Nonce !== 'string')
        return { kind: 'invalid', reason: `diag: a diagnostic answer needs Nonce, a string; got ${show(payload.Nonce)}` };
      const answer = v.safeParse(diagPayload, payload);
      if (!answer.success) return { kind: 'invalid', reason: `diag: ${firstIssue(answer.issues)}` };
      // An entry the supervisor cannot read is left out; the answer still says the cluster is there, as in the Go version.
      const health: ShardHealth[] = [];
      for (const entry of answer.output.Data) {
        const shard = isObject(entry) ? v.safeParse(shardHealth, goFields(entry, HEALTH_FIELDS)) : undefined;
        if (shard?.success) health.push(shard.output);
      }
      const diag = { kind: 'diag' as const, nonce: answer.output.Nonce, health };
      return typeof message.proof === 'string' ? { ...diag, proof: message.proof } : diag;
    }
    default:
      return withId({ kind: 'invalid', reason: `unknown action ${show(action)}; known actions: ${LAUNCHER_ACTIONS.join(', ')}` });
  }
}

// What the supervisor sends. Maps where the Go version marshalled a map, so
// that goJson writes their keys in Go's (sorted) order.

/** A reply, as the Go version's SendMessage built it: action, command_id, output, scope. */
export function replyMessage(commandId: string | number | undefined, output: unknown): Map<string, unknown> {
  return goMap({ command_id: commandId ?? '', output: output ?? null, scope: 'bot', action: '' });
}

/** A broadcast from the supervisor to every cluster (all_clusters_launched). */
export function broadcastMessage(action: string, commandId: string, output: unknown = ''): Map<string, unknown> {
  return goMap({ command_id: commandId, output, scope: 'bot', action });
}

/** Cluster `id` may identify now (docs/protocol.md, identify turns). */
export function identifyTurnMessage(id: number): BusMessage {
  return { scope: 'bot', action: IDENTIFY_TURN_ACTION, to: id };
}

/** A cluster's identify turn messages (docs/protocol.md, identify turns). */
export const identifyWaitMessage = (id: number): BusMessage => ({ scope: 'launcher', action: 'identify_wait', args: { id } });
export const identifiedMessage = (id: number): BusMessage => ({ scope: 'launcher', action: 'identified', args: { id } });

const IDENTIFY_TURN_ACTION = 'identify_turn';

export function diagRequestMessage(id: number, nonce: string): BusMessage {
  return { id, nonce, diag: true };
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

/**
 * Direct channels, an extension of this supervisor's: on the shared channel
 * every cluster hears every message, which for a large bot means waking every
 * process for every diagnostic and reply. A cluster on mewld/client instead
 * sends what is for the supervisor to `<channel>/launcher` (with `from`: its
 * id) and hears what is for it alone on `<channel>/<id>`. Clusters written for
 * the Go version keep the shared channel; broadcasts stay on it.
 */
export const launcherChannel = (channel: string) => `${channel}/launcher`;
export const clusterChannel = (channel: string, id: number) => `${channel}/${id}`;

// What clusters send. The client library builds its messages here, so that a
// cluster on it works under the Go mewld as well.

export function launchNextMessage(id: number): BusMessage {
  return { scope: 'launcher', action: 'launch_next', args: { id } };
}

/**
 * A diagnostic answer as Go clusters write it: output is a JSON string of
 * {Nonce, Data}. With the cluster's key, `proof` says it is this cluster's.
 */
export function diagAnswerMessage(nonce: string, health: readonly ShardHealth[], key?: string): BusMessage {
  const message: BusMessage = { scope: 'launcher', action: 'diag', output: JSON.stringify({ Nonce: nonce, Data: health }) };
  if (key !== undefined) message.proof = diagProof(key, nonce);
  return message;
}

/**
 * Proof that a diagnostic answer comes from the cluster it is for, on Redis,
 * where anyone on the server may publish anything: the supervisor gives each
 * cluster process a key of its own (MEWLD_CLUSTER_KEY, derived from a secret of
 * the run), and an answer carries an HMAC of its nonce under that key. The key
 * itself never travels on the bus. Clusters written for the Go version send no
 * proof, and are judged by their nonce alone, as the Go version judged them.
 */
export const diagProof = (key: string, nonce: string) => createHmac('sha256', key).update(nonce).digest('hex').slice(0, 32);

/** Cluster `id`'s key under the run's secret. */
export const clusterKey = (runSecret: string, id: number) => createHmac('sha256', runSecret).update(`cluster:${id}`).digest('hex');

export function commandMessage(action: string, args: Record<string, unknown> | undefined, commandId: string): BusMessage {
  return args === undefined
    ? { scope: 'launcher', action, command_id: commandId }
    : { scope: 'launcher', action, args, command_id: commandId };
}

/** A message from one cluster to the others (scope "bot"); `from` names the sender. */
export function botMessage(action: string, data: unknown, from: number): BusMessage {
  return { scope: 'bot', action, data, from };
}

/**
 * What a message on the bus means to a cluster. `to`: the one cluster a
 * message between clusters is for (undefined: every cluster but its sender).
 */
export type ClusterInbound =
  | { kind: 'diag'; id: number; nonce: string }
  | { kind: 'identify_turn'; id: number }
  | { kind: 'reply'; commandId: string | number; output: unknown }
  | { kind: 'all_clusters_launched' }
  | { kind: 'bot'; action: string; data: unknown; from: number | undefined; to: number | undefined; message: BusMessage }
  | { kind: 'call'; call: Call; to: number | undefined }
  | { kind: 'answer'; answer: Answer; to: number | undefined }
  | { kind: 'other' };

export function interpretForCluster(json: unknown): ClusterInbound {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { kind: 'other' };
  const m = json as BusMessage;
  if (m.diag === true && typeof m.id === 'number' && typeof m.nonce === 'string') return { kind: 'diag', id: m.id, nonce: m.nonce };
  if (m.scope !== 'bot' || typeof m.action !== 'string') return { kind: 'other' };
  if (m.action === '') {
    return m.command_id === undefined || m.command_id === ''
      ? { kind: 'other' }
      : { kind: 'reply', commandId: m.command_id, output: m.output };
  }
  if (m.action === 'all_clusters_launched') return { kind: 'all_clusters_launched' };
  if (m.action === IDENTIFY_TURN_ACTION && typeof m.to === 'number') return { kind: 'identify_turn', id: m.to };
  // Addressed to nobody a cluster can be: for none of them (the IPC bus's supervisor drops it too).
  const target = botTarget(m);
  if (!target.ok) return { kind: 'other' };
  const { to } = target;
  if (m.action === CALL_ACTION) {
    const call = readCall(m);
    return call ? { kind: 'call', call, to } : { kind: 'other' };
  }
  if (m.action === ANSWER_ACTION) {
    const answer = readAnswer(m);
    return answer ? { kind: 'answer', answer, to } : { kind: 'other' };
  }
  return { kind: 'bot', action: m.action, data: m.data, from: typeof m.from === 'number' ? m.from : undefined, to, message: m };
}
