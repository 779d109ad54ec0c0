import { log, type ActorSystem, type AnyActorRef } from 'xstate';
import { BUS_SYSTEM_ID, instanceSystemId } from '../interfaces/bus.js';
import type { CommandAction, CommandResult, ReplyAddress } from '../interfaces/commands.js';
import { describeEntry, type SupervisorEntry } from '../protocol/index.js';

/**
 * What every machine does the same way: write an action log entry and log
 * its sentence (one text, in the log, the action log and an alert: see
 * protocol/actionLog.ts), and answer an operator's command.
 */

/** What these helpers use of enqueueActions' `enqueue`: XState does not export its type (ActionEnqueuer), and it is generic in every machine's types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Enqueue = { (action: any): void; sendTo(to: any, event: any): void };

/** The actor system of any machine: XState's AnyActorSystem, which it does not export. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyActorSystem = ActorSystem<any>;

export type LogLevel = 'info' | 'warn' | 'error';

/** Writes `entry` to the action log (through the bus) and logs its sentence at `level`. */
export function record(enqueue: Enqueue, entry: SupervisorEntry, level: LogLevel = 'info') {
  enqueue.sendTo(({ system }: { system: AnyActorSystem }) => system.get(BUS_SYSTEM_ID), { type: 'actionLog.write', entry });
  const cluster = 'id' in entry ? { cluster: entry.id } : {};
  enqueue(log(() => ({ level, ...cluster, msg: describeEntry(entry) })));
}

/** Sends a command's result to whoever asked (the actor registered as its replyTo), if anyone did. */
export function reply(enqueue: Enqueue, system: AnyActorSystem, to: ReplyAddress, action: CommandAction, result: CommandResult) {
  const actor = to.replyTo ? (system.get(to.replyTo) as AnyActorRef | undefined) : undefined;
  if (!actor) return;
  enqueue.sendTo(
    actor,
    to.commandId === undefined
      ? { type: 'command.reply', action, result }
      : { type: 'command.reply', action, commandId: to.commandId, result },
  );
}

/** The protocol action of a `command.<action>` event. */
export const actionOf = (type: string) => type.slice('command.'.length) as CommandAction;

/** Tells every cluster that every cluster has launched (or is whole again), as the Go version did. */
export function announceAllLaunched(enqueue: Enqueue) {
  enqueue.sendTo(({ system }: { system: AnyActorSystem }) => system.get(BUS_SYSTEM_ID), {
    type: 'bus.announce',
    action: 'all_clusters_launched',
  });
}

/** Cluster `id`'s Instance actor, found by its systemId: how machines that are not its parent reach it. */
export const cluster =
  (id: number) =>
  ({ system }: { system: AnyActorSystem }) =>
    system.get(instanceSystemId(id)) as AnyActorRef;
