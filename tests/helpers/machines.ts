import { createActor, fromCallback, setup, SimulatedClock, type AnyActorLogic, type AnyActorRef, type AnyEventObject } from 'xstate';
import { instanceSystemId, type BusCommand, type BusEvent } from '../../src/interfaces/bus.js';
import type { ProcessCommand, ProcessEvent, ProcessInput } from '../../src/interfaces/clusterProcess.js';
import type { OrchestratorInput } from '../../src/machines/orchestrator/types.js';

/**
 * Test doubles for machine unit tests: a cluster process that obeys commands
 * at once, on a simulated clock. Only tests import this file.
 */
export interface FakeProcesses {
  logic: ReturnType<typeof fromCallback<ProcessCommand, ProcessInput, ProcessEvent>>;
  /** Every command each cluster's process adapter received, by cluster id. */
  commands: Map<number, ProcessCommand[]>;
  /** Cluster ids in the order their processes were spawned. */
  spawns: number[];
  /** Cluster ids in the order their processes were signalled (SIGTERM or SIGKILL). */
  signals: number[];
  alive: Map<number, number | null>;
  /** The process of cluster `id` exits by itself. */
  exit(id: number, code: number | null, signal?: string | null): void;
  /** SIGTERM does not stop the process (only SIGKILL does). */
  stubborn: Set<number>;
  /** SPAWN fails for these clusters (as with a missing executable). */
  unspawnable: Set<number>;
  /** Processes that even SIGKILL does not end until the test calls exit() (a process in uninterruptible sleep). */
  unkillable: Set<number>;
}

export function fakeProcesses(clock: SimulatedClock): FakeProcesses {
  const commands = new Map<number, ProcessCommand[]>();
  const spawns: number[] = [];
  const signals: number[] = [];
  const alive = new Map<number, number | null>();
  const senders = new Map<number, (e: ProcessEvent) => void>();
  const stubborn = new Set<number>();
  const unspawnable = new Set<number>();
  const unkillable = new Set<number>();
  let nextPid = 1000;
  const reapPending = new Set<number>();

  const exit = (id: number, code: number | null, signal: string | null = null) => {
    if (!alive.get(id)) return;
    alive.set(id, null);
    senders.get(id)?.({ type: 'process.exited', code, signal, at: clock.now(), lastLines: [`line from cluster ${id}`] });
    if (reapPending.delete(id)) senders.get(id)?.({ type: 'process.reaped', at: clock.now() });
  };

  const logic = fromCallback<ProcessCommand, ProcessInput, ProcessEvent>(({ input, sendBack, receive }) => {
    const id = input.cluster.id;
    senders.set(id, sendBack);
    commands.set(id, []);
    receive((command) => {
      commands.get(id)!.push(command);
      switch (command.type) {
        case 'process.spawn':
          if (alive.get(id)) throw new Error(`cluster ${id}: SPAWN while a process is alive`);
          if (unspawnable.has(id)) {
            sendBack({ type: 'process.spawnFailed', error: 'spawn ENOENT', at: clock.now() });
            return;
          }
          alive.set(id, nextPid++);
          spawns.push(id);
          sendBack({ type: 'process.spawned', pid: alive.get(id)!, at: clock.now() });
          return;
        case 'process.signal':
          signals.push(id);
          if (unkillable.has(id)) return;
          if (command.signal === 'SIGKILL' || !stubborn.has(id)) exit(id, null, command.signal);
          return;
        case 'process.reap':
          if (alive.get(id)) {
            reapPending.add(id);
            if (!unkillable.has(id)) exit(id, null, 'SIGKILL');
          } else {
            sendBack({ type: 'process.reaped', at: clock.now() });
          }
      }
    });
    return () => senders.delete(id);
  });
  return { logic, commands, spawns, signals, alive, exit, stubborn, unspawnable, unkillable };
}

/** An Instance actor's systemId, as the orchestrator gives it, so that the bus can reach it. */
const childSystemId = (input: unknown) => {
  const id = (input as { cluster?: { id?: unknown } } | undefined)?.cluster?.id;
  return typeof id === 'number' ? instanceSystemId(id) : undefined;
};

/** Starts `logic` as the only child of a recording parent, on a simulated clock. */
export function underParent(logic: AnyActorLogic, input: unknown, clock: SimulatedClock, { confirmOverdue = true } = {}) {
  const reports: AnyEventObject[] = [];
  // What the child sends to the bus (systemId "bus") is recorded with what it sends to its parent.
  // A bus with no backlog: an overdue diagnostic is confirmed missed at once (unless told not to).
  const bus = fromCallback<AnyEventObject>(({ receive, system }) =>
    receive((event) => {
      reports.push(event);
      if (event.type === 'bus.catchUp' && confirmOverdue)
        (system.get(instanceSystemId(event.id)) as AnyActorRef | undefined)?.send({ type: 'bus.caughtUp', token: event.token });
    }),
  );
  const parent = setup({ actors: { child: logic, bus } }).createMachine({
    invoke: [
      { id: 'child', src: 'child', systemId: childSystemId(input), input: () => input as never },
      { id: 'bus', src: 'bus', systemId: 'bus' },
    ],
    on: { '*': { actions: ({ event }) => void reports.push(event) } },
  });
  const actor = createActor(parent, { clock, logger: () => {} });
  actor.start();
  const child = () => actor.getSnapshot().children.child!;
  return { actor, child, reports };
}

