import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, setup, SimulatedClock, type AnyActorLogic, type AnyEventObject } from 'xstate';
import { advance } from '../../../tests/helpers/machines.js';
import { buildClusterMap, type ClusterSpec } from '../../clusterMap/index.js';
import { instanceSystemId } from '../../interfaces/bus.js';
import type { GatewayInfo, SessionStartLimit } from '../../interfaces/gateway.js';
import { errorText, launchSlotMachine, type LaunchSlotSnapshot } from './machine.js';
import type { LaunchSlotInput } from './types.js';

/**
 * The launch slot alone, hosted as the orchestrator hosts it: a parent that
 * records what the slot tells it (launch.done), a bus (systemId "bus") that
 * records the action log, and stand-ins for the clusters' Instance actors
 * (systemIds "cluster-<id>") that record the slot.granted each one gets.
 */
function host(
  input: Partial<LaunchSlotInput> & { shards?: number; perCluster?: number } = {},
  /** 'default': the machine's own gateway actor, which says it needs one. */
  gateway?: (() => Promise<GatewayInfo>) | 'default',
) {
  const clock = new SimulatedClock();
  const { shards = 6, perCluster = 2, ...rest } = input;
  const clusters: ClusterSpec[] = rest.clusters ?? buildClusterMap(shards, perCluster);
  const slotInput: LaunchSlotInput = {
    clusters,
    buckets: 1,
    shardCount: shards,
    startNextDelay: 1000,
    minimumSafeSessions: 5,
    sessionStartLimit: null,
    ...rest,
  };
  /** slot.granted, in the order the clusters got it. */
  const granted: number[] = [];
  /** bus.launchNext passed on to a cluster, by id. */
  const launchNext: number[] = [];
  const toParent: AnyEventObject[] = [];
  const actionLog: unknown[] = [];
  /** identify.turn sent through the bus, by cluster id. */
  const turns: number[] = [];
  const logs: { level: string; msg: string }[] = [];
  let gatewayCalls = 0;
  const discord = fromPromise<GatewayInfo>(() => {
    gatewayCalls++;
    return gateway && gateway !== 'default' ? gateway() : Promise.reject(new Error('no gateway in this test'));
  });
  const instance = fromCallback<AnyEventObject, { id: number }>(({ input: { id }, receive }) =>
    receive((event) => {
      if (event.type === 'slot.granted') granted.push(id);
      if (event.type === 'bus.launchNext') launchNext.push(id);
    }),
  );
  const bus = fromCallback<AnyEventObject>(({ receive }) =>
    receive((event) => {
      if (event.type === 'actionLog.write') actionLog.push(event.entry);
      if (event.type === 'identify.turn') turns.push(event.id as number);
    }),
  );
  const parent = setup({
    actors: {
      slot: (gateway === 'default' ? launchSlotMachine : launchSlotMachine.provide({ actors: { gateway: discord } })) as AnyActorLogic,
      bus,
      instance,
    },
  }).createMachine({
    invoke: [
      { id: 'bus', src: 'bus', systemId: 'bus' },
      ...clusters.map((c) => ({
        id: instanceSystemId(c.id),
        src: 'instance' as const,
        systemId: instanceSystemId(c.id),
        input: { id: c.id },
      })),
      // Last: the clusters are there when it grants the slot at once.
      { id: 'slot', src: 'slot', input: slotInput },
    ],
    on: { '*': { actions: ({ event }) => void toParent.push(event) } },
  });
  const actor = createActor(parent, { clock, logger: (entry: { level: string; msg: string }) => void logs.push(entry) });
  actor.start();
  const slotActor = () => actor.getSnapshot().children.slot!;
  const snap = () => slotActor().getSnapshot() as LaunchSlotSnapshot;
  const send = (event: AnyEventObject) => slotActor().send(event);
  return {
    clock,
    tick: (ms: number) => advance(clock, ms),
    granted,
    launchNext,
    turns,
    actionLog,
    logs,
    snap,
    send,
    up: (id: number) => send({ type: 'cluster.up', id }),
    down: (id: number) => send({ type: 'cluster.down', id, reason: 'exited', launching: true, restart: false, exit: null, error: null }),
    stopped: (id: number) => send({ type: 'cluster.stopped', id }),
    waitTurn: (id: number) => send({ type: 'bus.identifyWait', id }),
    identified: (id: number) => send({ type: 'bus.identified', id }),
    request: (id: number, automatic = false) => send({ type: 'slot.request', id, automatic }),
    launchDone: () => toParent.filter((e) => e.type === 'launch.done').length,
    gatewayCalls: () => gatewayCalls,
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const limit = (remaining: number, resetAfter = 30_000): SessionStartLimit => ({ total: 1000, remaining, resetAfter, maxConcurrency: 1 });

describe('the launch slot: the first launch', () => {
  it('gives the slot to one cluster at a time, in order, with cluster_start_next_delay after each that identified', () => {
    const t = host();
    expect(t.granted).toEqual([0]);
    expect(t.snap().context.holders).toEqual([0]);
    t.up(0);
    // Up: the delay runs before the next one.
    expect(t.granted).toEqual([0]);
    t.tick(999);
    expect(t.granted).toEqual([0]);
    t.tick(1);
    expect(t.granted).toEqual([0, 1]);
    t.down(1);
    // Down while launching: it identified (or may have), so the delay too.
    t.tick(999);
    expect(t.granted).toEqual([0, 1]);
    t.tick(1);
    expect(t.granted).toEqual([0, 1, 2]);
    expect(t.launchDone()).toBe(0);
    t.up(2);
    expect(t.launchDone()).toBe(1);
  });

  it('says the first launch is done once, when the last cluster has let go of the slot', () => {
    const t = host({ shards: 2, perCluster: 1 });
    expect(t.launchDone()).toBe(0);
    t.up(0);
    t.tick(1000);
    expect(t.launchDone()).toBe(0);
    t.up(1);
    expect(t.launchDone()).toBe(1);
    t.tick(5000);
    t.request(0);
    t.up(0);
    t.tick(5000);
    expect(t.launchDone()).toBe(1);
  });

  it('a holder stopped before it identified: the next gets the slot at once, no delay', () => {
    const t = host();
    t.stopped(0);
    expect(t.granted).toEqual([0, 1]);
  });

  it('no delay configured: the next gets the slot at once', () => {
    const t = host({ startNextDelay: 0 });
    t.up(0);
    expect(t.granted).toEqual([0, 1]);
    t.down(1);
    expect(t.granted).toEqual([0, 1, 2]);
  });

  it('ignores reports from clusters that do not hold the slot', () => {
    const t = host();
    t.up(2);
    t.down(1);
    t.stopped(1);
    t.tick(5000);
    expect(t.granted).toEqual([0]);
    expect(t.snap().context.holders).toEqual([0]);
  });

  it('with identify buckets, a wave of clusters whose shards are in different buckets holds the slot together', () => {
    // 12 shards, 2 a cluster, 4 buckets: {0,1}, {2,3}, {0,1}, {2,3}, ...
    const t = host({ shards: 12, buckets: 4 });
    expect(t.granted).toEqual([0, 1]);
    t.up(0);
    // The wave holds the slot until each member is done with it.
    t.tick(5000);
    expect(t.granted).toEqual([0, 1]);
    t.up(1);
    t.tick(1000);
    expect(t.granted).toEqual([0, 1, 2, 3]);
  });

  it("a launch_next that names no cluster is the holder's; in a wave, each holder gets one, and one too many is ignored", () => {
    const t = host({ shards: 12, buckets: 4 });
    expect(t.granted).toEqual([0, 1]);
    t.send({ type: 'bus.launchNext', at: 1 });
    expect(t.launchNext).toEqual([0]);
    t.send({ type: 'bus.launchNext', at: 2 });
    expect(t.launchNext).toEqual([0, 1]);
    t.send({ type: 'bus.launchNext', at: 3 });
    expect(t.launchNext).toEqual([0, 1]);
    expect(t.logs.at(-1)!.msg).toMatch(/every holder of the launch slot has had one/);
    t.up(0);
    t.up(1);
    // Between waves nobody holds the slot.
    t.send({ type: 'bus.launchNext', at: 4 });
    expect(t.launchNext).toEqual([0, 1]);
    expect(t.logs.at(-1)!.msg).toMatch(/no cluster holds the launch slot/);
    t.tick(1000);
    expect(t.granted).toEqual([0, 1, 2, 3]);
    t.send({ type: 'bus.launchNext', at: 5 });
    expect(t.launchNext).toEqual([0, 1, 2]);
  });

  it('with 3 shards a cluster and 4 buckets, one cluster at a time (each shares a bucket with the next)', () => {
    const t = host({ shards: 9, perCluster: 3, buckets: 4 });
    expect(t.granted).toEqual([0]);
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 1]);
  });
});

