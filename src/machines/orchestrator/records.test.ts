import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { advance, fakeBus, fakeProcesses, type FakeProcesses, orchestratorInput } from '../../../tests/helpers/machines.js';
import type { GatewayInfo } from '../../interfaces/gateway.js';
import { instanceMachine, type InstanceSnapshot } from '../instance/machine.js';
import { launchSlotMachine } from '../launchSlot/machine.js';
import { bucketsOf, orchestratorMachine, type OrchestratorSnapshot } from './machine.js';
import type { OrchestratorInput } from './types.js';

/**
 * What the orchestrator writes down for operators: its action log entries,
 * its log lines and its replies to commands, in the cases its other tests
 * (machine.test.ts, blindspots.test.ts) leave unread.
 */

const baseInput = orchestratorInput;

interface Options {
  gateway?: () => Promise<GatewayInfo>;
  busUp?: boolean;
  /** Called with the fake processes before the actor starts (the first spawn happens at start). */
  before?: (procs: FakeProcesses) => void;
}

type LogLine = { level: string; msg: string; cluster?: number };

function start(input: Partial<OrchestratorInput> = {}, { gateway, busUp = true, before }: Options = {}) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  before?.(procs);
  const bus = fakeBus(clock, { up: busUp });
  const logs: LogLine[] = [];
  const discord = fromPromise(() => (gateway ? gateway() : Promise.reject(new Error('no gateway in this test'))));
  const machine = orchestratorMachine.provide({
    actors: {
      instance: instanceMachine.provide({ actors: { clusterProcess: procs.logic } }),
      launchSlot: launchSlotMachine.provide({ actors: { gateway: discord } }),
      bus: bus.logic,
      gateway: discord,
    },
  });
  const actor = createActor(machine, {
    input: { ...baseInput, ...input },
    clock,
    logger: (...args: unknown[]) => {
      const line = args[0];
      if (typeof line === 'object' && line !== null && 'msg' in line) logs.push(line as LogLine);
    },
  });
  actor.start();
  const snap = () => actor.getSnapshot() as OrchestratorSnapshot;
  const instance = (id: number) => snap().children[`cluster-${id}`]?.getSnapshot() as InstanceSnapshot;
  const launchNextForWaiting = () => {
    for (let id = 0; id < 16; id++) {
      if (instance(id)?.value === 'waitingLaunchNext') bus.send({ type: 'bus.launchNext', id, at: clock.now() });
    }
  };
  const command = (type: string, extra: Record<string, unknown> = {}) =>
    actor.send({ type, replyTo: 'bus', commandId: `c${bus.received.length}`, ...extra } as never);
  const lastReply = () => bus.replies().at(-1)!;
  const entries = (event: string) => bus.actionLogs().filter((e) => e.event === event);
  const paused = () => snap().matches({ supervising: { fleet: 'paused' } });
  return {
    clock,
    tick: (ms: number) => advance(clock, ms),
    procs,
    bus,
    logs,
    actor,
    snap,
    instance,
    launchNextForWaiting,
    command,
    lastReply,
    entries,
    paused,
  };
}

type T = ReturnType<typeof start>;

function launchAll(t: T, clusters: number) {
  for (let i = 0; i < clusters; i++) {
    t.launchNextForWaiting();
    t.tick(1000);
  }
}

const settle = () => new Promise((r) => setImmediate(r));

describe('the bus: its log lines, and a refusal', () => {
  it('before the launch, the bus going down and up is logged as launching nothing, then as up', () => {
    const t = start({}, { busUp: false });
    t.bus.send({ type: 'bus.down' });
    expect(t.logs).toContainEqual({ level: 'error', msg: 'the bus is down: no cluster is launched until it is up' });
    t.bus.send({ type: 'bus.up' });
    expect(t.logs).toContainEqual({ level: 'info', msg: 'the bus is up' });
  });

  it('while supervising, the bus going down pauses diagnostics with an error, and its return resumes them', () => {
    const t = start();
    launchAll(t, 4);
    t.bus.send({ type: 'bus.down' });
    expect(t.logs).toContainEqual({ level: 'error', msg: 'the bus is down: diagnostics paused' });
    expect(t.logs.some((l) => l.msg === 'the bus is back: diagnostics resume')).toBe(false);
    t.bus.send({ type: 'bus.up' });
    expect(t.logs).toContainEqual({ level: 'info', msg: 'the bus is back: diagnostics resume' });
  });

  it('a refusal before the launch is fatal: exit code 1, the reason as the error, logged as fatal, nothing launched', () => {
    const t = start({}, { busUp: false });
    const reason = 'another supervisor (pid 77) runs this bot on this bus';
    t.bus.send({ type: 'bus.refused', reason });
    expect(t.snap().status).toBe('done');
    expect(t.snap().output).toEqual({ exitCode: 1, error: reason });
    expect(t.logs).toContainEqual({ level: 'fatal', msg: reason });
    expect(t.procs.spawns).toEqual([]);
  });

  it('a refusal while supervising stops every cluster, with a bus_refused entry (not restartproc), exit code 1 and the reason', () => {
    const t = start();
    launchAll(t, 4);
    const reason = 'another supervisor runs this bot on this bus';
    t.bus.send({ type: 'bus.refused', reason });
    expect(t.entries('bus_refused')).toEqual([{ event: 'bus_refused', reason }]);
    expect(t.entries('restartproc')).toEqual([]);
    expect(t.entries('shutdown')).toEqual([]);
    expect(t.logs).toContainEqual({ level: 'error', msg: `${reason}: stopping every cluster (exit 1)` });
    expect(t.procs.signals).toEqual([3, 2, 1, 0]);
    expect(t.snap().output).toEqual({ exitCode: 1, error: reason });
  });
});