/**
 * Moves a SimulatedClock forward to `ms` later, firing each timer at its own
 * deadline, so that timers set by other timers' callbacks fire on time too
 * (SimulatedClock.increment jumps straight to the end).
 */
export function advance(clock: SimulatedClock, ms: number): void {
  const target = clock.now() + ms;
  const timeouts = (clock as unknown as { timeouts: Map<number, { start: number; timeout: number }> }).timeouts;
  for (;;) {
    let next = Infinity;
    for (const t of timeouts.values()) next = Math.min(next, t.start + t.timeout);
    if (next > target) break;
    clock.set(Math.max(clock.now(), next));
  }
  clock.set(target);
}

/** A bus double: records what the orchestrator asks of it and lets a test speak as the bus. */
/** `up: false`: the bus does not come up by itself (send BUS.UP), as Redis that cannot be reached. */
export function fakeBus(clock: SimulatedClock, { up = true } = {}) {
  const received: BusCommand[] = [];
  let sendBack: ((e: BusEvent) => void) | undefined;
  let answer: ((id: number, nonce: string) => void) | undefined;
  /** Healthy clusters answer every diagnostic at once; switch off to test silence. */
  const options = { answerDiagnostics: true };
  const logic = fromCallback<BusCommand, void, BusEvent>(({ sendBack: sb, receive, system }) => {
    sendBack = sb;
    if (up) sb({ type: 'bus.up' });
    // As the real bus does: answers go straight to the cluster's Instance actor.
    answer = (id, nonce) =>
      (system.get(instanceSystemId(id)) as AnyActorRef | undefined)?.send({ type: 'diag.answer', nonce, health: [], at: clock.now() });
    receive((c) => {
      received.push(c);
      if (c.type === 'diag.request' && options.answerDiagnostics) answer!(c.id, c.nonce);
      // No backlog here: an overdue diagnostic is confirmed missed at once.
      if (c.type === 'bus.catchUp')
        (system.get(instanceSystemId(c.id)) as AnyActorRef | undefined)?.send({ type: 'bus.caughtUp', token: c.token });
    });
  });
  return {
    logic,
    received,
    options,
    send(event: BusEvent) {
      if (!sendBack) throw new Error('the bus is not running');
      sendBack(event);
    },
    /** A cluster's answer to a diagnostic, with the nonce it says it answers. */
    answer(id: number, nonce: string) {
      if (!answer) throw new Error('the bus is not running');
      answer(id, nonce);
    },
    replies: () => received.filter((c): c is Extract<BusCommand, { type: 'command.reply' }> => c.type === 'command.reply'),
    actionLogs: () => received.flatMap((c) => (c.type === 'actionLog.write' ? [c.entry] : [])),
  };
}

/**
 * Hosts a bus actor the way the orchestrator does (systemId "bus"), with
 * stand-ins for `clusters` Instance actors (systemIds "cluster-<id>") that
 * record what the bus sends them straight, tagged with `to`.
 */
export function busHost(busLogic: AnyActorLogic, clusters: number) {
  const reports: AnyEventObject[] = [];
  const instance = fromCallback<AnyEventObject, { id: number }>(({ input, receive }) =>
    receive((event) => void reports.push({ ...event, to: input.id })),
  );
  const host = setup({ actors: { bus: busLogic, instance } }).createMachine({
    invoke: [
      { id: 'bus', src: 'bus', systemId: 'bus' },
      ...Array.from({ length: clusters }, (_, id) => ({
        id: instanceSystemId(id),
        src: 'instance' as const,
        systemId: instanceSystemId(id),
        input: { id },
      })),
    ],
    on: { '*': { actions: ({ event }) => void reports.push(event) } },
  });
  const actor = createActor(host, { logger: () => {} });
  actor.start();
  const bus = () => actor.getSnapshot().children.bus!;
  return { actor, bus, reports };
}

/** The orchestrator's input in its unit tests: 8 shards in 4 clusters, no jitter, fleet protection off. */
export const orchestratorInput: OrchestratorInput = {
  perCluster: 2,
  names: ['Alpha', 'Beta'],
  fixedShardCount: 8,
  minimumSafeSessions: 5,
  startNextDelay: 1000,
  timing: { pingInterval: 10_000, pingTimeout: 2000, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 0 },
  restart: {
    backoffInitial: 500,
    backoffFactor: 2,
    backoffMax: 5000,
    jitter: 0,
    resetAfter: 60_000,
    maxRestarts: 5,
    within: 60_000,
    noRestartExitCodes: [],
  },
  fleet: { crashRatio: 1, window: 10_000, pause: 20_000 },
  nonceSalt: 'n',
  seed: 42,
};
