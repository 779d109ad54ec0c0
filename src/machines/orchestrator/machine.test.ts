import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { advance, fakeBus, fakeProcesses, orchestratorInput } from '../../../tests/helpers/machines.js';
import type { ClusterView } from '../../interfaces/clusterView.js';
import type { GatewayInfo } from '../../interfaces/gateway.js';
import { instanceMachine, type InstanceSnapshot } from '../instance/machine.js';
import { launchSlotMachine, type LaunchSlotSnapshot } from '../launchSlot/machine.js';
import { orchestratorMachine, type OrchestratorSnapshot } from './machine.js';
import type { OrchestratorInput } from './types.js';

const baseInput = orchestratorInput;

function start(input: Partial<OrchestratorInput> = {}, gateway?: () => Promise<GatewayInfo>, { busUp = true } = {}) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const bus = fakeBus(clock, { up: busUp });
  const logs: unknown[] = [];
  let gatewayCalls = 0;
  const discord = fromPromise(() => {
    gatewayCalls++;
    return gateway ? gateway() : Promise.reject(new Error('no gateway in this test'));
  });
  const machine = orchestratorMachine.provide({
    actors: {
      instance: instanceMachine.provide({ actors: { clusterProcess: procs.logic } }),
      launchSlot: launchSlotMachine.provide({ actors: { gateway: discord } }),
      bus: bus.logic,
      gateway: discord,
    },
  });
  const actor = createActor(machine, { input: { ...baseInput, ...input }, clock, logger: (...args) => void logs.push(args) });
  actor.start();
  const snap = () => actor.getSnapshot() as OrchestratorSnapshot;
  /** The launch slot's snapshot, while the clusters are supervised. */
  const slot = () => snap().children.launchSlot?.getSnapshot() as LaunchSlotSnapshot | undefined;
  const instance = (id: number) => snap().children[`cluster-${id}`]?.getSnapshot() as InstanceSnapshot;
  const states = () =>
    Object.keys(snap().children)
      .filter((k) => k.startsWith('cluster-'))
      .map((k) => (snap().children as Record<string, { getSnapshot(): InstanceSnapshot }>)[k]!.getSnapshot().value);
  const spawnOrder = () => [...procs.spawns];
  /** Answers launch_next for every cluster waiting for one, the way a healthy cluster would. */
  const launchNextForWaiting = () => {
    for (let id = 0; id < 16; id++) {
      if (instance(id)?.value === 'waitingLaunchNext') bus.send({ type: 'bus.launchNext', id, at: clock.now() });
    }
  };
  const command = (type: string, extra: Record<string, unknown> = {}) =>
    actor.send({ type, replyTo: 'bus', commandId: `c${bus.received.length}`, ...extra } as never);
  const lastReply = () => bus.replies().at(-1)!;
  return {
    clock,
    tick: (ms: number) => advance(clock, ms),
    procs,
    bus,
    logs,
    actor,
    snap,
    slot,
    instance,
    states,
    spawnOrder,
    launchNextForWaiting,
    command,
    lastReply,
    gatewayCalls: () => gatewayCalls,
  };
}

/** The first `clusters` clusters answer launch_next as soon as they wait for it, and the start delays pass. */
function launchAll(t: ReturnType<typeof start>, clusters: number) {
  for (let i = 0; i < clusters; i++) {
    t.launchNextForWaiting();
    t.tick(1000);
  }
}

