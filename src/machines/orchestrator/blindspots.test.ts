import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { advance, fakeBus, fakeProcesses, orchestratorInput } from '../../../tests/helpers/machines.js';
import type { GatewayInfo } from '../../interfaces/gateway.js';
import { instanceMachine, type InstanceSnapshot } from '../instance/machine.js';
import { launchSlotMachine } from '../launchSlot/machine.js';
import { orchestratorMachine, type OrchestratorSnapshot } from './machine.js';
import type { OrchestratorInput } from './types.js';

/**
 * The orchestrator with fake processes on a simulated clock, for what its own
 * tests (machine.test.ts) left unchecked: identify buckets that clusters'
 * shard lists share only in part, and fleet pauses that double when they
 * come one after another.
 */

const baseInput: OrchestratorInput = {
  ...orchestratorInput,
  // Diagnostics far apart: the fake bus answers them, but they are not what is tested.
  timing: { ...orchestratorInput.timing, pingInterval: 3_600_000 },
  restart: { ...orchestratorInput.restart, maxRestarts: 1000 },
  seed: 7,
};

function start(input: Partial<OrchestratorInput> = {}) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const bus = fakeBus(clock);
  const discord = fromPromise<GatewayInfo>(() => Promise.reject(new Error('no gateway in this test')));
  const machine = orchestratorMachine.provide({
    actors: {
      instance: instanceMachine.provide({ actors: { clusterProcess: procs.logic } }),
      launchSlot: launchSlotMachine.provide({ actors: { gateway: discord } }),
      bus: bus.logic,
      gateway: discord,
    },
  });
  const actor = createActor(machine, { input: { ...baseInput, ...input }, clock, logger: () => {} });
  actor.start();
  const snap = () => actor.getSnapshot() as OrchestratorSnapshot;
  const ids = () => snap().context.clusters.map((c) => c.id);
  const instance = (id: number) => snap().children[`cluster-${id}`]!.getSnapshot() as InstanceSnapshot;
  const launchNextForWaiting = () => {
    for (const id of ids()) {
      if (instance(id).value === 'waitingLaunchNext') bus.send({ type: 'bus.launchNext', id, at: clock.now() });
    }
  };
  const command = (type: string, extra: Record<string, unknown> = {}) =>
    actor.send({ type, replyTo: 'bus', commandId: `c${bus.received.length}`, ...extra } as never);
  const paused = () => snap().matches({ supervising: { fleet: 'paused' } });
  return { clock, tick: (ms: number) => advance(clock, ms), procs, bus, snap, ids, instance, launchNextForWaiting, command, paused };
}

