import { fromCallback, type AnyActorRef } from 'xstate';
import { instanceSystemId, type BusCommand, type BusEvent, type BusToInstance } from '../../interfaces/bus.js';
import {
  actionLogEntry,
  boundActionLogEntry,
  botTarget,
  broadcastMessage,
  diagProof,
  diagRequestMessage,
  identifyTurnMessage,
  interpretInbound,
  parseInbound,
  plain,
  randomLetters,
  replyMessage,
  sampleOf,
  type BusMessage,
  type Inbound,
} from '../../protocol/index.js';
import { limitedWarnings, type Logger } from '../logger.js';
import { createReplyEncoder } from './statuses.js';

/**
 * Who sent a message, as far as the transport can tell: nobody in particular
 * (Redis's shared channel, where anyone may publish), or cluster `id`, either
 * `proven` (its own IPC channel) or only claimed (`from` on Redis's launcher channel).
 */
export type Sender = { id: number; proven: boolean } | undefined;

/** Who a message goes to. `ownChannel`: the cluster listens on a channel of its own (Redis). */
export type Recipient = { to: 'all' } | { to: number; ownChannel?: boolean } | { toAllBut: number };

/** What differs between buses: how messages travel. */
export interface Transport {
  /**
   * Calls `onMessage` for every message that arrives (a string off Redis, an
   * object off an IPC channel), with its sender as far as the transport
   * knows, and `onStatus` when the transport is first up (connected, and
   * subscribed where that applies), goes down, or comes back. Returns a
   * function that stops listening.
   */
  listen(
    onMessage: (message: unknown, from: Sender) => void,
    onStatus: (up: boolean) => void,
    /** Another supervisor runs this bus: this one must not launch, or must stop. */
    onRefused: (reason: string) => void,
  ): () => void;
  send(message: Map<string, unknown> | BusMessage, recipient: Recipient): void;
  writeActionLog(entry: Map<string, unknown>): void;
  /**
   * Resolves once every message that reached the supervisor before the call
   * has been passed to onMessage: a deadline judged after it judges the
   * cluster, not a supervisor that is behind on its reading.
   */
  barrier(): Promise<void>;
}

/** Listeners of the action log, for a Bus's onActionLog. */
export function listeners<T>() {
  const set = new Set<(value: T) => void>();
  return {
    notify: (value: T) => set.forEach((listener) => listener(value)),
    subscribe: (listener: (value: T) => void) => {
      set.add(listener);
      return () => void set.delete(listener);
    },
  };
}

/** Writes an entry to a transport's action log and tells its listeners: one entry, one timestamp, wherever it is read. */
export function actionLogWriter(transport: Pick<Transport, 'writeActionLog'>, notify?: (entry: Record<string, unknown>) => void) {
  return (entry: Record<string, unknown>) => {
    const stamped = actionLogEntry(boundActionLogEntry(entry));
    transport.writeActionLog(stamped);
    notify?.(plain(stamped) as Record<string, unknown>);
  };
}

/** Bounds the memory of the maps below: at most this many outstanding requests are remembered. */
const MAX_REMEMBERED = 10_000;

/** A bus that took longer than this to catch up was behind: the log says the supervisor is overloaded. */
const OVERLOADED_MS = 250;

export interface BusActorOptions {
  maxMessageBytes?: number;
  onActionLog?: (entry: Record<string, unknown>) => void;
  /** Cluster `id`'s key (Redis): answers proven with it are that cluster's (see diagProof in the protocol). */
  clusterKey?: (id: number) => string;
}

/**
 * The protocol logic every bus shares: validation of what arrives, diagnostic
 * answers matched to their cluster by nonce (one outstanding nonce per
 * cluster, so the map stays bounded and concurrent diagnostics never take
 * each other's answers) and by sender, replies routed back to whoever asked,
 * and messages between clusters relayed where the transport does not
 * broadcast by itself. Nothing a message holds can throw out of it: one that
 * cannot be handled is logged (a flood of them, a few lines) and costs nothing else.
 */
