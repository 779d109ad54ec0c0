import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef, type AnyEventObject } from 'xstate';
import { advance, fakeProcesses } from '../../../tests/helpers/machines.js';
import { instanceSystemId } from '../../interfaces/bus.js';
import { instanceMachine, type InstanceSnapshot } from './machine.js';
import type { InstanceInput, RestartPolicy } from './types.js';

/**
 * An Instance actor under a recording parent, as in machine.test.ts, with
 * what it logs kept: the lines an operator reads about one cluster.
 */
const restart: RestartPolicy = {
  backoffInitial: 100,
  backoffFactor: 2,
  backoffMax: 1000,
  jitter: 0,
  resetAfter: 10_000,
  maxRestarts: 3,
  within: 60_000,
  noRestartExitCodes: [78],
};

function start(overrides: Partial<InstanceInput> = {}) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const input: InstanceInput = {
    cluster: { id: 2, name: 'Gamma', shards: [4, 5] },
    shardCount: 6,
    clusterCount: 3,
    timing: { pingInterval: 1000, pingTimeout: 500, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 3000 },
    restart,
    nonceSalt: 'salt',
    seed: 1,
    ...overrides,
  };
  const reports: AnyEventObject[] = [];
  const logs: Record<string, unknown>[] = [];
  const bus = fromCallback<AnyEventObject>(({ receive }) => receive((event) => void reports.push(event)));
  const parent = setup({ actors: { child: instanceMachine.provide({ actors: { clusterProcess: procs.logic } }), bus } }).createMachine({
    invoke: [
      { id: 'child', src: 'child', systemId: instanceSystemId(2), input },
      { id: 'bus', src: 'bus', systemId: 'bus' },
    ],
    on: { '*': { actions: ({ event }) => void reports.push(event) } },
  });
  const actor = createActor(parent, { clock, logger: (entry: Record<string, unknown>) => void logs.push(entry) });
  actor.start();
  const child = () => actor.getSnapshot().children.child as AnyActorRef;
  const send = (event: AnyEventObject) => child().send(event);
  const snap = () => child().getSnapshot() as InstanceSnapshot;
  const launch = () => {
    send({ type: 'slot.granted' });
    send({ type: 'bus.launchNext', at: clock.now() });
  };
  const nonce = () => [...reports].reverse().find((r) => r.type === 'diag.request')?.nonce as string;
  return { clock, tick: (ms: number) => advance(clock, ms), procs, reports, logs, send, snap, launch, nonce };
}

describe('what an Instance logs', () => {
  it('a launch_next it is not waiting for', () => {
    const t = start();
    t.send({ type: 'bus.launchNext', at: 0 });
    expect(t.logs).toEqual([{ level: 'warn', cluster: 2, msg: 'ignored bus.launchNext: the cluster is not waiting for it' }]);
  });

  it('a diagnostic answer with a stale nonce, or none awaited', () => {
    const t = start();
    t.launch();
    t.tick(1000);
    t.send({ type: 'diag.answer', nonce: 'salt-2-0', health: [], at: 1000 });
    t.send({ type: 'diag.answer', nonce: t.nonce(), health: [], at: 1000 });
    t.send({ type: 'diag.answer', nonce: 'salt-2-1', health: [], at: 1000 });
    const line = { level: 'warn', cluster: 2, msg: 'ignored a diagnostic answer with a stale nonce: the cluster is not waiting for it' };
    expect(t.logs).toEqual([line, line]);
  });

  it('entries of an answer that are not for its shards, which it leaves out', () => {
    const t = start();
    t.launch();
    t.tick(1000);
    const health = [
      { shard_id: 4, up: true, latency: 10, guilds: 1, users: 1 },
      { shard_id: 0, up: true, latency: 10, guilds: 1, users: 1 },
      { shard_id: 4, up: false, latency: 10, guilds: 1, users: 1 },
    ];
    t.send({ type: 'diag.answer', nonce: t.nonce(), health, at: 1000 });
    expect(t.snap().context.diag.last).toEqual({ at: 1000, health: [health[0]] });
    expect(t.logs).toEqual([
      {
        level: 'warn',
        cluster: 2,
        msg: "left out 2 entries of a diagnostic answer that are not for this cluster's shards (4, 5), or repeat one",
      },
    ]);
  });

  it('nothing for a sound answer', () => {
    const t = start();
    t.launch();
    t.tick(1000);
    t.send({ type: 'diag.answer', nonce: t.nonce(), health: [{ shard_id: 5, up: true, latency: 1, guilds: 1, users: 1 }], at: 1000 });
    expect(t.logs).toEqual([]);
  });

  it("an operator's command: carried out and written down, or refused with the reason", () => {
    const t = start();
    t.launch();
    t.send({ type: 'command.start', id: 2 });
    t.send({ type: 'command.restart', id: 2 });
    expect(t.logs).toEqual([
      { level: 'warn', cluster: 2, msg: 'refused to start cluster 2: cluster 2 is already running (running)' },
      { level: 'info', cluster: 2, msg: 'restart cluster 2: by operator' },
    ]);
    expect(t.reports.filter((r) => r.type === 'actionLog.write')).toEqual([
      { type: 'actionLog.write', entry: { event: 'cluster_restart', id: 2 } },
    ]);
  });
});