describe('identify buckets shared in part (3 shards a cluster, 4 buckets)', () => {
  // Clusters 0-3 hold shards 0-2, 3-5, 6-8, 9-11: buckets {0,1,2}, {3,0,1}, {2,3,0}, {1,2,3}.
  // Every two of them share a bucket, and none shares all of its buckets with another.
  const input = { fixedShardCount: 12, perCluster: 3, maxConcurrency: 4 };

  /** Clusters with a process that has not said launch_next yet: those identifying with Discord. */
  const launching = (t: ReturnType<typeof start>) =>
    t.ids().filter((id) => t.instance(id).hasTag('starting') && t.instance(id).hasTag('alive'));

  /** Two launching clusters that use the same bucket, if any. */
  const sharedBucket = (t: ReturnType<typeof start>) => {
    const owner = new Map<number, number>();
    for (const id of launching(t)) {
      for (const shard of t.instance(id).context.input.cluster.shards) {
        const bucket = shard % 4;
        const other = owner.get(bucket);
        if (other !== undefined && other !== id) return { bucket, clusters: [other, id] };
        owner.set(bucket, id);
      }
    }
    return null;
  };

  it('the first launch goes one cluster at a time, since each shares a bucket with every other', () => {
    const t = start(input);
    expect(t.instance(1).context.input.cluster.shards).toEqual([3, 4, 5]);
    for (let id = 0; id < 4; id++) {
      expect(launching(t)).toEqual([id]);
      expect(sharedBucket(t)).toBeNull();
      t.launchNextForWaiting();
      t.tick(1000);
    }
    expect(launching(t)).toEqual([]);
    expect(t.ids().map((id) => t.instance(id).value)).toEqual(['running', 'running', 'running', 'running']);
  });

  it('restarts and operator starts queued together still launch without sharing a bucket', () => {
    const t = start(input);
    for (let id = 0; id < 4; id++) {
      t.launchNextForWaiting();
      t.tick(1000);
    }
    // Everyone wants the slot at once: three crashes and an operator restart.
    t.procs.exit(0, 1);
    t.procs.exit(1, 1);
    t.procs.exit(3, 1);
    t.command('command.restart', { id: 2 });
    const check = () => {
      expect(sharedBucket(t)).toBeNull();
      expect(launching(t).length).toBeLessThanOrEqual(1);
    };
    check();
    for (let step = 0; step < 24; step++) {
      t.tick(250);
      check();
      if (step % 4 === 3) t.launchNextForWaiting();
    }
    expect(t.ids().map((id) => t.instance(id).value)).toEqual(['running', 'running', 'running', 'running']);
  });

  it('any sequence of crashes, commands and time: no two launching clusters ever share a bucket', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constantFrom('start', 'stop', 'restart'), id: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant('crash'), id: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant('launch_next') }),
      fc.record({ op: fc.constant('tick'), ms: fc.integer({ min: 1, max: 6000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const t = start(input);
        for (const s of steps) {
          if (s.op === 'tick') t.tick(s.ms);
          else if (s.op === 'launch_next') t.launchNextForWaiting();
          else if (s.op === 'crash') t.procs.exit(s.id, 1);
          else t.command(`command.${s.op}`, { id: s.id });
          expect(sharedBucket(t)).toBeNull();
        }
      }),
      { numRuns: 100, seed: 31 },
    );
  });
});

describe('fleet protection, pause after pause', () => {
  // 8 clusters; more than a quarter of them down within 10 s pauses automatic restarts.
  const input = { fixedShardCount: 16, fleet: { crashRatio: 0.25, window: 10_000, pause: 20_000 } };

  /** How long the fleet stays paused from now (to 50 ms), checking that no automatic restart spawns meanwhile. */
  function pauseLength(t: ReturnType<typeof start>) {
    expect(t.paused()).toBe(true);
    const spawns = t.procs.spawns.length;
    let elapsed = 0;
    while (t.paused()) {
      expect(t.procs.spawns.length).toBe(spawns);
      t.tick(50);
      elapsed += 50;
      if (elapsed > 10 * 60_000) throw new Error('still paused after ten minutes');
    }
    return elapsed;
  }

  it('the second pause in a row lasts twice the first; once the bot is whole again, the next pause is the first one again', () => {
    const t = start(input);
    for (let i = 0; i < 8; i++) {
      t.launchNextForWaiting();
      t.tick(1000);
    }
    expect(t.ids().every((id) => t.instance(id).value === 'running')).toBe(true);

    // A bad deploy: three clusters die at once.
    for (const id of [0, 1, 2]) t.procs.exit(id, 1);
    const first = pauseLength(t);
    expect(first).toBe(20_000);
    // Restarts resume, one cluster at a time; before the bot is whole, three more die.
    t.launchNextForWaiting();
    for (const id of [3, 4, 5]) t.procs.exit(id, 1);
    const second = pauseLength(t);
    expect(second).toBe(2 * first);
    // Let everything come back: the bot is whole, and a pause after that is a first pause again.
    for (let i = 0; i < 12; i++) {
      t.tick(5000);
      t.launchNextForWaiting();
    }
    expect(t.ids().every((id) => t.instance(id).value === 'running')).toBe(true);
    for (const id of [5, 6, 7]) t.procs.exit(id, 1);
    expect(pauseLength(t)).toBe(first);
    expect(t.bus.actionLogs().flatMap((e) => (e.event === 'fleet_paused' ? [e.pause_ms] : []))).toEqual([20_000, 40_000, 20_000]);
  });
});