describe('the launch slot: restarts and operator starts', () => {
  it('serves requests before what is left of the first launch, first come first served', () => {
    const t = host({ shards: 8 });
    // Cluster 0 holds the slot; 3 and then 2 ask (say, an operator's starts).
    t.request(3);
    t.request(2);
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 3]);
    t.up(3);
    t.tick(1000);
    expect(t.granted).toEqual([0, 3, 2]);
    t.up(2);
    t.tick(1000);
    expect(t.granted).toEqual([0, 3, 2, 1]);
    t.up(1);
    expect(t.launchDone()).toBe(1);
  });

  it('queues a cluster once, however often it asks', () => {
    const t = host({ shards: 4 });
    t.up(0);
    t.tick(1000);
    t.up(1);
    t.tick(1000);
    t.request(0);
    expect(t.granted).toEqual([0, 1, 0]);
    t.request(1);
    t.request(1);
    t.up(0);
    t.tick(1000);
    t.up(1);
    t.tick(5000);
    expect(t.granted).toEqual([0, 1, 0, 1]);
  });

  it('a holder that asks again (restarted while it held the slot) gets it again, without queueing', () => {
    const t = host();
    t.request(0);
    expect(t.granted).toEqual([0, 0]);
    expect(t.snap().context.requests).toEqual([]);
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 0, 1]);
  });

  it('forgets a cluster stopped while it waited: it does not get the slot', () => {
    const t = host({ shards: 8 });
    t.request(3);
    t.stopped(3);
    t.stopped(1);
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 2]);
    // Stopped clusters are left out of the first launch: it is over once 2 is done.
    t.up(2);
    t.tick(5000);
    expect(t.granted).toEqual([0, 2]);
    expect(t.launchDone()).toBe(1);
  });

  it('while restarts are paused, holds automatic restarts and the first launch, not operator starts', () => {
    const t = host({ shards: 8 });
    t.send({ type: 'fleet.paused' });
    t.request(2, true);
    t.request(3, false);
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 3]);
    t.up(3);
    t.tick(10_000);
    expect(t.granted).toEqual([0, 3]);
    t.send({ type: 'fleet.resumed' });
    expect(t.granted).toEqual([0, 3, 2]);
    t.up(2);
    t.tick(1000);
    expect(t.granted).toEqual([0, 3, 2, 1]);
  });
});

