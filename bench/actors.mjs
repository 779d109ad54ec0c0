// Actor scale: N Instance actors under one orchestrator, driven by synthetic
// events, no processes. Run with --expose-gc; prints one JSON line.
//   node --expose-gc bench/actors.mjs [N] [--count] [--shutdown] [--alloc]
import { performance } from 'node:perf_hooks';
import { assign, createActor, fromCallback, setup } from 'xstate';
import { instanceMachine, orchestratorMachine } from '../dist/machines/index.js';
import { allocatedBy } from './allocation.mjs';

const N = Number(process.argv[2] ?? 10_000);
const gc = globalThis.gc ?? (() => {});
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/**
 * A simulated clock on a binary heap: XState's SimulatedClock sorts every timer
 * on every step, which at 10,000 actors would measure the clock, not the machines.
 */
class HeapClock {
  #now = 0;
  #seq = 0;
  #heap = [];
  #live = new Map();
  now() {
    return this.#now;
  }
  setTimeout(fn, ms) {
    const id = ++this.#seq;
    const entry = { at: this.#now + ms, id, fn };
    this.#live.set(id, entry);
    this.#push(entry);
    return id;
  }
  clearTimeout(id) {
    this.#live.delete(id);
  }
  /** Runs every timer due within `ms`, in deadline order, including timers those timers set. */
  increment(ms) {
    const target = this.#now + ms;
    while (this.#heap.length > 0 && this.#heap[0].at <= target) {
      const entry = this.#pop();
      if (!this.#live.delete(entry.id)) continue;
      this.#now = Math.max(this.#now, entry.at);
      entry.fn();
    }
    this.#now = target;
  }
  #less(a, b) {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }
  #push(entry) {
    const h = this.#heap;
    h.push(entry);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  #pop() {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l], h[m])) m = l;
        if (r < h.length && this.#less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const clock = new HeapClock();
// A process that starts at once and a bus that answers every diagnostic at once: all the work is the machines'.
const clusterProcess = fromCallback(({ sendBack, receive }) => {
  let pid = 0;
  receive((c) => {
    if (c.type === 'process.spawn') sendBack({ type: 'process.spawned', pid: ++pid, at: clock.now() });
    else if (c.type === 'process.reap') sendBack({ type: 'process.reaped', at: clock.now() });
    else if (c.type === 'process.signal') sendBack({ type: 'process.exited', code: 0, signal: null, at: clock.now() });
  });
});
let busBack;
const bus = fromCallback(({ sendBack, receive, system }) => {
  busBack = sendBack;
  sendBack({ type: 'bus.up' });
  receive((c) => {
    if (c.type === 'diag.request') system.get(`cluster-${c.id}`).send({ type: 'diag.answer', nonce: c.nonce, health: [], at: clock.now() });
  });
});

let events = 0;
const machine = orchestratorMachine.provide({ actors: { bus, instance: instanceMachine.provide({ actors: { clusterProcess } }) } });
const before = heap();
const actor = createActor(machine, {
  clock,
  logger: () => {},
  // Counting events with the inspection hook costs as much as the events: only when asked (--count).
  inspect: process.argv.includes('--count')
    ? (e) => {
        if (e.type === '@xstate.event') events++;
      }
    : undefined,
  input: {
    perCluster: 1,
    names: [],
    fixedShardCount: N,
    minimumSafeSessions: 0,
    startNextDelay: 0,
    timing: { pingInterval: 1000, pingTimeout: 1000, launchTimeout: 60_000, killTimeout: 1000, reconnectGrace: 0 },
    restart: {
      backoffInitial: 0,
      backoffFactor: 2,
      backoffMax: 0,
      jitter: 0,
      resetAfter: 1000,
      maxRestarts: 5,
      within: 1000,
      noRestartExitCodes: [],
    },
    fleet: { crashRatio: 1, window: 1000, pause: 1000 },
    nonceSalt: 'b',
    seed: 1,
  },
});

const tSpawn = performance.now();
actor.start(); // spawns the N Instance actors
const spawnMs = performance.now() - tSpawn;
const t0 = performance.now();
// The first launch: each cluster's launch_next, then the (zero) start delay.
for (let id = 0; id < N; id++) {
  busBack({ type: 'bus.launchNext', id, at: clock.now() });
  clock.increment(0);
}
const launchMs = performance.now() - t0;
const launchEvents = events;
const up = Object.values(actor.getSnapshot().children).filter((c) => c.getSnapshot().value === 'running').length;
const heapPerActor = (heap() - before) / N;

// Diagnostic rounds: every instance asks, the bus answers, the instance returns to running.
const rounds = 10;
const e0 = events;
const t1 = performance.now();
for (let r = 0; r < rounds; r++) clock.increment(1000);
const diagMs = performance.now() - t1;
const diagEvents = events - e0;
const stillUp = Object.values(actor.getSnapshot().children).filter((c) =>
  ['running', 'diagPending'].includes(c.getSnapshot().value),
).length;
// Shutdown, as the supervisor does it: every cluster stopped, then the orchestrator ends (--shutdown).
// Its CPU time too (every thread of the process, the collector's included): on a shared machine the
// wall time also counts what other processes take.
let stopMs = null;
let stopCpuMs = null;
let done = null;
if (process.argv.includes('--shutdown')) {
  const tStop = performance.now();
  const cpu = process.cpuUsage();
  busBack({ type: 'command.shutdown' });
  clock.increment(0);
  const { user, system } = process.cpuUsage(cpu);
  stopMs = Math.round(performance.now() - tStop);
  stopCpuMs = Math.round((user + system) / 1000);
  done = actor.getSnapshot().status === 'done';
}

// Bytes allocated (a V8 sampling heap profile that keeps what was collected): per diagnostic, and
// for one event through the smallest machine with an assign, XState's own floor (--alloc).
let alloc = null;
if (process.argv.includes('--alloc')) {
  const R = 100;
  for (let r = 0; r < R; r++) clock.increment(1000); // warm
  const perDiagnostic =
    (await allocatedBy(() => {
      for (let r = 0; r < R; r++) clock.increment(1000);
    })) /
    (R * N);
  const toggle = createActor(
    setup({}).createMachine({
      context: { n: 0 },
      initial: 'a',
      states: {
        a: { on: { GO: { target: 'b', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
        b: { on: { GO: { target: 'a', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
      },
    }),
  ).start();
  const E = 20_000;
  for (let i = 0; i < E; i++) toggle.send({ type: 'GO' }); // warm
  const perEvent =
    (await allocatedBy(() => {
      for (let i = 0; i < E; i++) toggle.send({ type: 'GO' });
    })) / E;
  alloc = { bytes_per_diagnostic: Math.round(perDiagnostic), xstate_bytes_per_event: Math.round(perEvent) };
}

console.log(
  JSON.stringify({
    actors: N,
    spawn_ms: Math.round(spawnMs),
    shutdown_ms: stopMs,
    shutdown_cpu_ms: stopCpuMs,
    shutdown_done: done,
    running_after_launch: up,
    running_after_diagnostics: stillUp,
    heap_per_actor_bytes: Math.round(heapPerActor),
    launch: { events: launchEvents, ms: Math.round(launchMs), events_per_s: Math.round(launchEvents / (launchMs / 1000)) },
    diagnostics: { rounds, events: diagEvents, ms: Math.round(diagMs), events_per_s: Math.round(diagEvents / (diagMs / 1000)) },
    alloc,
  }),
);
