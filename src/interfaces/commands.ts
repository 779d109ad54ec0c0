/**
 * Operators' commands, as the bus and the HTTP API send them to the
 * orchestrator, and their results. The names are the bus protocol's actions
 * (docs/protocol.md, launcher actions).
 */

import type { CommandAction } from '../protocol/index.js';

export { ROLLOUT_ACTIONS, type CommandAction, type RolloutAction } from '../protocol/index.js';

/** The commands on one cluster. */
export const CLUSTER_ACTIONS = ['start', 'stop', 'restart'] as const;
export type ClusterAction = (typeof CLUSTER_ACTIONS)[number];

/** Where a reply goes: the systemId of an actor that accepts command.reply (the bus, the HTTP bridge). */
export interface ReplyAddress {
  replyTo?: string;
  commandId?: string | number;
}

/** An operator command: `command.<protocol action>`. */
export type Command =
  | ({ type: `command.${ClusterAction}`; id: number } & ReplyAddress)
  | ({ type: `command.${Exclude<CommandAction, ClusterAction>}` } & ReplyAddress);

export type CommandResult = { ok: true; value?: unknown } | { ok: false; status: 'conflict' | 'not_found' | 'unavailable'; reason: string };

/** A command's result, sent to the actor that asked (its replyTo). */
export interface CommandReply {
  type: 'command.reply';
  action: CommandAction;
  commandId?: string | number;
  result: CommandResult;
}
