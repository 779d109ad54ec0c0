import type { ChildProcess } from 'node:child_process';
import { fromCallback, type CallbackActorLogic } from 'xstate';
import { instanceActor, type ClusterView } from '../machines/instanceMachine.js';
import type { BusCommand, BusEvent, CommandResult } from '../machines/orchestratorMachine.js';
import {
  actionLogEntry,
  broadcastMessage,
  diagRequestMessage,
  Encoded,
  GO_ZERO_TIME,
  healthSummary,
  interpretInbound,
  parseInbound,
  plain,
  randomLetters,
  replyMessage,
  type BusMessage,
  type CommandAction,
  type ShardHealth,
  type Inbound,
} from '../protocol/index.js';
import type { Logger } from './logger.js';

/**
 * The bus, as the supervisor sees it. Two implementations (redisBus, ipcBus)
 * pass one conformance suite (tests/bus.conformance.test.ts); the machines
 * only know the actor.
 */
export interface Bus {
  kind: 'redis' | 'ipc';
  /** The orchestrator's `bus` child: turns messages into events and its requests into messages. */
  actor: CallbackActorLogic<BusCommand, void, BusEvent>;
  /** What a cluster process needs in its environment to reach this bus (MEWLD_BUS, ...). */
  clusterEnv: Record<string, string>;
  /** Whether cluster processes get a Node IPC channel (stdio 'ipc'). */
  ipc: boolean;
  /** The process adapter hands over every cluster process it starts; the IPC bus talks through them. */
  attach(clusterId: number, child: ChildProcess): void;
  /** The most recent action log entries, oldest first. */
  actionLogs(limit?: number): Promise<Record<string, unknown>[]>;
  /** Every action log entry from now on, as it is written; returns a function that unsubscribes. */
  onActionLog(listener: (entry: Record<string, unknown>) => void): () => void;
  /** Flushes what is queued (the reply to `shutdown`, say) and lets go of connections. */
  close(): Promise<void>;
}

/** Who a message goes to. */
export type Recipient = { to: 'all' } | { to: number } | { toAllBut: number };