describe('the launch slot: session starts', () => {
  it('never asks Discord when the count is unknown (fixed_shard_count)', () => {
    const t = host({ sessionStartLimit: null, minimumSafeSessions: 1000 });
    expect(t.granted).toEqual([0]);
    expect(t.gatewayCalls()).toBe(0);
  });

  it('counts down the session starts each launch uses, and asks Discord again when the count says too few', async () => {
    const remaining = 100;
    // 6 shards, 2 a cluster; 9 left and a minimum of 5.
    const t = host({ sessionStartLimit: limit(9), minimumSafeSessions: 5 }, async () => ({
      shards: 6,
      source: 'discord',
      sessionStartLimit: limit(remaining),
    }));
    expect(t.granted).toEqual([0]);
    expect(t.snap().context.sessionsLeft).toBe(7);
    t.up(0);
    t.tick(1000);
    // 7 left, 2 needed: 5 after, still no fewer than the minimum before.
    expect(t.granted).toEqual([0, 1]);
    expect(t.snap().context.sessionsLeft).toBe(5);
    expect(t.gatewayCalls()).toBe(0);
    t.up(1);
    t.tick(1000);
    // 5 left: fine by the minimum (5), and the launch needs 2. Then 3 left.
    expect(t.granted).toEqual([0, 1, 2]);
    expect(t.snap().context.sessionsLeft).toBe(3);
    t.up(2);
    t.tick(1000);
    // Next: a restart of 0, with 3 left, under the minimum: ask Discord, which says 100.
    t.request(0);
    expect(t.gatewayCalls()).toBe(1);
    expect(t.granted).toEqual([0, 1, 2]);
    await flush();
    expect(t.granted).toEqual([0, 1, 2, 0]);
    expect(t.snap().context.sessionsLeft).toBe(98);
    expect(t.snap().context.sessionStartLimit).toEqual(limit(100));
    expect(t.actionLog).toEqual([]);
  });

  it('asks Discord when fewer are left than the launch needs, even above the minimum', async () => {
    const t = host({ shards: 8, perCluster: 8, sessionStartLimit: limit(7), minimumSafeSessions: 1 }, async () => ({
      shards: 8,
      source: 'discord',
      sessionStartLimit: limit(8),
    }));
    expect(t.gatewayCalls()).toBe(1);
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.snap().context.sessionsLeft).toBe(0);
  });

  it("still too few: waits for Discord's reset, says so in the action log, then asks again", async () => {
    let remaining = 3;
    const t = host({ sessionStartLimit: limit(3, 30_000), minimumSafeSessions: 5 }, async () => ({
      shards: 6,
      source: 'discord',
      sessionStartLimit: limit(remaining, 20_000),
    }));
    expect(t.gatewayCalls()).toBe(1);
    await flush();
    expect(t.granted).toEqual([]);
    expect(t.snap().hasTag('waiting for sessions')).toBe(true);
    expect(t.actionLog).toEqual([{ event: 'sessions_low', remaining: 3, needed: 2, minimum: 5, reset_after_ms: 20_000 }]);
    expect(t.logs).toContainEqual({
      level: 'error',
      msg: "only 3 session starts left, and the next launch needs 2 (minimum_safe_sessions_remaining is 5): no cluster starts for 20 s, until Discord's reset (running out gets the bot token reset)",
    });
    // Discord's reset, as its answer said (not as the first count said).
    remaining = 1000;
    t.tick(19_999);
    expect(t.gatewayCalls()).toBe(1);
    t.tick(1);
    expect(t.gatewayCalls()).toBe(2);
    await flush();
    expect(t.snap().hasTag('waiting for sessions')).toBe(false);
    expect(t.granted).toEqual([0]);
  });

  it('says so when Discord now recommends another shard count', async () => {
    const t = host({ sessionStartLimit: limit(1) }, async () => ({ shards: 12, source: 'discord', sessionStartLimit: limit(100) }));
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.logs).toContainEqual({
      level: 'warn',
      msg: 'Discord now recommends 12 shards; the bot runs 6: restart the supervisor to reshard',
    });
  });

  it('launches anyway when Discord cannot be asked, and says why', async () => {
    const t = host({ sessionStartLimit: limit(1) }, () => Promise.reject(new Error('ECONNRESET')));
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.logs).toContainEqual({
      level: 'warn',
      msg: 'could not ask Discord how many session starts are left (ECONNRESET): launching anyway',
    });
  });

  it('an answer without a session start limit: the count becomes unknown, and nothing is held', async () => {
    const t = host({ sessionStartLimit: limit(1) }, async () => ({ shards: 6, source: 'discord', sessionStartLimit: null }));
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.snap().context.sessionsLeft).toBeNull();
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 1]);
    expect(t.gatewayCalls()).toBe(1);
  });
});