describe('what an Instance reports', () => {
  it('diagnostic requests with a nonce of the run, the cluster and a count, and the launch they are for', () => {
    const t = start();
    t.launch();
    t.tick(1000);
    expect(t.reports.filter((r) => r.type === 'diag.request')).toEqual([{ type: 'diag.request', id: 2, nonce: 'salt-2-1', launch: 1 }]);
    t.send({ type: 'diag.answer', nonce: 'salt-2-1', health: [], at: 1000 });
    t.tick(1000);
    expect(t.nonce()).toBe('salt-2-2');
  });

  it('a failure: why, its last exits (at most 5) and its last lines', () => {
    const t = start({ restart: { ...restart, maxRestarts: 6 } });
    for (let i = 0; i < 7; i++) {
      t.launch();
      t.procs.exit(2, i + 1);
      t.tick(1000);
    }
    const failed = t.reports.find((r) => r.type === 'cluster.failed');
    expect(failed).toMatchObject({
      type: 'cluster.failed',
      id: 2,
      why: 'too many restarts (restart.max_restarts within restart.within)',
      lastLines: ['line from cluster 2'],
    });
    expect(failed!.exits.map((e: { code: number }) => e.code)).toEqual([3, 4, 5, 6, 7]);
  });

  it('an exit code in no_restart_exit_codes: failed at once, saying so', () => {
    const t = start();
    t.launch();
    t.procs.exit(2, 78);
    expect(t.snap().value).toBe('failed');
    expect(t.reports.find((r) => r.type === 'cluster.failed')).toMatchObject({ why: 'its exit code is in restart.no_restart_exit_codes' });
  });

  it.each([
    [104, 'Discord closed its gateway with 4004 (authentication failed): the token is wrong or was reset'],
    [111, 'Discord closed its gateway with 4011 (sharding required): the bot has too many guilds for its shard count'],
    [114, 'Discord closed its gateway with 4014 (disallowed intents): the bot asks for a privileged intent'],
  ])('exit code %i (a fatal Discord close code): failed at once, saying what Discord said and what to do', (code, said) => {
    const t = start();
    t.launch();
    t.procs.exit(2, code);
    expect(t.snap().value).toBe('failed');
    const failed = t.reports.find((r) => r.type === 'cluster.failed') as unknown as { why: string };
    expect(failed.why.startsWith(said)).toBe(true);
    expect(failed.why.endsWith('; restarting cannot help')).toBe(true);
  });

  it('exit codes beside the fatal close codes are crashes like any other: restarted', () => {
    for (const code of [99, 100, 105, 115, 1]) {
      const t = start();
      t.launch();
      t.procs.exit(2, code);
      expect(t.snap().value).toBe('backoff');
    }
  });

  it('a death by signal is not judged by no_restart_exit_codes', () => {
    const t = start();
    t.launch();
    t.procs.exit(2, null, 'SIGSEGV');
    expect(t.snap().value).toBe('backoff');
    expect(t.reports.find((r) => r.type === 'cluster.down')).toMatchObject({ reason: 'exited', exit: { code: null, signal: 'SIGSEGV' } });
  });

  it('a down that is not an exit carries no exit, and a spawn failure its error', () => {
    const t = start();
    t.procs.unspawnable.add(2);
    t.send({ type: 'slot.granted' });
    expect(t.reports.find((r) => r.type === 'cluster.down')).toEqual({
      type: 'cluster.down',
      id: 2,
      reason: 'spawn_failed',
      launching: true,
      restart: false,
      exit: null,
      error: 'spawn ENOENT',
    });
  });
});