describe('shutdown and restartproc: their entries and log lines', () => {
  it('shutdown writes a shutdown entry, and no other', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.shutdown');
    expect(t.entries('shutdown')).toEqual([{ event: 'shutdown' }]);
    expect(t.entries('restartproc')).toEqual([]);
    expect(t.entries('bus_refused')).toEqual([]);
    expect(t.logs).toContainEqual({ level: 'info', msg: 'shutting down: stopping every cluster' });
    expect(t.snap().output).toEqual({ exitCode: 0, error: null });
  });

  it('restartproc writes a restartproc entry, and no other', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.restartproc');
    expect(t.entries('restartproc')).toEqual([{ event: 'restartproc' }]);
    expect(t.entries('shutdown')).toEqual([]);
    expect(t.entries('bus_refused')).toEqual([]);
    expect(t.logs).toContainEqual({ level: 'info', msg: 'restarting the supervisor (exit 1): stopping every cluster' });
    expect(t.snap().output).toEqual({ exitCode: 1, error: null });
  });

  it('a second shutdown request says it kills every cluster now', () => {
    const t = start();
    launchAll(t, 4);
    t.procs.stubborn.add(1);
    t.command('command.shutdown');
    expect(t.logs.some((l) => l.msg.startsWith('second shutdown request'))).toBe(false);
    t.command('command.shutdown');
    expect(t.logs).toContainEqual({ level: 'warn', msg: 'second shutdown request: killing every cluster now' });
  });

  it('clusters that even SIGKILL does not stop are named when the shutdown gives up on them', () => {
    const t = start();
    launchAll(t, 4);
    t.procs.unkillable.add(1);
    t.procs.unkillable.add(2);
    t.command('command.shutdown');
    t.tick(2999);
    expect(t.snap().matches('shuttingDown')).toBe(true);
    t.tick(1);
    expect(t.logs).toContainEqual({
      level: 'error',
      msg: 'clusters 1, 2 did not stop in time: killing what is left of them and exiting',
    });
    expect(t.snap().status).toBe('done');
  });
});