describe('orchestratorMachine', () => {
  it('launches clusters strictly one at a time, each after the previous launch_next and the start delay', () => {
    const t = start();
    expect(t.spawnOrder()).toEqual([0]);
    t.tick(4000);
    // Nothing moves until cluster 0 says launch_next.
    expect(t.spawnOrder()).toEqual([0]);
    expect(t.instance(0).value).toBe('waitingLaunchNext');
    expect(t.instance(1).value).toBe('idle');
    t.bus.send({ type: 'bus.launchNext', id: 0, at: 0 });
    t.tick(999);
    expect(t.spawnOrder()).toEqual([0]);
    t.tick(1);
    expect(t.spawnOrder()).toEqual([0, 1]);
    // A launch_next from a cluster that is not waiting for one changes nothing.
    t.bus.send({ type: 'bus.launchNext', id: 3, at: 0 });
    t.tick(3000);
    expect(t.spawnOrder()).toEqual([0, 1]);
    expect(t.instance(3).value).toBe('idle');
    t.bus.send({ type: 'bus.launchNext', id: 1, at: 0 });
    t.tick(1000);
    t.bus.send({ type: 'bus.launchNext', id: 2, at: 0 });
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3]);
    expect(t.bus.received.some((c) => c.type === 'bus.announce')).toBe(false);
    t.bus.send({ type: 'bus.launchNext', id: 3, at: 0 });
    expect(t.bus.received.filter((c) => c.type === 'bus.announce')).toEqual([{ type: 'bus.announce', action: 'all_clusters_launched' }]);
    expect(t.snap().matches({ supervising: { phase: 'up' } })).toBe(true);
    expect(t.states()).toEqual(['running', 'running', 'running', 'running']);
  });

  it('launches nothing before the bus is first up, and then launches as usual', () => {
    const t = start({}, undefined, { busUp: false });
    t.tick(60_000);
    expect(t.spawnOrder()).toEqual([]);
    expect(t.snap().matches({ discovering: 'waitingForBus' })).toBe(true);
    t.command('command.start', { id: 0 });
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'unavailable' });
    // Redis unreachable: the bus says so, and still nothing is launched.
    t.bus.send({ type: 'bus.down' });
    t.tick(60_000);
    expect(t.spawnOrder()).toEqual([]);
    expect(t.logs.some((l) => JSON.stringify(l).includes('no cluster is launched until it is up'))).toBe(true);
    t.bus.send({ type: 'bus.up' });
    expect(t.spawnOrder()).toEqual([0]);
    expect(t.snap().context.busUp).toBe(true);
    expect(t.instance(0).context.busUp).toBe(true);
    launchAll(t, 4);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3]);
  });

  it('builds the cluster map with names, generated past the end of the list', () => {
    const t = start();
    const names = [0, 1, 2, 3].map((id) => t.instance(id).context.input.cluster);
    expect(names).toEqual([
      { id: 0, name: 'Alpha', shards: [0, 1] },
      { id: 1, name: 'Beta', shards: [2, 3] },
      { id: 2, name: 'Alpha 2', shards: [4, 5] },
      { id: 3, name: 'Beta 2', shards: [6, 7] },
    ]);
  });

  it('asks Discord for the shard count when it is not fixed', async () => {
    const t = start({ fixedShardCount: undefined }, async () => ({
      shards: 6,
      source: 'discord',
      sessionStartLimit: { total: 1000, remaining: 900, resetAfter: 1000, maxConcurrency: 1 },
    }));
    await Promise.resolve();
    await Promise.resolve();
    expect(t.snap().context.clusters).toHaveLength(3);
    expect(t.spawnOrder()).toEqual([0]);
  });

  it('waits for the session reset when too few session starts are left, then asks again', async () => {
    let calls = 0;
    const t = start({ fixedShardCount: undefined }, async () => ({
      shards: 4,
      source: 'discord',
      sessionStartLimit: { total: 1000, remaining: calls++ === 0 ? 2 : 1000, resetAfter: 30_000, maxConcurrency: 1 },
    }));
    await new Promise((r) => setImmediate(r));
    expect(t.snap().matches({ discovering: 'waitingForSessions' })).toBe(true);
    expect(t.spawnOrder()).toEqual([]);
    t.tick(29_999);
    expect(t.gatewayCalls()).toBe(1);
    t.tick(1);
    expect(t.gatewayCalls()).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(t.spawnOrder()).toEqual([0]);
  });

  it("with Discord's max_concurrency, clusters in different identify buckets launch together, a wave at a time", async () => {
    // 12 shards, 2 a cluster, 4 buckets: clusters 0 and 1 use buckets 0-3, clusters 2 and 3 too, and so on.
    const t = start({ fixedShardCount: undefined }, async () => ({
      shards: 12,
      source: 'discord',
      sessionStartLimit: { total: 1000, remaining: 900, resetAfter: 1000, maxConcurrency: 4 },
    }));
    await new Promise((r) => setImmediate(r));
    expect(t.spawnOrder()).toEqual([0, 1]);
    expect(t.logs).toContainEqual([expect.objectContaining({ msg: expect.stringContaining('max_concurrency 4') })]);
    // The wave holds the slot until its last cluster is up, then the start delay passes.
    t.bus.send({ type: 'bus.launchNext', id: 1, at: t.clock.now() });
    t.tick(3000);
    expect(t.spawnOrder()).toEqual([0, 1]);
    t.bus.send({ type: 'bus.launchNext', id: 0, at: t.clock.now() });
    t.tick(999);
    expect(t.spawnOrder()).toEqual([0, 1]);
    t.tick(1);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3]);
    // A crash and an operator start wait for the wave, then go together when their buckets allow it.
    t.procs.exit(0, 1);
    t.tick(500);
    t.command('command.stop', { id: 1 });
    t.command('command.start', { id: 1 });
    expect(t.instance(0).value).toBe('queued');
    t.launchNextForWaiting();
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1]);
    t.launchNextForWaiting();
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1, 4, 5]);
    t.launchNextForWaiting();
    expect(t.states().every((s) => s === 'running')).toBe(true);
    expect(t.bus.received.filter((c) => c.type === 'bus.announce')).toHaveLength(1);
  });

  it('max_concurrency in the config caps what Discord allows, and never raises it', async () => {
    const gateway = (maxConcurrency: number) => async () => ({
      shards: 8,
      source: 'discord' as const,
      sessionStartLimit: { total: 1000, remaining: 900, resetAfter: 1000, maxConcurrency },
    });
    const capped = start({ fixedShardCount: undefined, maxConcurrency: 2, perCluster: 1 }, gateway(16));
    const raised = start({ fixedShardCount: undefined, maxConcurrency: 16, perCluster: 1 }, gateway(1));
    // With a fixed shard count Discord is not asked: the config's value stands.
    const fixed = start({ maxConcurrency: 4, perCluster: 1 });
    await new Promise((r) => setImmediate(r));
    expect(capped.spawnOrder()).toEqual([0, 1]);
    expect(raised.spawnOrder()).toEqual([0]);
    expect(fixed.spawnOrder()).toEqual([0, 1, 2, 3]);
  });

  it('a cluster of as many shards as there are buckets takes the slot alone', () => {
    const t = start({ maxConcurrency: 2 });
    expect(t.spawnOrder()).toEqual([0]);
    launchAll(t, 4);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3]);
  });

  it('waits for the session reset too when fewer session starts are left than there are shards to launch', async () => {
    let calls = 0;
    const t = start({ fixedShardCount: undefined, minimumSafeSessions: 5 }, async () => ({
      shards: 40,
      source: 'discord',
      sessionStartLimit: { total: 1000, remaining: calls++ === 0 ? 30 : 1000, resetAfter: 60_000, maxConcurrency: 1 },
    }));
    await new Promise((r) => setImmediate(r));
    expect(t.snap().matches({ discovering: 'waitingForSessions' })).toBe(true);
    expect(t.logs).toContainEqual([
      expect.objectContaining({
        msg: "only 30 session starts left for 40 shards (Discord resets the bot token when they run out): waiting 60 s for Discord's reset",
      }),
    ]);
    t.tick(60_000);
    await new Promise((r) => setImmediate(r));
    expect(t.spawnOrder()).toEqual([0]);
  });

  describe('session starts after the first launch', () => {
    /** Discord's answers in turn (remaining, reset_after), then plenty. */
    const discord = (answers: { remaining: number; resetAfter: number; shards?: number }[]) => {
      let call = 0;
      return async () => {
        const { shards = 8, ...answer } = answers[call++] ?? { remaining: 1000, resetAfter: 1000 };
        return { shards, source: 'discord' as const, sessionStartLimit: { total: 1000, maxConcurrency: 1, ...answer } };
      };
    };
    const settle = () => new Promise((r) => setImmediate(r));

    it('counts the shards each launch identifies, and asks Discord again once fewer than the minimum are left', async () => {
      // 12 left, 2 shards a cluster, minimum 5: clusters 0-3 leave 10, 8, 6, 4; the first restart finds 4.
      const t = start(
        { fixedShardCount: undefined },
        discord([
          { remaining: 12, resetAfter: 1000 },
          { remaining: 1000, resetAfter: 1000, shards: 10 },
        ]),
      );
      await settle();
      launchAll(t, 4);
      expect(t.states()).toEqual(['running', 'running', 'running', 'running']);
      expect(t.gatewayCalls()).toBe(1);
      t.procs.exit(1, 1);
      t.tick(500);
      expect(t.gatewayCalls()).toBe(2);
      await settle();
      // Discord said 1000 left: the restart goes ahead, on the shards the bot runs, with a word on Discord's new count.
      expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 1]);
      expect(t.snap().context.gateway!.shards).toBe(8);
      expect(t.logs).toContainEqual([
        expect.objectContaining({ msg: 'Discord now recommends 10 shards; the bot runs 8: restart the supervisor to reshard' }),
      ]);
    });

    it("too few left: nothing starts until Discord's reset, with an action log entry; then the queue moves", async () => {
      const t = start(
        { fixedShardCount: undefined },
        discord([
          { remaining: 12, resetAfter: 1000 },
          { remaining: 4, resetAfter: 30_000 },
        ]),
      );
      await settle();
      launchAll(t, 4);
      t.procs.exit(1, 1);
      t.tick(500);
      await settle();
      expect(t.slot()?.hasTag('waiting for sessions')).toBe(true);
      expect(t.bus.actionLogs()).toContainEqual({ event: 'sessions_low', remaining: 4, needed: 2, minimum: 5, reset_after_ms: 30_000 });
      expect(t.logs).toContainEqual([
        expect.objectContaining({ level: 'error', msg: expect.stringMatching(/^only 4 session starts left/) }),
      ]);
      // An operator start waits too: it would identify as well.
      t.command('command.stop', { id: 2 });
      t.command('command.start', { id: 2 });
      t.tick(29_000);
      expect(t.spawnOrder()).toEqual([0, 1, 2, 3]);
      expect(t.gatewayCalls()).toBe(2);
      t.tick(1000);
      expect(t.gatewayCalls()).toBe(3);
      await settle();
      expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 1]);
      t.launchNextForWaiting();
      t.tick(1000);
      expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 1, 2]);
    });

    it('launches anyway, with a warning, when Discord cannot be asked', async () => {
      let calls = 0;
      const t = start({ fixedShardCount: undefined }, async () => {
        if (calls++ > 0) throw new Error('503 Service Unavailable');
        return { shards: 8, source: 'discord', sessionStartLimit: { total: 1000, remaining: 12, resetAfter: 1000, maxConcurrency: 1 } };
      });
      await settle();
      launchAll(t, 4);
      t.procs.exit(1, 1);
      t.tick(500);
      await settle();
      expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 1]);
      expect(t.logs).toContainEqual([expect.objectContaining({ msg: expect.stringContaining('503 Service Unavailable') })]);
    });

    it('with fixed_shard_count, Discord is never asked', () => {
      const t = start();
      launchAll(t, 4);
      for (let i = 0; i < 3; i++) {
        t.procs.exit(1, 1);
        t.tick(1000);
        t.launchNextForWaiting();
        t.tick(1000);
      }
      expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 1, 1, 1]);
      expect(t.gatewayCalls()).toBe(0);
    });
  });

  it('a gateway error is fatal, with exit code 1 and the reason', async () => {
    const t = start({ fixedShardCount: undefined }, async () => {
      throw new Error('401 Unauthorized: the token is invalid');
    });
    await new Promise((r) => setImmediate(r));
    expect(t.snap().status).toBe('done');
    expect(t.snap().output).toEqual({ exitCode: 1, error: expect.stringContaining('401 Unauthorized') });
  });

  it('a cluster that dies during its launch is logged as cluster_start_failed and the launch moves on', () => {
    const t = start({ restart: { ...baseInput.restart, backoffInitial: 3000 } });
    t.procs.exit(0, 1);
    expect(t.bus.actionLogs()).toContainEqual(expect.objectContaining({ event: 'cluster_start_failed', id: 0, code: 1 }));
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1]);
    // Its retry takes the next slot, ahead of the clusters still to launch.
    t.tick(2000);
    t.bus.send({ type: 'bus.launchNext', id: 1, at: t.clock.now() });
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 0]);
  });

  it('a restart waits for the launch slot: never two clusters starting at once', () => {
    const t = start();
    launchAll(t, 2);
    // Cluster 2 is starting; cluster 0 crashes meanwhile.
    expect(t.instance(2).value).toBe('waitingLaunchNext');
    t.procs.exit(0, 1);
    t.tick(500);
    expect(t.instance(0).value).toBe('queued');
    t.tick(4000);
    expect(t.instance(0).value).toBe('queued');
    // Cluster 2 comes up; after the start delay the restart goes first, before cluster 3.
    t.bus.send({ type: 'bus.launchNext', id: 2, at: t.clock.now() });
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 0]);
    expect(t.instance(3).value).toBe('idle');
    t.bus.send({ type: 'bus.launchNext', id: 0, at: t.clock.now() });
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 0, 3]);
  });

  it('after the first launch, all_clusters_launched again whenever a restarted cluster makes the bot whole', () => {
    const t = start();
    launchAll(t, 4);
    const announcements = () => t.bus.received.filter((c) => c.type === 'bus.announce').length;
    expect(announcements()).toBe(1);
    t.command('command.stop', { id: 3 });
    t.procs.exit(1, 1);
    t.tick(500);
    t.launchNextForWaiting();
    expect(t.instance(1).value).toBe('running');
    expect(announcements()).toBe(2);
  });

  it('fleet protection: when more than fleet_crash_ratio of the clusters die within the window, automatic restarts pause', () => {
    const t = start({ fixedShardCount: 16, fleet: { crashRatio: 0.5, window: 10_000, pause: 20_000 } });
    launchAll(t, 8);
    t.command('command.stop', { id: 7 });
    for (const id of [0, 1, 2, 3]) t.procs.exit(id, 1);
    // Four of eight is not more than half: restarts go on.
    expect(t.snap().matches({ supervising: { fleet: 'healthy' } })).toBe(true);
    t.procs.exit(4, 1);
    expect(t.snap().matches({ supervising: { fleet: 'paused' } })).toBe(true);
    expect(t.bus.actionLogs()).toContainEqual({
      event: 'fleet_paused',
      clusters: [0, 1, 2, 3, 4],
      of: 8,
      window_ms: 10_000,
      pause_ms: 20_000,
    });
    const spawns = t.spawnOrder().length;
    t.tick(19_000);
    // Held: nothing restarted, whatever their backoff said...
    expect(t.spawnOrder().length).toBe(spawns);
    expect([0, 1, 2, 3, 4].map((id) => t.instance(id).value)).toEqual(['queued', 'queued', 'queued', 'queued', 'queued']);
    // ...but an operator's start goes through.
    t.command('command.start', { id: 7 });
    expect(t.lastReply().result).toEqual({ ok: true });
    expect(t.spawnOrder().at(-1)).toBe(7);
    t.launchNextForWaiting();
    t.tick(1000);
    expect(t.snap().matches({ supervising: { fleet: 'healthy' } })).toBe(true);
    expect(t.bus.actionLogs()).toContainEqual({ event: 'fleet_resumed' });
    // Then they come back one at a time, through the launch slot.
    expect(t.spawnOrder().slice(spawns + 1)).toEqual([0]);
    launchAll(t, 5);
    expect(t.spawnOrder().slice(spawns + 1)).toEqual([0, 1, 2, 3, 4]);
    expect(t.states().every((s) => s === 'running' || s === 'diagPending')).toBe(true);
  });

  it('fleet protection: deaths spread over more than the window do not pause anything', () => {
    const t = start({ fixedShardCount: 16, fleet: { crashRatio: 0.5, window: 10_000, pause: 20_000 } });
    launchAll(t, 8);
    for (const id of [0, 1, 2, 3, 4, 5]) {
      t.procs.exit(id, 1);
      t.tick(3000);
      t.launchNextForWaiting();
      t.tick(3000);
    }
    expect(t.snap().matches({ supervising: { fleet: 'healthy' } })).toBe(true);
    expect(t.bus.actionLogs().some((e) => e.event === 'fleet_paused')).toBe(false);
  });

  it('a restart of the cluster that holds the launch slot relaunches it at once (no deadlock)', () => {
    const t = start();
    expect(t.instance(0).value).toBe('waitingLaunchNext');
    t.command('command.restart', { id: 0 });
    expect(t.lastReply().result).toEqual({ ok: true });
    // It stopped and asked for the slot it holds: it gets it straight back.
    expect(t.spawnOrder()).toEqual([0, 0]);
    expect(t.instance(0).value).toBe('waitingLaunchNext');
    launchAll(t, 4);
    expect(t.states()).toEqual(['running', 'running', 'running', 'running']);
  });

  it('rolling restart: one cluster at a time, each waiting for its launch_next', () => {
    const t = start();
    launchAll(t, 4);
    expect(t.states()).toEqual(['running', 'running', 'running', 'running']);
    t.command('command.rollingrestart');
    expect(t.lastReply().result).toEqual({ ok: true });
    expect(t.bus.actionLogs()).toContainEqual(expect.objectContaining({ event: 'rolling_restart' }));
    // Cluster 0 is restarted; the others keep running.
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0]);
    expect(t.states()).toEqual(['waitingLaunchNext', 'running', 'running', 'running']);
    t.command('command.rollingrestart');
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'conflict', reason: expect.stringContaining('already in progress') });
    t.bus.send({ type: 'bus.launchNext', id: 0, at: t.clock.now() });
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1]);
    launchAll(t, 3);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(t.snap().matches({ supervising: { phase: 'up' } })).toBe(true);
    expect(t.bus.actionLogs()).toContainEqual({ event: 'rolling_restart_done' });
    expect(t.bus.received.filter((c) => c.type === 'bus.announce')).toHaveLength(2);
  });

  it('rolling restart over a silent cluster: bounded by launch_timeout, then moves on', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.rollingrestart');
    t.bus.send({ type: 'bus.launchNext', id: 0, at: t.clock.now() });
    t.tick(1000);
    // Cluster 1 never says launch_next this time.
    expect(t.instance(1).value).toBe('waitingLaunchNext');
    t.tick(4999);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1]);
    t.tick(1);
    expect(t.bus.actionLogs()).toContainEqual(
      expect.objectContaining({ event: 'cluster_restart_failed', id: 1, reason: 'launch_timeout' }),
    );
    t.tick(1000);
    // The rolling restart went on with cluster 2 while cluster 1 waits in backoff for its own retry.
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1, 2]);
  });

  it('rolling restart paused by an operator: the cluster restarting finishes, the next waits for resume; cancel ends it', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.rollingrestart_pause');
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'conflict', reason: 'no rolling restart is in progress' });
    t.command('command.rollingrestart');
    t.command('command.rollingrestart_pause');
    expect(t.lastReply()).toMatchObject({ action: 'rollingrestart_pause', result: { ok: true } });
    t.bus.send({ type: 'bus.launchNext', id: 0, at: t.clock.now() });
    t.tick(5000);
    // Cluster 0 is back; cluster 1 is not restarted while paused, and the phase stays a rolling restart.
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0]);
    expect(t.snap().hasTag('rolling restart')).toBe(true);
    t.command('command.rollingrestart_resume');
    t.tick(1000);
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1]);
    t.command('command.rollingrestart_cancel');
    expect(t.lastReply()).toMatchObject({ action: 'rollingrestart_cancel', result: { ok: true } });
    expect(t.snap().matches({ supervising: { phase: 'up' } })).toBe(true);
    launchAll(t, 1);
    t.tick(5000);
    // Cluster 1 finishes its restart; 2 and 3 are left running as they were.
    expect(t.spawnOrder()).toEqual([0, 1, 2, 3, 0, 1]);
    expect(t.states()).toEqual(['running', 'running', 'running', 'running']);
    expect(t.bus.actionLogs()).toContainEqual({ event: 'rolling_restart_cancelled', done: 1, total: 4 });
    t.command('command.rollingrestart_cancel');
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'conflict' });
  });

  it('refuses a rolling restart during the first launch', () => {
    const t = start();
    t.command('command.rollingrestart');
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'conflict', reason: expect.stringContaining('first launch') });
  });

  it('start, stop and restart of one cluster, with refusals that say why', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.start', { id: 1 });
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'conflict', reason: expect.stringContaining('already running') });
    t.command('command.start', { id: 9 });
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'not_found' });
    t.command('command.stop', { id: 1 });
    expect(t.lastReply()).toMatchObject({ action: 'stop', result: { ok: true } });
    expect(t.instance(1).value).toBe('stopped');
    t.tick(600_000);
    expect(t.instance(1).value).toBe('stopped');
    t.command('command.stop', { id: 1 });
    expect(t.lastReply().result).toMatchObject({ ok: false, reason: expect.stringContaining('already stopped') });
    t.command('command.start', { id: 1 });
    expect(t.lastReply().result).toEqual({ ok: true });
    expect(t.instance(1).value).toBe('waitingLaunchNext');
    t.bus.send({ type: 'bus.launchNext', id: 1, at: t.clock.now() });
    t.tick(1000);
    const spawnsBefore = t.spawnOrder().length;
    t.command('command.restart', { id: 2 });
    expect(t.lastReply().result).toEqual({ ok: true });
    expect(t.spawnOrder().length).toBe(spawnsBefore + 1);
    expect(t.instance(2).value).toBe('waitingLaunchNext');
  });

  it('answers statuses and num_processes from the instances', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.stop', { id: 3 });
    t.command('command.statuses');
    const views = t.lastReply().result as { ok: true; value: ClusterView[] };
    expect(views.value.map((v) => [v.id, v.name, v.state, v.active])).toEqual([
      [0, 'Alpha', 'running', true],
      [1, 'Beta', 'running', true],
      [2, 'Alpha 2', 'running', true],
      [3, 'Beta 2', 'stopped', false],
    ]);
    t.command('command.num_processes');
    expect(t.lastReply().result).toEqual({ ok: true, value: { clusters: 4, shards: 8 } });
  });

  it('diagnostics go to the bus, and an answer counts only with the nonce of its cluster', () => {
    const t = start({ timing: { ...baseInput.timing, pingInterval: 1000 } });
    launchAll(t, 4);
    t.bus.options.answerDiagnostics = false;
    t.tick(1000);
    const requests = t.bus.received.filter((c) => c.type === 'diag.request');
    expect(requests.length).toBeGreaterThanOrEqual(4);
    const forOne = requests.findLast((r) => r.id === 1)!;
    const forTwo = requests.findLast((r) => r.id === 2)!;
    // Cluster 2's nonce sent as if it were cluster 1's answer changes nothing for either.
    t.bus.answer(1, forTwo.nonce);
    expect(t.instance(1).value).toBe('diagPending');
    t.bus.answer(1, forOne.nonce);
    expect(t.instance(1).value).toBe('running');
    expect(t.instance(2).value).toBe('diagPending');
  });

  it('bus down: no cluster is restarted for missing diagnostic answers', () => {
    const t = start({ timing: { ...baseInput.timing, pingInterval: 1000 } });
    launchAll(t, 4);
    t.bus.options.answerDiagnostics = false;
    t.bus.send({ type: 'bus.down' });
    t.tick(120_000);
    expect(t.states()).toEqual(['running', 'running', 'running', 'running']);
    expect(t.spawnOrder()).toHaveLength(4);
    t.bus.options.answerDiagnostics = false;
    t.bus.send({ type: 'bus.up' });
    t.tick(1000);
    expect(t.states()).toEqual(['diagPending', 'diagPending', 'diagPending', 'diagPending']);
  });

  it('shutdown: stops every cluster, last launched first, then finishes with exit code 0', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.shutdown');
    expect(t.lastReply().result).toEqual({ ok: true });
    // Reverse launch order: the last cluster up is the first one down.
    expect(t.procs.signals).toEqual([3, 2, 1, 0]);
    expect(t.snap().status).toBe('done');
    expect(t.snap().output).toEqual({ exitCode: 0, error: null });
    expect([...t.procs.alive.values()].every((pid) => pid === null)).toBe(true);
  });

  it('shutdown waits for stubborn clusters until kill_timeout, and a second request kills at once', () => {
    const t = start();
    launchAll(t, 4);
    t.procs.stubborn.add(2);
    t.procs.stubborn.add(3);
    t.command('command.restartproc');
    expect(t.snap().matches('shuttingDown')).toBe(true);
    t.tick(1999);
    expect(t.snap().matches('shuttingDown')).toBe(true);
    t.tick(1);
    expect(t.snap().output).toEqual({ exitCode: 1, error: null });

    const u = start();
    launchAll(u, 4);
    u.procs.stubborn.add(1);
    u.command('command.shutdown');
    expect(u.snap().matches('shuttingDown')).toBe(true);
    u.command('command.shutdown');
    expect(u.snap().output).toEqual({ exitCode: 0, error: null });
  });

  it('refuses commands while shutting down, and before the clusters exist', () => {
    const t = start();
    launchAll(t, 4);
    t.procs.stubborn.add(0);
    t.command('command.shutdown');
    t.command('command.start', { id: 1 });
    expect(t.lastReply().result).toMatchObject({ ok: false, status: 'unavailable', reason: expect.stringContaining('shutting down') });

    const u = start({ fixedShardCount: undefined }, () => new Promise(() => {}));
    u.command('command.stop', { id: 0 });
    expect(u.lastReply().result).toMatchObject({ ok: false, status: 'unavailable' });
    u.command('command.statuses');
    expect(u.lastReply().result).toEqual({ ok: true, value: [] });
  });

  it.each([
    { buckets: 1, what: 'one cluster launching at most' },
    { buckets: 4, what: 'launching clusters never share an identify bucket' },
  ])('any sequence of commands, crashes, hangs and time: $what, and no deadlock', ({ buckets }) => {
    const step = fc.oneof(
      fc.record({ op: fc.constantFrom('start', 'stop', 'restart'), id: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ op: fc.constantFrom('rollingrestart', 'rollingrestart_pause', 'rollingrestart_resume', 'rollingrestart_cancel') }),
      fc.record({ op: fc.constantFrom('crash', 'exit0', 'hang'), id: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant('launch_next') }),
      fc.record({ op: fc.constant('tick'), ms: fc.integer({ min: 1, max: 8000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const t = start({
          maxConcurrency: buckets,
          timing: { ...baseInput.timing, pingInterval: 1000 },
          restart: { ...baseInput.restart, maxRestarts: 1000 },
          fleet: { crashRatio: 0.5, window: 10_000, pause: 20_000 },
        });
        // Each cluster's buckets (2 shards a cluster, 8 shards): with 4, clusters 0 and 2 share theirs, 1 and 3 theirs.
        const bucketsOf = (id: number) => new Set([id * 2, id * 2 + 1].map((shard) => shard % buckets));
        /** How many clusters are launching: Infinity if two of them share a bucket. */
        const launching = () => {
          const ids = t.states().flatMap((s, id) => (s === 'starting' || s === 'waitingLaunchNext' ? [id] : []));
          const used = ids.flatMap((id) => [...bucketsOf(id)]);
          return used.length === new Set(used).size ? ids.length : Infinity;
        };
        for (const s of steps) {
          if (s.op === 'tick') t.tick(s.ms);
          else if (s.op === 'launch_next') t.launchNextForWaiting();
          else if (s.op === 'crash' || s.op === 'exit0') t.procs.exit(s.id, s.op === 'crash' ? 1 : 0);
          else if (s.op === 'hang') t.bus.options.answerDiagnostics = !t.bus.options.answerDiagnostics;
          else if ('id' in s) t.command(`command.${s.op}`, { id: s.id });
          else t.command(`command.${s.op}`);
          expect(launching()).toBeLessThanOrEqual(buckets === 1 ? 1 : 2);
        }
        // Then the world heals: clusters answer, operators start what is stopped, time passes.
        t.bus.options.answerDiagnostics = true;
        for (let round = 0; round < 40 && !t.states().every((s) => s === 'running' || s === 'diagPending'); round++) {
          for (let id = 0; id < 4; id++)
            if (['stopped', 'failed'].includes(String(t.instance(id).value))) t.command('command.start', { id });
          t.launchNextForWaiting();
          t.tick(5000);
          expect(launching()).toBeLessThanOrEqual(buckets === 1 ? 1 : 2);
        }
        expect(t.states().every((s) => s === 'running' || s === 'diagPending')).toBe(true);
      }),
      { numRuns: 300, seed: 1126 },
    );
  });
});