export function busActor(transport: Transport, log: Logger, options: BusActorOptions = {}) {
  const warn = limitedWarnings(log);
  const writeActionLog = actionLogWriter(transport, options.onActionLog);
  return fromCallback<BusCommand, void, BusEvent>(({ sendBack, receive, system }) => {
    const output = createReplyEncoder();
    /** What concerns one cluster goes straight to its Instance actor: the orchestrator need not see every answer. */
    const toInstance = (id: number, event: BusToInstance) => (system.get(instanceSystemId(id)) as AnyActorRef | undefined)?.send(event);
    const clusterOfNonce = new Map<string, number>();
    /** Each cluster's outstanding diagnostic, and which of its processes it went to. */
    const awaited = new Map<number, { nonce: string; launch: number }>();
    /** Clusters that proved they listen on their own channel, and for which of their processes. */
    const ownChannel = new Map<number, number>();
    const askedBy = new Map<string | number, number>();
    /** Clusters past a deadline, waiting for the next barrier, and whether one is under way. */
    let overdue: { id: number; token: string }[] = [];
    let barrierRunning = false;
    // Unknown until the transport says: the orchestrator launches nothing before the bus is first up.
    let up: boolean | undefined;
    let stopped = false;

    const replyTo = (commandId: string | number | undefined): Recipient => {
      const from = commandId === undefined ? undefined : askedBy.get(commandId);
      if (commandId !== undefined) askedBy.delete(commandId);
      return from === undefined ? { to: 'all' } : { to: from, ownChannel: true };
    };

    const answer = (inbound: Extract<Inbound, { kind: 'diag' }>, from: Sender) => {
      const id = clusterOfNonce.get(inbound.nonce);
      if (id === undefined) {
        warn(
          'stale_nonce',
          { nonce: inbound.nonce.slice(0, 100), from: from?.id },
          'ignored a diagnostic answer with an unknown or stale nonce',
        );
        return;
      }
      // A cluster answers for itself only: its own channel, or the nonce it alone was asked with.
      if (from !== undefined && from.id !== id) {
        warn('wrong_sender', { cluster: id, from: from.id }, `ignored a diagnostic answer for cluster ${id} sent by cluster ${from.id}`);
        return;
      }
      const key = from !== undefined && !from.proven && inbound.proof !== undefined ? options.clusterKey?.(id) : undefined;
      const proven = from?.proven === true || (key !== undefined && inbound.proof === diagProof(key, inbound.nonce));
      const launch = awaited.get(id)!.launch;
      if (ownChannel.get(id) === launch && !proven) {
        warn('unproven', { cluster: id }, `ignored a diagnostic answer for cluster ${id} without its proof: it answers on its own channel`);
        return;
      }
      // Proven on the launcher channel: from now on (for this process) it is asked on its own channel.
      if (proven && from?.proven === false) ownChannel.set(id, launch);
      clusterOfNonce.delete(inbound.nonce);
      awaited.delete(id);
      toInstance(id, { type: 'diag.answer', nonce: inbound.nonce, health: inbound.health, at: Date.now() });
    };

    const handle = (inbound: Inbound, message: unknown, from: Sender) => {
      switch (inbound.kind) {
        case 'ignored': {
          // On the IPC bus the supervisor is the hub: what a cluster says to the others goes through it,
          // to the one cluster named in `to` (a call between clusters, its answer), else to all the others.
          if (!from?.proven || (message as BusMessage | null)?.scope !== 'bot') return;
          const target = botTarget(message as BusMessage);
          if (!target.ok) return handle({ kind: 'invalid', reason: target.reason }, message, from);
          transport.send(message as BusMessage, target.to === undefined ? { toAllBut: from.id } : { to: target.to });
          return;
        }
        case 'invalid': {
          warn(
            'invalid',
            { reason: inbound.reason, message: sampleOf(message), from: from?.id },
            `rejected a message on the bus: ${inbound.reason}`,
          );
          if (inbound.commandId !== undefined) {
            transport.send(
              replyMessage(inbound.commandId, `invalid request: ${inbound.reason}`),
              from === undefined ? { to: 'all' } : { to: from.id, ownChannel: true },
            );
          }
          return;
        }
        case 'command': {
          const event = { type: `command.${inbound.action}`, replyTo: 'bus' } as Record<string, unknown>;
          if (inbound.id !== undefined) event.id = inbound.id;
          if (inbound.commandId !== undefined) {
            event.commandId = inbound.commandId;
            if (from !== undefined) {
              if (askedBy.size >= MAX_REMEMBERED) askedBy.delete(askedBy.keys().next().value!);
              askedBy.set(inbound.commandId, from.id);
            }
          }
          sendBack(event as BusEvent);
          return;
        }
        case 'launch_next':
          sendBack({ type: 'bus.launchNext', id: inbound.id, at: Date.now() });
          return;
        case 'identify':
          sendBack({ type: inbound.step === 'wait' ? 'bus.identifyWait' : 'bus.identified', id: inbound.id });
          return;
        case 'action_log':
          writeActionLog(inbound.data);
          return;
        case 'diag':
          answer(inbound, from);
      }
    };

    /** Tells the clusters past a deadline once the bus has read what arrived before now; one barrier at a time serves them all. */
    const runBarrier = () => {
      if (barrierRunning || overdue.length === 0 || stopped) return;
      barrierRunning = true;
      const batch = overdue;
      overdue = [];
      const asked = Date.now();
      transport.barrier().then(
        () => {
          barrierRunning = false;
          if (stopped) return;
          const behind = Date.now() - asked;
          if (behind > OVERLOADED_MS) {
            warn(
              'overloaded',
              { behind_ms: behind, clusters: batch.length },
              `the supervisor is overloaded: it read the bus ${behind} ms late; no cluster was judged hung for it`,
            );
          }
          for (const { id, token } of batch) toInstance(id, { type: 'bus.caughtUp', token });
          runBarrier();
        },
        (err: unknown) => {
          barrierRunning = false;
          log.error({ err: (err as Error).message }, 'the bus could not confirm what it has read');
        },
      );
    };

    const stopListening = transport.listen(
      (message, from) => {
        if (stopped) return;
        try {
          const inbound = typeof message === 'string' ? parseInbound(message, options.maxMessageBytes) : interpretInbound(message);
          handle(inbound, message, from);
        } catch (err) {
          warn(
            'failed',
            { err: (err as Error).message, message: sampleOf(message) },
            `a message on the bus could not be handled: ${(err as Error).message}`,
          );
        }
      },
      (value) => {
        if (stopped || up === value) return;
        up = value;
        sendBack({ type: value ? 'bus.up' : 'bus.down' });
      },
      (reason) => {
        if (!stopped) sendBack({ type: 'bus.refused', reason });
      },
    );

    receive((command) => {
      try {
        switch (command.type) {
          case 'diag.request': {
            const previous = awaited.get(command.id);
            if (previous !== undefined) clusterOfNonce.delete(previous.nonce);
            awaited.set(command.id, { nonce: command.nonce, launch: command.launch });
            clusterOfNonce.set(command.nonce, command.id);
            // What a process proved does not carry over to the next one.
            if (ownChannel.has(command.id) && ownChannel.get(command.id) !== command.launch) ownChannel.delete(command.id);
            transport.send(diagRequestMessage(command.id, command.nonce), { to: command.id, ownChannel: ownChannel.has(command.id) });
            return;
          }
          case 'identify.turn':
            // Where its diagnostics go: the cluster's own channel once it proved it listens there.
            transport.send(identifyTurnMessage(command.id), { to: command.id, ownChannel: ownChannel.has(command.id) });
            return;
          case 'bus.catchUp':
            overdue.push({ id: command.id, token: command.token });
            runBarrier();
            return;
          case 'command.reply':
            transport.send(replyMessage(command.commandId, output(command.action, command.result)), replyTo(command.commandId));
            return;
          case 'bus.announce':
            transport.send(broadcastMessage(command.action, randomLetters(16)), { to: 'all' });
            return;
          case 'actionLog.write':
            writeActionLog(command.entry);
        }
      } catch (err) {
        log.error({ err: (err as Error).message, command: command.type }, `the bus could not carry out ${command.type}`);
      }
    });

    return () => {
      stopped = true;
      stopListening();
    };
  });
}
