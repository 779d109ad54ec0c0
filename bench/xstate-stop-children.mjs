// XState alone: a machine with N spawned children reaches its final state, which stops them all.
// What that costs, in wall and CPU time: the reproduction for the upstream issue
// (docs/xstate-stop-children.md), with no code of this project.
//   node bench/xstate-stop-children.mjs [N ...]     (N: 1000 3000 10000 by default)
import { performance } from 'node:perf_hooks';
import { assign, createActor, fromCallback, setup } from 'xstate';

const counts = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1000, 3000, 10_000];
const child = fromCallback(() => () => {});
for (const n of counts) {
  const machine = setup({ actors: { child } }).createMachine({
    initial: 'running',
    states: {
      running: {
        // Spawned in one assign: one spawnChild action each would copy the map of children as often.
        entry: assign(({ spawn }) => {
          for (let i = 0; i < n; i++) spawn('child', { id: `child-${i}` });
          return {};
        }),
        on: { END: 'ended' },
      },
      ended: { type: 'final' },
    },
  });
  const actor = createActor(machine).start();
  const t0 = performance.now();
  const cpu = process.cpuUsage();
  actor.send({ type: 'END' });
  const { user, system } = process.cpuUsage(cpu);
  const stopped = Object.values(actor.getSnapshot().children).filter((c) => c.getSnapshot().status === 'stopped').length;
  console.log(
    JSON.stringify({ children: n, stop_ms: Math.round(performance.now() - t0), stop_cpu_ms: Math.round((user + system) / 1000), stopped }),
  );
}
