import { isObject, show } from './values.js';

/**
 * Calls between clusters (docs/protocol.md, calls between clusters): a cluster
 * asks one cluster, or every cluster, to run a named handler, and each answers
 * the asker alone. Both travel as scope "bot" messages, so the Go mewld and
 * clusters written for it carry or ignore them like any broadcast; their
 * actions are namespaced (`mewld.`) so that they cannot clash with a bot's own.
 */

/** A cluster asks for a handler to run: every cluster (no `to`) or one. */
export const CALL_ACTION = 'mewld.call';
/** A cluster's answer to a call, to the asker alone. */
export const ANSWER_ACTION = 'mewld.answer';

/** Why a call failed on the cluster asked: it has no such handler, or the handler threw. */
export type CallErrorCode = 'no_handler' | 'failed';

/** What running a handler came to: its value, or why there is none. */
export type CallOutcome = { value: unknown } | { error: string; code: CallErrorCode };

/** The one cluster a scope "bot" message is for (`to`), or every other one; or why `to` cannot be read. */
export type BotTarget = { ok: true; to: number | undefined } | { ok: false; reason: string };

const isClusterId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * Reads a scope "bot" message's optional `to`: absent (or null), the message is
 * for every other cluster, as always; otherwise a cluster id, or the message is
 * refused (the supervisor logs and drops it rather than guess who it was for).
 * The exact key only: `to` is this supervisor's, the Go struct never had it.
 */
export function botTarget(message: Record<string, unknown>): BotTarget {
  const to = message.to;
  if (to === undefined || to === null) return { ok: true, to: undefined };
  return isClusterId(to) ? { ok: true, to } : { ok: false, reason: `to must be a cluster id (a non-negative integer), got ${show(to)}` };
}

// A type, not an interface: it must fit BusMessage's index signature.
type BotEnvelope = { scope: 'bot'; action: string; from: number; to?: number; data: Record<string, unknown> };

const addressed = (action: string, from: number, to: number | undefined, data: Record<string, unknown>): BotEnvelope =>
  to === undefined ? { scope: 'bot', action, from, data } : { scope: 'bot', action, from, to, data };

/** Cluster `from` asks cluster `to` (every cluster when undefined) to run handler `name` with `args`; `id` matches the answers. */
export function callMessage(from: number, to: number | undefined, id: string, name: string, args: unknown): BotEnvelope {
  return addressed(CALL_ACTION, from, to, { id, name, args: args ?? null });
}

/** Cluster `from`'s answer to call `id` of cluster `to`. */
export function answerMessage(from: number, to: number, id: string, outcome: CallOutcome): BotEnvelope {
  return addressed(ANSWER_ACTION, from, to, { id, ...outcome });
}

export interface Call {
  id: string;
  name: string;
  args: unknown;
  /** The asking cluster: the answer goes to it. */
  from: number;
}

export interface Answer {
  id: string;
  /** The answering cluster. */
  from: number;
  outcome: CallOutcome;
}

/**
 * A call or an answer off the bus, or undefined when it cannot be one (no id,
 * no name, a sender that is no cluster id): it is dropped, as there is nobody
 * to answer, or no call to match.
 */
export function readCall(message: Record<string, unknown>): Call | undefined {
  const { data, from } = message;
  if (!isObject(data) || !isClusterId(from) || typeof data.id !== 'string' || typeof data.name !== 'string') return undefined;
  return { id: data.id, name: data.name, args: data.args ?? null, from };
}

export function readAnswer(message: Record<string, unknown>): Answer | undefined {
  const { data, from } = message;
  if (!isObject(data) || !isClusterId(from) || typeof data.id !== 'string') return undefined;
  // An error is whatever says one; a code this side does not know is a failure of the handler.
  const outcome: CallOutcome =
    data.error === undefined || data.error === null
      ? { value: data.value ?? null }
      : { error: String(data.error), code: data.code === 'no_handler' ? 'no_handler' : 'failed' };
  return { id: data.id, from, outcome };
}
