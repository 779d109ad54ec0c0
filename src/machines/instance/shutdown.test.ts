import { describe, expect, it } from 'vitest';
import { fromCallback, SimulatedClock, type AnyEventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { advance, underParent } from '../../../tests/helpers/machines.js';
import type { ProcessCommand, ProcessEvent, ProcessInput } from '../../interfaces/clusterProcess.js';
import { instanceMachine, type InstanceSnapshot } from './machine.js';
import type { InstanceEvent, InstanceInput } from './types.js';

/**
 * Shutdown finishes from every state of a cluster (model-based, over
 * xstate/graph's paths): whatever the Instance machine is doing when the
 * supervisor stops it, cluster.stop ends in `stopped` with cluster.stopped reported
 * (what the orchestrator's shutdown waits for), within kill_timeout and the
 * grace of a SIGKILL, for a process that obeys SIGTERM and for one that
 * ignores it. A state that forgot cluster.stop (as `stopped` once did) hangs the
 * shutdown; this finds it.
 */

const timing = { pingInterval: 1000, pingTimeout: 500, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 3000 };
const input: InstanceInput = {
  cluster: { id: 0, name: 'A', shards: [0] },
  shardCount: 1,
  clusterCount: 1,
  timing,
  restart: {
    backoffInitial: 100,
    backoffFactor: 2,
    backoffMax: 1000,
    jitter: 0,
    resetAfter: 10_000,
    maxRestarts: 2,
    within: 60_000,
    noRestartExitCodes: [78],
  },
  nonceSalt: 's',
  seed: 1,
};

/** What the supervisor, the bus and time can do to a cluster, for the graph to combine. */
const COMMANDS: InstanceEvent[] = [
  { type: 'slot.granted' },
  { type: 'cluster.start' },
  { type: 'cluster.stop' },
  { type: 'cluster.restart' },
  { type: 'cluster.kill' },
  { type: 'bus.launchNext', at: 0 },
  { type: 'bus.down' },
  { type: 'bus.up' },
  { type: 'bus.caughtUp', token: 's-0-1' },
  { type: 'bus.caughtUp', token: 'launch-1' },
  ...[
    'waitingLaunchNext.launchTimeout',
    'running.pingInterval',
    'diagPending.pingTimeout',
    'backoff.backoff',
    'diagOverdue.overdueLimit',
  ].map((key) => {
    const [state, delay] = key.split('.');
    return { type: `xstate.after.${delay}.instance.${state}` } as unknown as InstanceEvent;
  }),
];

/**
 * What the process adapter can report in a state, as the real one can: a spawn's outcome only
 * while one is under way (no pid yet after LAUNCH), an exit only with a process, REAPED only
 * once it is gone (in `dead`).
 */
function processEvents(s: InstanceSnapshot): InstanceEvent[] {
  const events: InstanceEvent[] = [];
  const spawning = s.context.pid === null && s.context.launches > 0 && ['starting', 'stopping', 'restarting'].includes(s.value as string);
  if (spawning) events.push({ type: 'process.spawned', pid: 1, at: 0 }, { type: 'process.spawnFailed', error: 'x', at: 0 });
  if (s.context.pid !== null)
    events.push({ type: 'process.exited', code: 1, signal: null, at: 0 }, { type: 'process.exited', code: 78, signal: null, at: 0 });
  if (s.value === 'dead' && s.context.pid === null) events.push({ type: 'process.reaped', at: 0 });
  return events;
}

/**
 * A stand-in for the process adapter that does only what the test says while
 * the path is replayed, then behaves as the real one would: a process that
 * exits on SIGTERM (unless `stubborn`) and on SIGKILL, and REAP answered once
 * nothing runs.
 */
function processWorld(clock: SimulatedClock, stubborn: boolean) {
  const world = { alive: false, spawnPending: false, reapPending: false, live: false };
  let sendBack: ((event: ProcessEvent) => void) | undefined;
  const exit = (signal: string) => {
    world.alive = false;
    sendBack!({ type: 'process.exited', code: null, signal, at: clock.now() });
    if (world.reapPending) {
      world.reapPending = false;
      sendBack!({ type: 'process.reaped', at: clock.now() });
    }
  };
  const logic = fromCallback<ProcessCommand, ProcessInput, ProcessEvent>(({ sendBack: sb, receive }) => {
    sendBack = sb;
    receive((command) => {
      if (!world.live) {
        if (command.type === 'process.spawn') world.spawnPending = true;
        if (command.type === 'process.reap') world.reapPending = true;
        return;
      }
      switch (command.type) {
        case 'process.spawn':
          world.alive = true;
          sb({ type: 'process.spawned', pid: 2, at: clock.now() });
          return;
        case 'process.signal':
          if (world.alive && (command.signal === 'SIGKILL' || !stubborn)) exit(command.signal);
          return;
        case 'process.reap':
          if (world.alive) {
            world.reapPending = true;
            exit('SIGKILL');
          } else {
            queueMicrotask(() => sb({ type: 'process.reaped', at: clock.now() }));
          }
      }
    });
  });
  /** What the path's own process events said happened. */
  const saw = (event: AnyEventObject) => {
    if (event.type === 'process.spawned') {
      world.alive = true;
      world.spawnPending = false;
    }
    if (event.type === 'process.spawnFailed') world.spawnPending = false;
    if (event.type === 'process.exited') world.alive = false;
    if (event.type === 'process.reaped') world.reapPending = false;
  };
  /** From now on the world answers as the real adapter: a spawn under way completes, a pending REAP is answered. */
  const goLive = () => {
    world.live = true;
    if (world.spawnPending) {
      world.spawnPending = false;
      world.alive = true;
      // The adapter spawned at once; its SPAWNED is queued behind whatever came first.
      queueMicrotask(() => sendBack!({ type: 'process.spawned', pid: 2, at: clock.now() }));
    }
    if (world.reapPending) {
      if (world.alive) exit('SIGKILL');
      else {
        world.reapPending = false;
        queueMicrotask(() => sendBack!({ type: 'process.reaped', at: clock.now() }));
      }
    }
  };
  return { logic, world, saw, goLive };
}

// The graph walks the machine alone: what it says to its parent and the bus goes nowhere.
const silent = Object.fromEntries(
  [
    'requestLaunchSlot',
    'reportUp',
    'reportDown',
    'reportRestarting',
    'reportRestartSkipped',
    'reportStopped',
    'reportFailed',
    'requestDiag',
    'catchUp',
    'obeyOperator',
  ].map((a) => [a, () => {}]),
);
const paths = getShortestPaths(instanceMachine.provide({ actions: silent }), {
  input,
  events: (s) => [...COMMANDS, ...processEvents(s as InstanceSnapshot)],
  // Shutdown depends on the state, whether a stop was asked already, whether a process exists, and how the last one ended.
  serializeState: (s) => JSON.stringify([s.value, s.context.stopRequested, s.context.pid !== null, s.context.lastExit?.code]),
  limit: 5000,
});

describe('shutdown from every state of a cluster', () => {
  it('the graph reaches every state', () => {
    const reached = new Set(paths.map((p) => p.state.value as string));
    expect([...reached].sort()).toEqual(Object.keys(instanceMachine.root.states).sort());
  });

  for (const stubborn of [false, true]) {
    const behaviour = stubborn ? 'that ignores SIGTERM' : 'that obeys SIGTERM';
    it.each(paths.map((p) => [JSON.stringify(p.state.value), p.steps.map((s) => s.event.type).join(' → ') || '(start)', p] as const))(
      `from %s (after %s), with a process ${behaviour}: stopped within kill_timeout + 1 s`,
      async (_state, _how, path) => {
        const clock = new SimulatedClock();
        const world = processWorld(clock, stubborn);
        const { child, reports } = underParent(instanceMachine.provide({ actors: { clusterProcess: world.logic } }), input, clock, {
          confirmOverdue: false,
        });
        for (const step of path.steps) {
          world.saw(step.event);
          child().send(step.event as InstanceEvent);
        }
        const snap = () => child().getSnapshot() as InstanceSnapshot;
        expect(snap().value).toEqual(path.state.value);

        const before = reports.length;
        world.goLive();
        child().send({ type: 'cluster.stop' });
        // The supervisor's shutdown: kill_timeout for SIGTERM, then a second for the SIGKILL's exit.
        for (let t = 0; t <= timing.killTimeout + 1000 && snap().value !== 'stopped'; t += 50) {
          await Promise.resolve();
          advance(clock, 50);
        }
        await Promise.resolve();
        expect(snap().value).toBe('stopped');
        // What the orchestrator's shutdown waits for (a stop asked before this one may have said it first).
        expect(reports.slice(before).filter((r) => r.type === 'cluster.stopped').length).toBeGreaterThanOrEqual(1);
        expect(world.world.alive).toBe(false);
      },
    );
  }
});
