import { hostname } from 'node:os';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { currentHealth, type ClusterView, type InstanceGroup } from '../interfaces/clusterView.js';
import type { GatewayInfo } from '../interfaces/gateway.js';
import {
  bucketsOf,
  PHASES,
  rolloutViewOf,
  viewOf,
  type RollingRestartSnapshot,
  type RolloutView,
  type InstanceSnapshot,
  type LaunchSlotSnapshot,
  type OrchestratorSnapshot,
  type Phase,
} from '../machines/index.js';
import { describeEntry, healthSummary, type ActionLogEntry, type HealthSummary, type ShardHealth } from '../protocol/index.js';

export { PHASES, type Phase };

/**
 * What operators watch: every cluster's state as it changes, diagnostics, the
 * action log and the orchestrator's phase, as numbered messages. It reads the
 * actor system through XState's inspection hook, so the machines do not know
 * they are watched.
 */

/**
 * A cluster as the HTTP API and the live stream show it: its view, plus its
 * recent state changes, oldest first (without the running ⇄ diagPending
 * cycle of every diagnostic).
 */
export interface Transition {
  state: string;
  group: InstanceGroup;
  at: number;
}

export interface ApiCluster extends ClusterView {
  /** The node (machine) that runs it: this supervisor's, the host name unless the config names it. */
  node: string;
  transitions: Transition[];
  /** Its last diagnostic in short (shards up, mean latency of those whose latency is known): the one summary every view shows. */
  health: HealthSummary | null;
}

export interface PhaseInfo {
  phase: Phase;
  bus: { kind: string; up: boolean };
}

export interface GatewayView {
  shards: number | null;
  source: GatewayInfo['source'] | null;
  session_start_limit: { total: number; remaining: number; reset_after: number; max_concurrency: number } | null;
  /** The identify buckets launches share (max_concurrency, capped by the config); null before the shard count is known. */
  identify_buckets: number | null;
  /** Session starts left by the supervisor's count (Discord's, less the shards launched since); null when Discord is not asked. */
  session_starts_left: number | null;
  clusters: number;
}

export type LiveMessage =
  | ({
      type: 'snapshot';
      seq: number;
      clusters: ApiCluster[];
      gateway: GatewayView;
      rollout: RolloutView | null;
      action_logs: Record<string, unknown>[];
      /** The sentence of each of action_logs, in the same order (null for one that has none). */
      action_log_texts: (string | null)[];
    } & PhaseInfo)
  | { type: 'cluster'; seq: number; cluster: ApiCluster }
  | { type: 'diagnostic'; seq: number; id: number; at: number; health: ShardHealth[]; summary: HealthSummary | null; fresh: boolean }
  /** `text`: the sentence an operator reads for it (docs/protocol.md, action log), null for a shortened entry. */
  | { type: 'action_log'; seq: number; entry: Record<string, unknown>; text: string | null }
  | ({ type: 'phase'; seq: number } & PhaseInfo)
  | { type: 'gateway'; seq: number; gateway: GatewayView }
  /** The rolling restart's progress, as it changes; the last one's outcome stays until the next begins. */
  | { type: 'rollout'; seq: number; rollout: RolloutView };

type Unsequenced<T> = T extends { seq: number } ? Omit<T, 'seq'> : never;

const TRANSITIONS_KEPT = 20;
const ACTION_LOGS_KEPT = 200;
/** An action log entry kept for the live stream is at most this much JSON; a bigger one is kept in short. */
export const ENTRY_BYTES = 4 * 1024;
/** The action log of a snapshot is at most this much JSON (the newest entries): every client gets one when it connects. */
export const SNAPSHOT_LOG_BYTES = 256 * 1024;

type Entry = Record<string, unknown>;

/**
 * An entry's JSON, or undefined when it has none. Entries come from the
 * clusters through the bus: one may be nested too deep for JSON.stringify
 * (a RangeError), or hold what JSON cannot (a BigInt, a cycle).
 */
export function entryJson(entry: unknown): string | undefined {
  try {
    const json = JSON.stringify(entry);
    return typeof json === 'string' ? json : undefined;
  } catch {
    return undefined;
  }
}

/** What stands in for an entry too big to pass on, or that cannot be serialized (bytes: null): its event and time. */
export function shortEntry(entry: unknown, bytes: number | null): Entry {
  const { event, ts } = (typeof entry === 'object' && entry !== null ? entry : {}) as Entry;
  return {
    ...(typeof event === 'string' && { event: event.slice(0, 200) }),
    ...(typeof ts === 'number' && Number.isFinite(ts) && { ts }),
    truncated: true,
    bytes,
  };
}

/**
 * The sentence of an entry (protocol's describeEntry), null when there is
 * none to give: a cluster may write an entry with a supervisor event's name
 * and not its fields.
 */