describe('commands: refusals and replies', () => {
  it('a command on a cluster that does not exist is refused as not_found, with a log line that gives the ids there are', () => {
    const t = start();
    launchAll(t, 4);
    t.command('command.stop', { id: 9 });
    const reason = 'no cluster with id 9 (ids are 0 to 3)';
    expect(t.lastReply()).toMatchObject({ action: 'stop', result: { ok: false, status: 'not_found', reason } });
    expect(t.logs).toContainEqual({ level: 'warn', msg: `refused to stop cluster 9: ${reason}` });
  });

  it.each([-1, 1.5])('cluster id %s is no cluster: refused as not_found, and every cluster keeps running', (id) => {
    const t = start();
    launchAll(t, 4);
    for (const type of ['command.start', 'command.stop', 'command.restart']) {
      t.command(type, { id });
      expect(t.lastReply().result).toEqual({ ok: false, status: 'not_found', reason: `no cluster with id ${id} (ids are 0 to 3)` });
    }
    expect([0, 1, 2, 3].map((i) => t.instance(i).value)).toEqual(['running', 'running', 'running', 'running']);
  });

  it('a restart before the clusters exist is refused as unavailable', () => {
    const t = start({}, { busUp: false });
    t.command('command.restart', { id: 0 });
    expect(t.lastReply()).toMatchObject({ action: 'restart', result: { ok: false, status: 'unavailable' } });
  });

  it('statuses and num_processes replies name their action; num_processes gives the shard count from the gateway', () => {
    const t = start();
    t.command('command.statuses');
    expect(t.lastReply().action).toBe('statuses');
    t.command('command.num_processes');
    expect(t.lastReply()).toMatchObject({ action: 'num_processes', result: { ok: true, value: { clusters: 4, shards: 8 } } });
  });

  it('num_processes before the shard count is known: no clusters, no shards', () => {
    const t = start({ fixedShardCount: undefined }, { gateway: () => new Promise(() => {}) });
    t.command('command.num_processes');
    expect(t.lastReply()).toMatchObject({ action: 'num_processes', result: { ok: true, value: { clusters: 0, shards: 0 } } });
  });

  it('a reply carries the command id when there is one, and has no command id field when there is none', () => {
    const t = start();
    t.actor.send({ type: 'command.num_processes', replyTo: 'bus', commandId: 'abc' });
    expect(t.lastReply()).toStrictEqual({
      type: 'command.reply',
      action: 'num_processes',
      commandId: 'abc',
      result: { ok: true, value: { clusters: 4, shards: 8 } },
    });
    t.actor.send({ type: 'command.num_processes', replyTo: 'bus' });
    expect(t.lastReply()).toStrictEqual({
      type: 'command.reply',
      action: 'num_processes',
      result: { ok: true, value: { clusters: 4, shards: 8 } },
    });
  });

  it('a command with no one to reply to is carried out, with no reply sent anywhere', () => {
    const t = start();
    launchAll(t, 4);
    const replies = t.bus.replies().length;
    t.actor.send({ type: 'command.num_processes' });
    t.actor.send({ type: 'command.stop', id: 9, replyTo: 'nobody' });
    t.actor.send({ type: 'command.stop', id: 1 });
    expect(t.bus.replies()).toHaveLength(replies);
    expect(t.instance(1).value).toBe('stopped');
    expect(t.snap().status).toBe('active');
  });
});

describe('launch_next', () => {
  it('a launch_next that names no cluster goes to the cluster holding the launch slot', () => {
    const t = start();
    expect(t.instance(0).value).toBe('waitingLaunchNext');
    t.bus.send({ type: 'bus.launchNext', id: undefined, at: t.clock.now() });
    expect(t.instance(0).value).toBe('running');
    t.tick(1000);
    expect(t.procs.spawns).toEqual([0, 1]);
    expect(t.logs.some((l) => l.msg.includes('ignored launch_next'))).toBe(false);
  });

  it('a launch_next for a cluster that does not exist is ignored, with a warning', () => {
    const t = start();
    t.bus.send({ type: 'bus.launchNext', id: 9, at: t.clock.now() });
    expect(t.logs).toContainEqual({ level: 'warn', msg: 'ignored launch_next for unknown cluster 9' });
    expect(t.instance(0).value).toBe('waitingLaunchNext');
    expect(t.snap().status).toBe('active');
  });
});

describe('a cluster going down: its entry names how', () => {
  it('a cluster that dies while up is cluster_died, with its exit code and signal, logged as a warning', () => {
    const t = start();
    launchAll(t, 4);
    t.procs.exit(1, 3);
    expect(t.entries('cluster_died')).toEqual([{ event: 'cluster_died', id: 1, reason: 'exited', code: 3, signal: null }]);
    expect(t.logs).toContainEqual({ level: 'warn', cluster: 1, msg: 'cluster 1 is down (exited with code 3)' });
  });

  it('a cluster that stops answering diagnostics is a ping_failure, not cluster_died', () => {
    const t = start();
    launchAll(t, 4);
    t.bus.options.answerDiagnostics = false;
    t.tick(12_000);
    const down = t.bus.actionLogs().filter((e) => 'reason' in e && e.reason === 'ping_timeout');
    expect(down.length).toBeGreaterThan(0);
    expect(down).toContainEqual({ event: 'ping_failure', id: 0, reason: 'ping_timeout' });
    expect(down.every((e) => e.event === 'ping_failure')).toBe(true);
    expect(t.logs).toContainEqual({ level: 'warn', cluster: 0, msg: 'cluster 0 is down (no answer to a diagnostic within ping_timeout)' });
  });

  it('a cluster whose process cannot be spawned is cluster_start_failed with the error, and no exit code', () => {
    const t = start(
      { restart: { ...baseInput.restart, backoffInitial: 60_000, backoffMax: 60_000 } },
      { before: (p) => p.unspawnable.add(0) },
    );
    expect(t.entries('cluster_start_failed')).toStrictEqual([
      { event: 'cluster_start_failed', id: 0, reason: 'spawn_failed', error: 'spawn ENOENT' },
    ]);
    expect(t.logs).toContainEqual({ level: 'warn', cluster: 0, msg: 'cluster 0 is down (could not start: spawn ENOENT)' });
  });

  it('an exit has no error field in its entry', () => {
    const t = start();
    t.procs.exit(0, 2);
    expect(t.entries('cluster_start_failed')).toStrictEqual([
      { event: 'cluster_start_failed', id: 0, reason: 'exited', code: 2, signal: null },
    ]);
  });

  it('a cluster that will not be restarted writes cluster_failed with why, its exits and its last lines, logged as an error', () => {
    const t = start({ restart: { ...baseInput.restart, noRestartExitCodes: [7] } });
    launchAll(t, 4);
    t.procs.exit(2, 7);
    const failed = t.entries('cluster_failed');
    expect(failed).toEqual([
      {
        event: 'cluster_failed',
        id: 2,
        why: 'its exit code is in restart.no_restart_exit_codes',
        exits: [expect.objectContaining({ code: 7 })],
        last_lines: ['line from cluster 2'],
      },
    ]);
    expect(t.logs).toContainEqual({
      level: 'error',
      cluster: 2,
      msg: 'cluster 2 failed and stays down until an operator starts it: its exit code is in restart.no_restart_exit_codes',
    });
    expect(t.instance(2).value).toBe('failed');
    expect(t.snap().status).toBe('active');
  });
});

