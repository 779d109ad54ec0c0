import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, setup, type AnyActorLogic, type AnyEventObject } from 'xstate';
import { instanceSystemId } from '../../interfaces/bus.js';
import { rollingRestartMachine, type RollingRestartSnapshot } from './machine.js';
import { rolloutViewOf } from './view.js';

/**
 * A rolling restart alone, hosted as the orchestrator hosts it: a bus
 * (systemId "bus") and stand-ins for the clusters' Instance actors that record
 * what they are sent, in one list, in order.
 */
function host(clusters: number[], count = 4) {
  const sent: unknown[] = [];
  const logs: { level: string; cluster?: number; msg: string }[] = [];
  let done = false;
  const instance = fromCallback<AnyEventObject, { id: number }>(({ input: { id }, receive }) =>
    receive((event) => void sent.push({ to: id, type: event.type })),
  );
  const bus = fromCallback<AnyEventObject>(({ receive }) => receive((event) => void sent.push({ to: 'bus', ...event })));
  const api = fromCallback<AnyEventObject>(({ receive }) => receive((event) => void sent.push({ to: 'api', ...event })));
  const parent = setup({ actors: { rolling: rollingRestartMachine as AnyActorLogic, bus, instance, api } }).createMachine({
    invoke: [
      { id: 'bus', src: 'bus', systemId: 'bus' },
      { id: 'api', src: 'api', systemId: 'api' },
      ...Array.from({ length: count }, (_, id) => ({
        id: instanceSystemId(id),
        src: 'instance' as const,
        systemId: instanceSystemId(id),
        input: { id },
      })),
      { id: 'rolling', src: 'rolling', input: { clusters }, onDone: { actions: () => (done = true) } },
    ],
  });
  const actor = createActor(parent, { logger: (entry: { level: string; cluster?: number; msg: string }) => void logs.push(entry) });
  actor.start();
  const rolling = () => actor.getSnapshot().children.rolling;
  const report = (type: string, id: number) => rolling()?.send({ type, id } as never);
  /** An operator's command, as the orchestrator passes it on, with the reply address the HTTP API gives. */
  const command = (op: 'pause' | 'resume' | 'cancel', commandId = op) =>
    rolling()?.send({ type: `command.rollingrestart_${op}`, replyTo: 'api', commandId } as never);
  const snap = () => rolling()?.getSnapshot() as RollingRestartSnapshot | undefined;
  return { sent, logs, report, command, done: () => done, snap, view: () => rolloutViewOf(snap()!) };
}

describe('a rolling restart', () => {
  it('says it begins, with how many clusters, and restarts the first', () => {
    const t = host([0, 1, 2]);
    expect(t.sent).toEqual([
      { to: 'bus', type: 'actionLog.write', entry: { event: 'rolling_restart', clusters: 3 } },
      { to: 0, type: 'cluster.restart' },
    ]);
    expect(t.logs).toEqual([
      { level: 'info', msg: 'rolling restart: begins' },
      { level: 'info', cluster: 0, msg: 'rolling restart: restarting cluster 0' },
    ]);
  });

  it('restarts one cluster at a time, in the order given, each once the one before is up', () => {
    const t = host([2, 0, 1]);
    t.sent.length = 0;
    // Reports of other clusters do not move it on.
    for (const type of ['cluster.up', 'cluster.down', 'cluster.stopped', 'cluster.failed', 'cluster.restartSkipped']) t.report(type, 1);
    expect(t.sent).toEqual([]);
    t.report('cluster.up', 2);
    expect(t.sent).toEqual([{ to: 0, type: 'cluster.restart' }]);
    t.report('cluster.up', 0);
    expect(t.sent).toEqual([
      { to: 0, type: 'cluster.restart' },
      { to: 1, type: 'cluster.restart' },
    ]);
    expect(t.done()).toBe(false);
  });

  it.each(['cluster.up', 'cluster.down', 'cluster.stopped', 'cluster.failed', 'cluster.restartSkipped'])(
    'moves on to the next cluster when the current one says %s',
    (type) => {
      const t = host([0, 1]);
      t.report(type, 0);
      expect(t.sent.at(-1)).toEqual({ to: 1, type: 'cluster.restart' });
      expect(t.snap()?.context.current).toBe(1);
    },
  );

  it('when the last is done: tells the clusters the bot is whole, says it is done, and ends', () => {
    const t = host([0, 1]);
    t.report('cluster.up', 0);
    t.sent.length = 0;
    t.logs.length = 0;
    t.report('cluster.down', 1);
    expect(t.sent).toEqual([
      { to: 'bus', type: 'bus.announce', action: 'all_clusters_launched' },
      { to: 'bus', type: 'actionLog.write', entry: { event: 'rolling_restart_done' } },
    ]);
    expect(t.logs).toEqual([{ level: 'info', msg: 'rolling restart: done' }]);
    expect(t.done()).toBe(true);
  });

  it('with no cluster to restart, is done at once', () => {
    const t = host([]);
    expect(t.sent).toEqual([
      { to: 'bus', type: 'actionLog.write', entry: { event: 'rolling_restart', clusters: 0 } },
      { to: 'bus', type: 'bus.announce', action: 'all_clusters_launched' },
      { to: 'bus', type: 'actionLog.write', entry: { event: 'rolling_restart_done' } },
    ]);
    expect(t.done()).toBe(true);
  });

  it('counts its progress: how many of how many are done, and which one restarts now', () => {
    const t = host([3, 1, 2]);
    expect(t.view()).toEqual({ state: 'restarting', total: 3, done: 0, current: 3 });
    t.report('cluster.up', 3);
    t.report('cluster.failed', 1);
    expect(t.view()).toEqual({ state: 'restarting', total: 3, done: 2, current: 2 });
  });
});

