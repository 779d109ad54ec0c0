import type { ActionLogEntry, ShardHealth } from '../protocol/index.js';
import type { Command, CommandReply } from './commands.js';

/**
 * The bus port: what the machines need of the bus, whatever carries it
 * (src/adapters/bus/: Redis, or the embedded IPC bus). The bus actor runs as
 * the orchestrator's child with systemId "bus"; it sends what concerns one
 * cluster straight to that cluster's Instance actor (systemId
 * instanceSystemId(id)): diagnostics are the busiest traffic, and the
 * orchestrator need not see them.
 */

export const BUS_SYSTEM_ID = 'bus';

/** The systemId of cluster `id`'s Instance actor: how the orchestrator and the bus address it. */
export const instanceSystemId = (id: number) => `cluster-${id}`;

/** What the bus feeds the orchestrator. Its first bus.up or bus.down as soon as it knows; nothing is launched before bus.up. */
export type BusEvent =
  | Command
  /** `id` undefined: a launch_next that named no cluster, for the cluster that holds the launch slot (as the Go version took it). */
  | { type: 'bus.launchNext'; id: number | undefined; at: number }
  /** identify_wait and identified (docs/protocol.md, identify turns). */
  | { type: 'bus.identifyWait'; id: number }
  | { type: 'bus.identified'; id: number }
  | { type: 'bus.up' }
  | { type: 'bus.down' }
  /** Another supervisor runs this bot on this bus: launch nothing, or stop what runs. */
  | { type: 'bus.refused'; reason: string };

/** What the bus sends an Instance actor directly. */
export type BusToInstance =
  | { type: 'diag.answer'; nonce: string; health: ShardHealth[]; at: number }
  /** Everything that had reached the supervisor when bus.catchUp `token` was asked has been read. */
  | { type: 'bus.caughtUp'; token: string };

/** What the machines ask of the bus. */
export type BusCommand =
  /** `launch` numbers the cluster's processes: what the bus learnt about one does not carry over to the next. */
  | { type: 'diag.request'; id: number; nonce: string; launch: number }
  /**
   * A deadline has passed without what the cluster owed: read everything that
   * has arrived so far (the supervisor may be behind, not the cluster), then
   * answer bus.caughtUp with `token`.
   */
  | { type: 'bus.catchUp'; id: number; token: string }
  | { type: 'bus.announce'; action: 'all_clusters_launched' }
  /** Cluster `id` may identify now: it asked for its turn (docs/architecture.md, identify turns). */
  | { type: 'identify.turn'; id: number }
  | { type: 'actionLog.write'; entry: ActionLogEntry }
  | CommandReply;
