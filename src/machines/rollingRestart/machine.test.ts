import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, setup, type AnyActorLogic, type AnyEventObject } from 'xstate';
import { instanceSystemId } from '../../interfaces/bus.js';
import { rollingRestartMachine, type RollingRestartSnapshot } from './machine.js';

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
  const parent = setup({ actors: { rolling: rollingRestartMachine as AnyActorLogic, bus, instance } }).createMachine({
    invoke: [
      { id: 'bus', src: 'bus', systemId: 'bus' },
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
  return { sent, logs, report, done: () => done, snap: () => rolling()?.getSnapshot() as RollingRestartSnapshot | undefined };
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
});