describe('an operator pauses, resumes and cancels a rolling restart', () => {
  it('paused, it lets the cluster restarting finish and begins no other until resumed', () => {
    const t = host([0, 1, 2]);
    t.sent.length = 0;
    t.command('pause');
    expect(t.sent).toEqual([
      { to: 'api', type: 'command.reply', action: 'rollingrestart_pause', commandId: 'pause', result: { ok: true } },
      { to: 'bus', type: 'actionLog.write', entry: { event: 'rolling_restart_paused', done: 0, total: 3, current: 0 } },
    ]);
    expect(t.view()).toEqual({ state: 'pausing', total: 3, done: 0, current: 0 });
    t.sent.length = 0;
    t.report('cluster.up', 0);
    expect(t.sent).toEqual([]);
    expect(t.view()).toEqual({ state: 'paused', total: 3, done: 1, current: null });
    t.command('pause'); // again: nothing to do, and not an error
    t.command('resume');
    expect(t.sent).toEqual([
      { to: 'api', type: 'command.reply', action: 'rollingrestart_pause', commandId: 'pause', result: { ok: true } },
      { to: 'api', type: 'command.reply', action: 'rollingrestart_resume', commandId: 'resume', result: { ok: true } },
      { to: 'bus', type: 'actionLog.write', entry: { event: 'rolling_restart_resumed', done: 1, total: 3 } },
      { to: 1, type: 'cluster.restart' },
    ]);
    expect(t.view()).toEqual({ state: 'restarting', total: 3, done: 1, current: 1 });
  });

  it('resumed before the cluster restarting is back, it goes straight on', () => {
    const t = host([0, 1]);
    t.command('pause');
    t.command('resume');
    t.sent.length = 0;
    t.report('cluster.up', 0);
    expect(t.sent).toEqual([{ to: 1, type: 'cluster.restart' }]);
  });

  it.each([
    ['restarting', (t: ReturnType<typeof host>) => void t],
    ['paused', (t: ReturnType<typeof host>) => (t.command('pause'), t.report('cluster.up', 0))],
  ])('cancelled while %s, it restarts no other cluster, says so with its progress, and ends', (_, before) => {
    const t = host([0, 1, 2]);
    before(t);
    t.sent.length = 0;
    t.command('cancel');
    expect(t.done()).toBe(true);
    expect(t.sent).toContainEqual({
      to: 'api',
      type: 'command.reply',
      action: 'rollingrestart_cancel',
      commandId: 'cancel',
      result: { ok: true },
    });
    expect(t.sent.filter((e) => (e as { type: string }).type === 'cluster.restart')).toEqual([]);
    // Not "whole again": the others were not restarted, and the bot was never less than whole for them.
    expect(t.sent.filter((e) => (e as { type: string }).type === 'bus.announce')).toEqual([]);
    expect(t.logs.map((l) => l.msg)).toContain(
      `rolling restart: cancelled, ${t.view().done} of 3 clusters restarted; the others are left as they are`,
    );
    expect(t.view().state).toBe('cancelled');
  });
});
