import type { ChildProcess } from 'node:child_process';
import type { CallbackActorLogic } from 'xstate';
import type { BusCommand, BusEvent } from './bus.js';
import type { HistoryStore } from './history.js';
import type { SessionStore } from './sessions.js';

/**
 * A bus adapter as the composition root wires it (src/adapters/bus/: Redis,
 * or the embedded IPC bus); both pass one conformance suite
 * (tests/bus.conformance.test.ts). The machines know only its actor.
 */
export interface BusAdapter {
  kind: 'redis' | 'ipc';
  /** The orchestrator's `bus` child: turns messages into events, and the machines' requests into messages. */
  actor: CallbackActorLogic<BusCommand, void, BusEvent>;
  /** How cluster processes reach it, for the process adapter. */
  link: ClusterLink;
  actionLog: ActionLogStore;
  /** Where the web server's sessions are kept, when this bus has a store to keep them (Redis). */
  sessions?: SessionStore;
  /** Where restart counts, last exits and the charts outlive a restart, when this bus has a store to keep them (Redis). */
  history?: HistoryStore;
  /** A message as if it had been published on the bus by someone outside (the Go version's POST /redis/pub). */
  publish(raw: string): Promise<void>;
  /** Flushes what is queued (the reply to `shutdown`, say) and lets go of connections. */
  close(): Promise<void>;
}

/** What launching a cluster process needs from the bus it will talk on. */
export interface ClusterLink {
  /** What cluster `id`'s process needs in its environment (MEWLD_BUS, ...). */
  env(id: number): Record<string, string>;
  /** Whether cluster processes get a Node IPC channel (stdio 'ipc'). */
  ipc: boolean;
  /** Every cluster process started is handed over: the IPC bus talks through them. */
  attach(id: number, child: ChildProcess): void;
}

/** Where the action log is kept (Redis's list, or memory). */
export interface ActionLogStore {
  /** The most recent entries, oldest first. */
  recent(limit?: number): Promise<Record<string, unknown>[]>;
  /** Every entry from now on, as it is written; returns a function that unsubscribes. */
  subscribe(listener: (entry: Record<string, unknown>) => void): () => void;
  /**
   * Where the log lives in memory only (the IPC bus): entries an earlier run
   * wrote, put before those written since, within the same bound. The
   * supervisor keeps such a log with the history (src/interfaces/history.ts).
   */
  restore?(entries: Record<string, unknown>[]): void;
}