describe('all_clusters_launched', () => {
  it('when the first launch is over, the entry lists exactly the clusters not up', () => {
    const t = start();
    t.command('command.stop', { id: 2 });
    launchAll(t, 4);
    expect(t.entries('all_clusters_launched')).toEqual([{ event: 'all_clusters_launched', not_up: [2] }]);
    expect(t.logs).toContainEqual({ level: 'info', msg: 'all clusters had their launch; not up: 2' });
  });

  it('with every cluster up, not_up is empty', () => {
    const t = start();
    launchAll(t, 4);
    expect(t.entries('all_clusters_launched')).toEqual([{ event: 'all_clusters_launched', not_up: [] }]);
    expect(t.logs).toContainEqual({ level: 'info', msg: 'all clusters launched' });
  });
});

describe('fleet protection: deaths leave the window one by one', () => {
  // 4 clusters; more than half of them (three) down within 10 s pauses restarts. Restarts wait a minute: the dead stay dead.
  const input = {
    fleet: { crashRatio: 0.5, window: 10_000, pause: 20_000 },
    restart: { ...baseInput.restart, backoffInitial: 60_000, backoffMax: 60_000 },
  };

  it('the first death leaves the window after it: three deaths over more than the window do not pause', () => {
    const t = start(input);
    launchAll(t, 4);
    t.procs.exit(0, 1);
    t.tick(6000);
    t.procs.exit(1, 1);
    t.tick(6000);
    // Cluster 0's death is 12 s old: only 1 and 2 count.
    t.procs.exit(2, 1);
    expect(t.paused()).toBe(false);
    // A third death within the window of 1 and 2 does pause.
    t.tick(2000);
    t.procs.exit(3, 1);
    expect(t.paused()).toBe(true);
    expect(t.entries('fleet_paused')).toEqual([{ event: 'fleet_paused', clusters: [1, 2, 3], of: 4, window_ms: 10_000, pause_ms: 20_000 }]);
    expect(t.logs).toContainEqual(
      expect.objectContaining({ level: 'error', msg: expect.stringMatching(/^3 of 4 clusters went down within 10 s/) }),
    );
  });

  it('each death leaves the window in turn: two old deaths and two new ones do not pause', () => {
    const t = start(input);
    launchAll(t, 4);
    t.procs.exit(0, 1);
    t.tick(6000);
    t.procs.exit(1, 1);
    t.tick(14_000);
    t.procs.exit(2, 1);
    t.tick(2000);
    t.procs.exit(3, 1);
    expect(t.paused()).toBe(false);
    expect(t.entries('fleet_paused')).toEqual([]);
  });
});

