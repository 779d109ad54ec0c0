import { fromCallback } from 'xstate';
import type { Command, CommandReply, CommandResult } from '../interfaces/commands.js';

/** A command as the HTTP API asks it: the bridge adds where the reply goes. */
export type ApiCommand = Command extends infer C ? (C extends Command ? Omit<C, 'replyTo' | 'commandId'> : never) : never;

/**
 * The HTTP API's way into the orchestrator: the same command events as the
 * bus sends, with replies routed back to the waiting request. The actor runs
 * as the orchestrator's `api` child (systemId "api").
 */
export function createCommandBridge(timeoutMs = 10_000) {
  let sendBack: ((command: Command) => void) | undefined;
  const pending = new Map<string, (result: CommandResult) => void>();
  let seq = 0;

  const actor = fromCallback<CommandReply, void, Command>(({ sendBack: sb, receive }) => {
    sendBack = sb;
    receive((reply) => {
      const id = String(reply.commandId);
      pending.get(id)?.(reply.result);
      pending.delete(id);
    });
    return () => {
      sendBack = undefined;
      for (const resolve of pending.values()) resolve({ ok: false, status: 'unavailable', reason: 'the supervisor stopped' });
      pending.clear();
    };
  });

  return {
    actor,
    /** Sends a command to the orchestrator and resolves with its result. */
    send(command: ApiCommand): Promise<CommandResult> {
      if (!sendBack) return Promise.resolve({ ok: false, status: 'unavailable', reason: 'the supervisor is not running' });
      const commandId = `api-${++seq}`;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(commandId);
          resolve({ ok: false, status: 'unavailable', reason: `no answer from the orchestrator within ${timeoutMs} ms` });
        }, timeoutMs);
        pending.set(commandId, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
        sendBack!({ ...command, replyTo: 'api', commandId } as Command);
      });
    },
  };
}

export type CommandBridge = ReturnType<typeof createCommandBridge>;