function sentenceOf(entry: Entry): string | null {
  try {
    return describeEntry(entry as ActionLogEntry);
  } catch {
    return null;
  }
}

/** The entry as the live state keeps it, its sentence, and the size of both. */
function bounded(entry: Entry): { entry: Entry; text: string | null; bytes: number } {
  const json = entryJson(entry);
  const bytes = json === undefined ? null : Buffer.byteLength(json);
  // What is not an object (a Redis row of "null") would break the dashboard, which reads entry.event.
  const plain = typeof entry === 'object' && entry !== null && !Array.isArray(entry);
  if (plain && bytes !== null && bytes <= ENTRY_BYTES) {
    const text = sentenceOf(entry);
    return { entry, text, bytes: bytes + (text === null ? 0 : Buffer.byteLength(text)) };
  }
  const short = shortEntry(entry, bytes);
  return { entry: short, text: null, bytes: Buffer.byteLength(JSON.stringify(short)) };
}

/** The phase operators are shown: the tag of the state the orchestrator is in, or the launch slot's while it waits for sessions. */
export function phaseOf(root: OrchestratorSnapshot, slot?: LaunchSlotSnapshot): Phase {
  if (root.status !== 'active') return 'stopped';
  if (slot?.status === 'active' && slot.hasTag('waiting for sessions')) return 'waiting for sessions';
  return PHASES.find((phase) => root.hasTag(phase)) ?? 'launching';
}

/** The view's fields come from the machine's context by reference: what did not change is the same value. */
const changedBesidesDiag = (a: ClusterView, b: ClusterView) =>
  (Object.keys(b) as (keyof ClusterView)[]).some((key) => key !== 'last_diag' && a[key] !== b[key]);

/** The summary of a cluster's current figures, null when there are none: the Cluster's `health`. */
function currentSummary(view: ClusterView): HealthSummary | null {
  const health = currentHealth(view);
  return health && healthSummary(health);
}

const isPingCycle = (from: string | undefined, to: string) =>
  (from === 'running' && to === 'diagPending') || (from === 'diagPending' && to === 'running');

/** The snapshot of an Instance actor (a cluster) that an inspection event carries, if it is one. */
export function instanceSnapshotOf(event: InspectionEvent): InstanceSnapshot | undefined {
  if (event.type !== '@xstate.snapshot' || !(event.actorRef as AnyActorRef).id.startsWith('cluster-')) return undefined;
  const snapshot = event.snapshot as InstanceSnapshot;
  return snapshot.context?.input ? snapshot : undefined;
}