// Edges that mutation testing found unguarded (docs/testing.md).
describe('launch_next that names no cluster', () => {
  it('one too many for the wave is ignored with a warning', () => {
    const t = host();
    t.send({ type: 'bus.launchNext', at: 1 });
    t.send({ type: 'bus.launchNext', at: 2 });
    expect(t.launchNext).toEqual([0]);
    expect(t.logs).toContainEqual({
      level: 'warn',
      msg: 'ignored a launch_next that names no cluster: every holder of the launch slot has had one',
    });
  });

  it('one while no cluster holds the slot is ignored with a warning', () => {
    const t = host();
    t.up(0);
    t.send({ type: 'bus.launchNext', at: 1 });
    expect(t.launchNext).toEqual([]);
    expect(t.logs).toContainEqual({ level: 'warn', msg: 'ignored a launch_next that names no cluster: no cluster holds the launch slot' });
  });
});

describe('a slot request from a cluster already queued', () => {
  it('is not queued twice: a queued automatic restart asking again as an operator start still waits while restarts are paused', () => {
    const t = host({ shards: 8 });
    t.send({ type: 'fleet.paused' });
    t.request(2, true);
    t.request(2, false);
    expect(t.snap().context.requests).toEqual([{ id: 2, automatic: true }]);
    t.up(0);
    t.tick(10_000);
    expect(t.granted).toEqual([0]);
    t.send({ type: 'fleet.resumed' });
    expect(t.granted).toEqual([0, 2]);
  });

  it('an operator start queued first keeps its place as an operator start', () => {
    const t = host({ shards: 8 });
    t.send({ type: 'fleet.paused' });
    t.request(3, false);
    t.request(3, true);
    expect(t.snap().context.requests).toEqual([{ id: 3, automatic: false }]);
    t.up(0);
    t.tick(1000);
    expect(t.granted).toEqual([0, 3]);
  });
});