describe('fleet protection: resuming', () => {
  // 8 clusters; more than a quarter (three) down within 10 s pauses restarts, for 2 s: shorter than the window.
  const input = {
    fixedShardCount: 16,
    fleet: { crashRatio: 0.25, window: 10_000, pause: 2000 },
    restart: { ...baseInput.restart, backoffInitial: 60_000, backoffMax: 60_000 },
  };

  it('after a pause, the deaths that caused it no longer count: one pause, one resume, and two more deaths do not pause again', () => {
    const t = start(input);
    launchAll(t, 8);
    for (const id of [0, 1, 2]) t.procs.exit(id, 1);
    expect(t.paused()).toBe(true);
    t.tick(2000);
    expect(t.paused()).toBe(false);
    expect(t.entries('fleet_paused')).toHaveLength(1);
    expect(t.entries('fleet_resumed')).toEqual([{ event: 'fleet_resumed' }]);
    expect(t.logs).toContainEqual({ level: 'warn', msg: 'automatic restarts resume, through the launch slot' });
    t.tick(1000);
    t.procs.exit(3, 1);
    t.procs.exit(4, 1);
    expect(t.paused()).toBe(false);
    expect(t.entries('fleet_paused')).toHaveLength(1);
  });
});

describe('discovery: what is logged, and what a gateway answer may leave out', () => {
  it('waiting for sessions because fewer are left than the minimum (though enough for the shards) says so', async () => {
    let calls = 0;
    const t = start(
      { fixedShardCount: undefined, minimumSafeSessions: 5 },
      {
        gateway: async () => ({
          shards: 4,
          source: 'discord',
          sessionStartLimit: { total: 1000, remaining: calls++ === 0 ? 4 : 1000, resetAfter: 30_000, maxConcurrency: 1 },
        }),
      },
    );
    await settle();
    expect(t.snap().matches({ discovering: 'waitingForSessions' })).toBe(true);
    expect(t.logs).toContainEqual({
      level: 'warn',
      msg: "only 4 session starts left (minimum_safe_sessions_remaining is 5): waiting 30 s for Discord's reset",
    });
  });

  it('a gateway answer with no session start limit launches at once', async () => {
    const t = start({ fixedShardCount: undefined }, { gateway: async () => ({ shards: 4, source: 'discord', sessionStartLimit: null }) });
    await settle();
    expect(t.snap().context.clusters).toHaveLength(2);
    expect(t.procs.spawns).toEqual([0]);
  });

  it('with no gateway actor provided, discovery fails with a fatal error that says to provide one', async () => {
    const clock = new SimulatedClock();
    const bus = fakeBus(clock);
    const actor = createActor(orchestratorMachine.provide({ actors: { bus: bus.logic } }), {
      input: { ...baseInput, fixedShardCount: undefined },
      clock,
      logger: () => {},
    });
    actor.start();
    await settle();
    expect(actor.getSnapshot().output).toEqual({
      exitCode: 1,
      error: 'could not get the shard count from Discord: orchestratorMachine needs a gateway actor: provide one',
    });
  });

  it('with no bus actor provided, the orchestrator does not run: it errors, saying to provide one', () => {
    const actor = createActor(orchestratorMachine, { input: baseInput, logger: () => {} });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => void errors.push(e) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toEqual([new Error('orchestratorMachine needs a bus actor: provide one')]);
  });

  it('with no gateway answer yet, the identify buckets are the configured ones (1 when unset)', () => {
    expect(bucketsOf(null, { maxConcurrency: 3 })).toBe(3);
    expect(bucketsOf(null, { maxConcurrency: undefined })).toBe(1);
  });
});

describe('the cluster map', () => {
  it('is logged with the shard count, its source, and one launch at a time', () => {
    const t = start();
    expect(t.logs).toContainEqual({
      level: 'info',
      msg: '8 shards in 4 clusters of up to 2 (shard count from fixed_shard_count); one cluster launches at a time',
    });
  });

  it('each cluster gets its own random seed, derived from the supervisor seed and its id', () => {
    const t = start();
    expect([0, 1, 2, 3].map((id) => t.instance(id).context.input.seed)).toEqual([42, 42 + 7919, 42 + 2 * 7919, 42 + 3 * 7919]);
  });

  it("each cluster of the map starts from its own earlier runs' history; one no longer in the map is dropped", () => {
    const restarts = (crash: number) => ({ crash, hang: 0, operator: 1, rollout: 0 });
    const exit = { code: 1, signal: null, at: 5 };
    const t = start({ history: { 1: { restarts: restarts(3), exits: [exit] }, 9: { restarts: restarts(7), exits: [] } } });
    expect(t.instance(1).context).toMatchObject({ restarts: { byCause: restarts(3) }, lastExit: exit, recentExits: [exit] });
    const none = { crash: 0, hang: 0, operator: 0, rollout: 0 };
    for (const id of [0, 2, 3])
      expect(t.instance(id).context).toMatchObject({ restarts: { byCause: none }, lastExit: null, recentExits: [] });
    expect(t.instance(9)).toBeUndefined();
  });
});
