import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { allocatedBy } from '../../../bench/allocation.mjs';
import { advance, fakeBus, fakeProcesses, orchestratorInput } from '../../../tests/helpers/machines.js';
import { instanceMachine } from '../instance/machine.js';
import { orchestratorMachine } from './machine.js';

/**
 * Ending the supervisor must cost O(clusters). It cost O(clusters²): XState
 * stopped a finished machine's children one stopChild at a time, each
 * copying the map of the children left (33 s for 10,000 clusters,
 * bench/README.md; patches/README.md). Counted in bytes allocated during the
 * shutdown (V8's sampling heap profiler), not in time: the test machine is
 * shared, and every one of those copies is an allocation. The shutdown's own
 * list of clusters still to stop is held to its share in waitList.test.ts.
 */

/** `clusters` clusters launched and running, then shut down: the bytes allocated per cluster by the shutdown. */
async function shutdownBytesPerCluster(clusters: number) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const bus = fakeBus(clock);
  const machine = orchestratorMachine.provide({
    actors: { bus: bus.logic, instance: instanceMachine.provide({ actors: { clusterProcess: procs.logic } }) },
  });
  const input = { ...orchestratorInput, perCluster: 1, names: [], fixedShardCount: clusters, startNextDelay: 0 };
  const actor = createActor(machine, { input, clock, logger: () => {} });
  actor.start();
  for (let id = 0; id < clusters; id++) {
    bus.send({ type: 'bus.launchNext', id, at: clock.now() });
    advance(clock, 0);
  }
  expect(procs.spawns).toHaveLength(clusters);

  const bytes = await allocatedBy(() => actor.send({ type: 'command.shutdown', replyTo: 'bus', commandId: 'c' }), 1024);
  expect(actor.getSnapshot().status).toBe('done');
  expect([...procs.alive.values()].every((pid) => pid === null)).toBe(true);
  return bytes / clusters;
}

describe('shutdown at scale', () => {
  it('allocates as much per cluster for 1,000 clusters as for 250: no cost that grows with the square', async () => {
    await shutdownBytesPerCluster(250); // compiled and warm
    const small = await shutdownBytesPerCluster(250);
    const large = await shutdownBytesPerCluster(1000);
    // Linear: about the same per cluster (measured 1.0–1.3 ×). Quadratic: 4 × as much per cluster and more (measured 6 ×).
    console.log('RATIO', small, large, large / small);
    expect(large / small).toBeLessThan(2);
  });
});