describe('a fresh answer from Discord', () => {
  it('that recommends the shard count the bot runs says nothing about resharding', async () => {
    const t = host({ sessionStartLimit: limit(1) }, async () => ({ shards: 6, source: 'discord', sessionStartLimit: limit(100) }));
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.snap().context.sessionsLeft).toBe(98);
    expect(t.logs.filter((l) => l.level === 'warn')).toEqual([]);
  });
});

describe('when Discord cannot be asked', () => {
  it('says what was thrown even when it is not an Error', async () => {
    const t = host({ sessionStartLimit: limit(1) }, () => Promise.reject(undefined));
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.logs).toContainEqual({
      level: 'warn',
      msg: 'could not ask Discord how many session starts are left (undefined): launching anyway',
    });
  });

  it('without a gateway actor provided, says that one is needed and launches anyway', async () => {
    const t = host({ sessionStartLimit: limit(1) }, 'default');
    await flush();
    expect(t.granted).toEqual([0]);
    expect(t.logs).toContainEqual({
      level: 'warn',
      msg: 'could not ask Discord how many session starts are left (launchSlotMachine needs a gateway actor: provide one): launching anyway',
    });
  });

  it('errorText: the message of an Error, anything else as a string, never a throw', () => {
    expect(errorText(new Error('ECONNRESET'))).toBe('ECONNRESET');
    expect(errorText('timed out')).toBe('timed out');
    expect(errorText(undefined)).toBe('undefined');
    expect(errorText(null)).toBe('null');
  });
});

describe('the first launch of a bot with no clusters', () => {
  it('is done at once, with nobody holding the slot', () => {
    const t = host({ clusters: [] });
    expect(t.launchDone()).toBe(1);
    expect(t.granted).toEqual([]);
    expect(t.snap().context).toMatchObject({ holders: [], credited: [], identified: false });
  });
});

