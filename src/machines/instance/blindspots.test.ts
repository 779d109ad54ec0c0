import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { advance, fakeProcesses, underParent } from '../../../tests/helpers/machines.js';
import { instanceMachine, type InstanceSnapshot } from './machine.js';
import type { InstanceInput } from './types.js';

/** What the Instance machine's own tests (machine.test.ts) left unchecked: restart.within. */

function start() {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const input: InstanceInput = {
    cluster: { id: 0, name: 'Alpha', shards: [0, 1] },
    shardCount: 2,
    clusterCount: 1,
    // No diagnostic in these tests' time span: only crashes end a process.
    timing: { pingInterval: 3_600_000, pingTimeout: 500, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 0 },
    // max_restarts 3 within 60 s.
    restart: {
      backoffInitial: 100,
      backoffFactor: 2,
      backoffMax: 1000,
      jitter: 0,
      resetAfter: 10_000,
      maxRestarts: 3,
      within: 60_000,
      noRestartExitCodes: [],
    },
    nonceSalt: 'salt',
    seed: 1,
  };
  const { child, reports } = underParent(instanceMachine.provide({ actors: { clusterProcess: procs.logic } }), input, clock);
  const snap = () => child().getSnapshot() as InstanceSnapshot;
  const send = (event: Parameters<ReturnType<typeof child>['send']>[0]) => child().send(event);
  const tick = (ms: number) => advance(clock, ms);
  const up = () => {
    send({ type: 'slot.granted' });
    send({ type: 'bus.launchNext', at: clock.now() });
    expect(snap().value).toBe('running');
  };
  /** The process crashes; if the machine restarts it, the backoff passes and it is up again. Returns the state after the crash. */
  const crash = () => {
    procs.exit(0, 1);
    const after = String(snap().value);
    if (after === 'backoff') {
      tick(snap().context.restarts.backoffMs);
      expect(snap().value).toBe('queued');
      up();
    }
    return after;
  };
  return { clock, tick, snap, reports, up, crash };
}

describe('restart.within', () => {
  it('restarts older than `within` do not count toward max_restarts; the ones inside it do', () => {
    const t = start();
    t.up();
    // Three quick crashes: three restarts, the most max_restarts allows within 60 s.
    expect([t.crash(), t.crash(), t.crash()]).toEqual(['backoff', 'backoff', 'backoff']);
    // A minute later those three are out of the window: a crash now is restarted, not given up on.
    t.tick(61_000);
    expect(t.crash()).toBe('backoff');
    expect(t.reports.some((r) => r.type === 'cluster.failed')).toBe(false);
    // Two more quick ones are still allowed (three in the window with that one); the next is one too many.
    expect([t.crash(), t.crash()]).toEqual(['backoff', 'backoff']);
    expect(t.crash()).toBe('failed');
    expect(t.reports.find((r) => r.type === 'cluster.failed')).toMatchObject({ why: expect.stringContaining('max_restarts') });
  });

  it('a cluster that crashes once every 70 s with max_restarts 3 within 60 s is restarted every time', () => {
    const t = start();
    t.up();
    const states: string[] = [];
    for (let i = 0; i < 10; i++) {
      t.tick(70_000);
      states.push(t.crash());
    }
    expect(states).toEqual(Array(10).fill('backoff'));
    expect(t.snap().value).toBe('running');
  });
});