export function createLiveState(options: { busKind: string; node?: string; now?: () => number }) {
  const now = options.now ?? Date.now;
  const node = options.node ?? hostname();
  const views = new Map<number, ClusterView>();
  const transitions = new Map<number, Transition[]>();
  // Each with the size of its JSON, to bound the snapshot without serializing it again.
  const actionLogs: ReturnType<typeof bounded>[] = [];
  const listeners = new Set<(message: LiveMessage) => void>();
  let root: OrchestratorSnapshot | undefined;
  /** The launch slot, once it runs: it keeps the count of session starts. */
  let slot: LaunchSlotSnapshot | undefined;
  /** The rolling restart running now, or the last one. */
  let rollout: RolloutView | null = null;
  let phase: PhaseInfo = { phase: 'discovering', bus: { kind: options.busKind, up: true } };
  let seq = 0;

  const emit = (message: Unsequenced<LiveMessage>) => {
    const sequenced = { ...message, seq: ++seq } as LiveMessage;
    for (const listener of listeners) listener(sequenced);
  };

  const cluster = (id: number): ApiCluster | undefined => {
    const view = views.get(id);
    return view && { ...view, node, transitions: transitions.get(id) ?? [], health: currentSummary(view) };
  };

  const onInstance = (snapshot: InstanceSnapshot) => {
    const view = viewOf(snapshot);
    const before = views.get(view.id);
    views.set(view.id, view);
    if (before?.state !== view.state && !isPingCycle(before?.state, view.state)) {
      const history = transitions.get(view.id) ?? [];
      history.push({ state: view.state, group: view.group, at: now() });
      if (history.length > TRANSITIONS_KEPT) history.shift();
      transitions.set(view.id, history);
    }
    if (before && before.last_diag !== view.last_diag && view.last_diag) {
      emit({
        type: 'diagnostic',
        id: view.id,
        at: view.last_diag.at,
        health: view.last_diag.health,
        fresh: view.health_fresh,
        // As the cluster's `health`: null unless the figures are current.
        summary: currentSummary(view),
      });
    }
    if (!before || changedBesidesDiag(before, view)) emit({ type: 'cluster', cluster: cluster(view.id)! });
  };

  const gatewayView = (): GatewayView => {
    const g = root?.context.gateway ?? null;
    const limit = slot ? slot.context.sessionStartLimit : (g?.sessionStartLimit ?? null);
    return {
      shards: g?.shards ?? null,
      source: g?.source ?? null,
      session_start_limit: limit && {
        total: limit.total,
        remaining: limit.remaining,
        reset_after: limit.resetAfter,
        max_concurrency: limit.maxConcurrency,
      },
      identify_buckets: g && root ? bucketsOf(g, root.context.input) : null,
      session_starts_left: slot ? slot.context.sessionsLeft : (g?.sessionStartLimit?.remaining ?? null),
      clusters: root?.context.clusters.length ?? 0,
    };
  };

  const updatePhase = () => {
    if (!root) return;
    const next: PhaseInfo = { phase: phaseOf(root, slot), bus: { kind: options.busKind, up: root.context.busUp } };
    if (next.phase !== phase.phase || next.bus.up !== phase.bus.up) {
      phase = next;
      emit({ type: 'phase', ...phase });
    }
  };

  // The gateway message goes out when what it says changes (the shard count known, a session start counted, a fresh limit).
  let gatewaySaid = JSON.stringify(gatewayView());
  const sayGateway = () => {
    const view = gatewayView();
    const text = JSON.stringify(view);
    if (text === gatewaySaid) return;
    gatewaySaid = text;
    emit({ type: 'gateway', gateway: view });
  };

  const onRoot = (snapshot: OrchestratorSnapshot) => {
    const before = root?.context;
    root = snapshot;
    updatePhase();
    if (before && (snapshot.context.gateway !== before.gateway || snapshot.context.clusters !== before.clusters)) sayGateway();
  };

  const onSlot = (snapshot: LaunchSlotSnapshot) => {
    const before = slot?.context;
    slot = snapshot;
    updatePhase();
    if (!before || snapshot.context.sessionsLeft !== before.sessionsLeft || snapshot.context.sessionStartLimit !== before.sessionStartLimit)
      sayGateway();
  };

  const onRollout = (snapshot: RollingRestartSnapshot) => {
    const next = rolloutViewOf(snapshot);
    if (rollout && (Object.keys(next) as (keyof RolloutView)[]).every((key) => next[key] === rollout![key])) return;
    rollout = next;
    emit({ type: 'rollout', rollout });
  };

  return {
    /** XState's inspection hook: pass to createActor({ inspect }). */
    inspect(event: InspectionEvent) {
      if (event.type !== '@xstate.snapshot') return;
      const instance = instanceSnapshotOf(event);
      if (instance) onInstance(instance);
      else if (event.actorRef.sessionId === event.rootId) onRoot(event.snapshot as OrchestratorSnapshot);
      else if ((event.actorRef as AnyActorRef).id === 'launchSlot') onSlot(event.snapshot as LaunchSlotSnapshot);
      else if ((event.actorRef as AnyActorRef).id === 'rollingRestart') onRollout(event.snapshot as RollingRestartSnapshot);
    },
    /** A new action log entry (from the bus). */
    actionLog(entry: Record<string, unknown>) {
      const kept = bounded(entry);
      actionLogs.push(kept);
      if (actionLogs.length > ACTION_LOGS_KEPT) actionLogs.shift();
      emit({ type: 'action_log', entry: kept.entry, text: kept.text });
    },
    /** Entries written before the web server started (read back from the bus). */
    seedActionLogs(entries: Record<string, unknown>[]) {
      // Entries that arrived live meanwhile are in both lists.
      const firstLive = actionLogs[0]?.entry.ts as number | undefined;
      const older = firstLive === undefined ? entries : entries.filter((e) => ((e as Entry | null)?.ts as number) < firstLive);
      actionLogs.unshift(...older.slice(-ACTION_LOGS_KEPT).map(bounded));
      actionLogs.splice(0, Math.max(0, actionLogs.length - ACTION_LOGS_KEPT));
    },
    clusters: () => [...views.keys()].sort((a, b) => a - b).map((id) => cluster(id)!),
    cluster,
    phase: () => phase,
    gateway: gatewayView,
    rollout: () => rollout,
    /** The whole state, numbered like the messages that follow it; of the action log, the newest entries up to SNAPSHOT_LOG_BYTES. */
    snapshot(): LiveMessage {
      const logs: ReturnType<typeof bounded>[] = [];
      let bytes = 0;
      for (let i = actionLogs.length - 1; i >= 0; i--) {
        bytes += actionLogs[i]!.bytes + 1;
        if (bytes > SNAPSHOT_LOG_BYTES) break;
        logs.push(actionLogs[i]!);
      }
      logs.reverse();
      return {
        type: 'snapshot',
        seq,
        ...phase,
        clusters: this.clusters(),
        gateway: gatewayView(),
        rollout,
        action_logs: logs.map((l) => l.entry),
        action_log_texts: logs.map((l) => l.text),
      };
    },
    subscribe(listener: (message: LiveMessage) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export type LiveState = ReturnType<typeof createLiveState>;