describe('identify turns (docs/architecture.md, identify turns)', () => {
  // 16 shards, 2 a cluster, 4 buckets: waves {0, 1}, {2, 3}, {4, 5}, {6, 7}; a window of 500 ms.
  const turnHost = () => host({ shards: 16, buckets: 4, startNextDelay: 1000, identifyWindow: 500 });
  /** The first wave, clusters 0 and 1, asks for its turns, gets them at once, and identifies. */
  const firstWaveByTurn = (t: ReturnType<typeof host>) => {
    t.waitTurn(0);
    t.waitTurn(1);
    t.identified(0);
    t.identified(1);
  };

  it("the next wave starts as soon as this one identified by turn, and each cluster identifies one window after its buckets' last", () => {
    const t = turnHost();
    expect(t.granted).toEqual([0, 1]);
    // The window is open: turns at once.
    t.waitTurn(0);
    t.waitTurn(1);
    expect(t.turns).toEqual([0, 1]);
    t.identified(0);
    expect(t.granted).toEqual([0, 1]);
    t.tick(100);
    t.identified(1);
    // No cluster_start_next_delay: the next wave's processes start while the window runs.
    expect(t.granted).toEqual([0, 1, 2, 3]);
    t.tick(200);
    t.waitTurn(2);
    t.waitTurn(3);
    expect(t.turns).toEqual([0, 1]);
    // Cluster 2 has cluster 0's buckets (0, 1), identified at 0 ms; cluster 3 cluster 1's (2, 3), at 100 ms.
    t.tick(199);
    expect(t.turns).toEqual([0, 1]);
    t.tick(1);
    expect(t.turns).toEqual([0, 1, 2]);
    t.tick(99);
    expect(t.turns).toEqual([0, 1, 2]);
    t.tick(1);
    expect(t.turns).toEqual([0, 1, 2, 3]);
    // Their launch_next, later, changes nothing for the slot: they let go of it at identified.
    t.up(0);
    t.up(1);
    expect(t.granted).toEqual([0, 1, 2, 3]);
  });

  it('a cluster that asks for its turn after the window ended gets it at once', () => {
    const t = turnHost();
    firstWaveByTurn(t);
    t.tick(600);
    t.waitTurn(2);
    expect(t.turns).toEqual([0, 1, 2]);
  });

  it('a wave with a member that never waited (a Go-era cluster) is followed by cluster_start_next_delay, as before', () => {
    const t = turnHost();
    t.waitTurn(0);
    t.identified(0);
    // Cluster 1 says launch_next without having waited.
    t.up(1);
    expect(t.granted).toEqual([0, 1]);
    t.tick(999);
    expect(t.granted).toEqual([0, 1]);
    t.tick(1);
    expect(t.granted).toEqual([0, 1, 2, 3]);
    // No window was started: a turn is given at once.
    t.waitTurn(2);
    expect(t.turns).toEqual([0, 2]);
  });

  it('Go-era clusters never get a turn, and launch as before', () => {
    const t = turnHost();
    t.up(0);
    t.up(1);
    t.tick(1000);
    expect(t.granted).toEqual([0, 1, 2, 3]);
    expect(t.turns).toEqual([]);
  });

  it('identified from a cluster that was not given a turn does not free the slot', () => {
    const t = turnHost();
    t.identified(0);
    t.identified(1);
    expect(t.snap().context.holders).toEqual([0, 1]);
    expect(t.granted).toEqual([0, 1]);
  });

  it('a holder that dies after its turn, before identified: the wave is followed by the delay, not the window', () => {
    const t = turnHost();
    t.waitTurn(0);
    t.waitTurn(1);
    t.identified(0);
    t.down(1);
    expect(t.granted).toEqual([0, 1]);
    t.tick(1000);
    expect(t.granted).toEqual([0, 1, 2, 3]);
  });

  it('a cluster that died while it waited for the window gets no turn when it ends', () => {
    const t = turnHost();
    firstWaveByTurn(t);
    t.waitTurn(2);
    t.down(2);
    t.waitTurn(3);
    t.tick(500);
    expect(t.turns).toEqual([0, 1, 3]);
  });

  it('a cluster whose bucket another has its turn in waits for that one to identify, then a window', () => {
    // Cluster 2 (buckets 0, 1) asks while cluster 0 (buckets 0, 1) has its turn but has not identified.
    const t = turnHost();
    t.waitTurn(0);
    t.waitTurn(2);
    expect(t.turns).toEqual([0]);
    t.tick(300);
    t.identified(0);
    t.tick(499);
    expect(t.turns).toEqual([0]);
    t.tick(1);
    expect(t.turns).toEqual([0, 2]);
  });

  it('a cluster that died after its turn, before identified, closes its buckets for a window all the same', () => {
    const t = turnHost();
    t.waitTurn(0);
    t.tick(100);
    t.down(0);
    t.waitTurn(2);
    t.tick(499);
    expect(t.turns).toEqual([0]);
    t.tick(1);
    expect(t.turns).toEqual([0, 2]);
  });

  it("without identify_window configured, the window is Discord's 5 s", () => {
    const t = host({ shards: 16, buckets: 4 });
    firstWaveByTurn(t);
    t.waitTurn(2);
    t.tick(4999);
    expect(t.turns).toEqual([0, 1]);
    t.tick(1);
    expect(t.turns).toEqual([0, 1, 2]);
  });
});