/** What differs between buses: how messages travel. */
export interface Transport {
  /**
   * Calls `onMessage` for every message that arrives (a string off Redis, an
   * object off an IPC channel), with the sending cluster when the transport
   * knows it, and `onStatus` when the transport is first up (connected, and
   * subscribed where that applies), goes down, or comes back. Returns a
   * function that stops listening.
   */
  listen(onMessage: (message: unknown, from: number | undefined) => void, onStatus: (up: boolean) => void): () => void;
  send(message: Map<string, unknown> | BusMessage, recipient: Recipient): void;
  writeActionLog(entry: Map<string, unknown>): void;
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

/** Bounds the memory of the maps below: at most this many outstanding requests are remembered. */
const MAX_REMEMBERED = 10_000;

/**
 * The protocol logic every bus shares: validation of what arrives, diagnostic
 * answers matched to their cluster by nonce (one outstanding nonce per
 * cluster, so the map stays bounded and concurrent diagnostics never take
 * each other's answers), replies routed back to whoever asked, and messages
 * between clusters relayed where the transport does not broadcast by itself.
 */
export function busActor(
  transport: Transport,
  log: Logger,
  options: { maxMessageBytes?: number; onActionLog?: (entry: Record<string, unknown>) => void } = {},
) {
  const writeActionLog = (entry: Record<string, unknown>) => {
    // One entry, one timestamp, whether it is read from the bus or from the live stream.
    const stamped = actionLogEntry(entry);
    transport.writeActionLog(stamped);
    options.onActionLog?.(plain(stamped) as Record<string, unknown>);
  };
  return fromCallback<BusCommand, void, BusEvent>(({ sendBack, receive, system }) => {
    const clusterOfNonce = new Map<string, number>();
    const nonceOfCluster = new Map<number, string>();
    const askedBy = new Map<string | number, number>();
    // Unknown until the transport says: the orchestrator launches nothing before the bus is first up.
    let up: boolean | undefined;
    let stopped = false;

    const replyTo = (commandId: string | number | undefined): Recipient => {
      const from = commandId === undefined ? undefined : askedBy.get(commandId);
      if (commandId !== undefined) askedBy.delete(commandId);
      return from === undefined ? { to: 'all' } : { to: from };
    };

    const handle = (inbound: Inbound, message: unknown, from: number | undefined) => {
      switch (inbound.kind) {
        case 'ignored':
          if (from !== undefined && (message as BusMessage | null)?.scope === 'bot')
            transport.send(message as BusMessage, { toAllBut: from });
          return;
        case 'invalid': {
          const sample = typeof message === 'string' ? message.slice(0, 200) : JSON.stringify(message)?.slice(0, 200);
          log.warn({ reason: inbound.reason, message: sample, from }, `rejected a message on the bus: ${inbound.reason}`);
          if (inbound.commandId !== undefined) {
            transport.send(
              replyMessage(inbound.commandId, `invalid request: ${inbound.reason}`),
              from === undefined ? { to: 'all' } : { to: from },
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
              askedBy.set(inbound.commandId, from);
            }
          }
          sendBack(event as BusEvent);
          return;
        }
        case 'launch_next':
          sendBack({ type: 'BUS.LAUNCH_NEXT', id: inbound.id, at: Date.now() });
          return;
        case 'action_log':
          writeActionLog(inbound.data);
          return;
        case 'diag': {
          const id = clusterOfNonce.get(inbound.nonce);
          if (id === undefined) {
            log.warn({ nonce: inbound.nonce, from }, 'ignored a diagnostic answer with an unknown or stale nonce');
            return;
          }
          clusterOfNonce.delete(inbound.nonce);
          nonceOfCluster.delete(id);
          // Straight to the cluster's Instance actor: the orchestrator need not see every answer.
          instanceActor(system, id)?.send({
            type: 'DIAG_ANSWER',
            nonce: inbound.nonce,
            health: inbound.health,
            at: Date.now(),
          });
        }
      }
    };

    const stopListening = transport.listen(
      (message, from) => {
        if (stopped) return;
        const inbound = typeof message === 'string' ? parseInbound(message, options.maxMessageBytes) : interpretInbound(message);
        handle(inbound, message, from);
      },
      (value) => {
        if (stopped || up === value) return;
        up = value;
        sendBack({ type: value ? 'BUS.UP' : 'BUS.DOWN' });
      },
    );

    receive((command) => {
      switch (command.type) {
        case 'DIAG_REQUEST': {
          const previous = nonceOfCluster.get(command.id);
          if (previous !== undefined) clusterOfNonce.delete(previous);
          nonceOfCluster.set(command.id, command.nonce);
          clusterOfNonce.set(command.nonce, command.id);
          transport.send(diagRequestMessage(command.id, command.nonce), { to: command.id });
          return;
        }
        case 'REPLY':
          transport.send(replyMessage(command.commandId, busOutput(command.action, command.result)), replyTo(command.commandId));
          return;
        case 'ANNOUNCE':
          transport.send(broadcastMessage(command.action, randomLetters(16)), { to: 'all' });
          return;
        case 'ACTION_LOG':
          writeActionLog(command.entry);
      }
    });

    return () => {
      stopped = true;
      stopListening();
    };
  });
}

/** The `statuses` payload: a map keyed by cluster id; the Go fields first, then what this supervisor adds. */
export function statusesPayload(views: readonly ClusterView[]): Encoded {
  const lines = views.map((v) => {
    let line = encodedStatus.get(v);
    if (!line) encodedStatus.set(v, (line = new Encoded(statusOf(v))));
    return line;
  });
  // Asked again with no cluster changed since (a dashboard polling, a bot's status command): the same bytes.
  if (lines.length !== lastStatuses.lines.length || lines.some((line, i) => line !== lastStatuses.lines[i])) {
    const payload = new Map(views.map((v, i) => [String(v.id), lines[i]]));
    lastStatuses = { lines, payload: new Encoded(payload) };
  }
  return lastStatuses.payload;
}

// A cluster's view only changes with its snapshot, so its line is encoded once per change, not once per request.
const encodedStatus = new WeakMap<ClusterView, Encoded>();
let lastStatuses: { lines: readonly Encoded[]; payload: Encoded } = { lines: [], payload: new Encoded(new Map()) };

function statusOf(v: ClusterView) {
  return {
    active: v.active,
    status: v.state,
    name: v.name,
    started_at: v.started_at === null ? GO_ZERO_TIME : Math.floor(v.started_at / 1000),
    shard_list: v.shards,
    pid: v.pid,
    restarts: v.restarts,
    up_at: v.up_at === null ? null : Math.floor(v.up_at / 1000),
    last_exit: v.last_exit,
    // A summary: every cluster receives every reply on Redis, so statuses stays small (the HTTP API has each shard).
    last_diag: v.last_diag ? { at: Math.floor(v.last_diag.at / 1000), ...statusesHealth(v.last_diag.health) } : null,
    down_reason: v.down_reason,
    backoff_ms: v.backoff_ms,
    failed_reason: v.failed_reason,
  };
}

/** The health summary, with the latency to a tenth of a millisecond, as statuses has always given it. */
function statusesHealth(health: readonly ShardHealth[]) {
  const summary = healthSummary(health);
  return { ...summary, latency: summary.latency === null ? null : Math.round(summary.latency * 10) / 10 };
}

/** What a command's reply carries on the bus: "ok", a payload, or the reason it was refused. */
export function busOutput(action: CommandAction, result: CommandResult): unknown {
  if (!result.ok) return result.reason;
  if (action === 'statuses') return statusesPayload((result.value as ClusterView[]) ?? []);
  if (action === 'num_processes') return result.value;
  return 'ok';
}
