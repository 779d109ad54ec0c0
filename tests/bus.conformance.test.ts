import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEventObject } from 'xstate';
import { createIpcBus } from '../src/adapters/bus/ipc.js';
import { createLogger } from '../src/adapters/logger.js';
import { createRedisBus } from '../src/adapters/bus/redis.js';
import type { BusCommand } from '../src/interfaces/bus.js';
import type { BusAdapter } from '../src/interfaces/busAdapter.js';
import { busHost } from './helpers/machines.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnClientClusters } from './helpers/clients.js';
import { eventually } from './helpers/supervisor.js';

/**
 * One suite, every bus (as BullMQ tests its connections): real cluster
 * processes on mewld/client talk to the bus, and the test plays the
 * orchestrator on the other side.
 */

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

const logger = createLogger({ level: 'silent', pretty: false });
let seq = 0;

const implementations: [string, () => BusAdapter][] = [
  ['redis', () => createRedisBus({ url: redis.url, channel: `conformance-${process.pid}-${seq++}`, actionLogMax: 50 }, logger)],
  ['ipc', () => createIpcBus({ channel: 'conformance', actionLogMax: 50 }, logger)],
];

describe.each(implementations)('the %s bus', (_name, makeBus) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** The bus under a recording parent, and `count` client clusters attached to it. */
  function setUp(count: number, env: Record<string, string> = {}) {
    const bus = makeBus();
    const { actor, bus: child, reports } = busHost(bus.actor, Math.max(count, 3));
    const clusters = spawnClientClusters(bus.link, count, env);
    cleanups.push(async () => {
      clusters.kill();
      actor.stop();
      await bus.close();
    });
    const send = (command: BusCommand) => child().send(command);
    const { events, processes } = clusters;
    const waitForReport = (predicate: (e: AnyEventObject) => boolean, what: string) =>
      eventually(() => reports.find(predicate), 10_000, what);
    const allReady = () => waitForReport(() => reports.filter((r) => r.type === 'bus.launchNext').length === count, 'every launch_next');
    /** Waits until the clusters have recorded exactly `count` events of a kind. */
    const recorded = (event: string, count: number) =>
      eventually(
        () => {
          const found = events().filter((e) => e.event === event);
          return found.length === count ? found : undefined;
        },
        10_000,
        `${count} ${event} events`,
      );
    return { bus, send, reports, events, recorded, processes, waitForReport, allReady };
  }

  it('delivers what clusters send: launch_next from each, with its id', async () => {
    const t = setUp(3);
    await t.allReady();
    expect(
      t.reports
        .filter((r) => r.type === 'bus.launchNext')
        .map((r) => r.id)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('matches replies to requests by command_id', async () => {
    const t = setUp(3, { CLIENT_REQUEST: 'stop' });
    await eventually(() => t.reports.filter((r) => r.type === 'command.stop').length === 3, 10_000, 'three stop commands');
    const commands = t.reports.filter((r) => r.type === 'command.stop');
    expect(commands.every((c) => c.replyTo === 'bus' && c.commandId !== undefined)).toBe(true);
    // Answered in reverse order, each with an output that names who asked.
    for (const c of [...commands].reverse()) {
      t.send({
        type: 'command.reply',
        action: 'stop',
        commandId: c.commandId,
        result: { ok: false, status: 'conflict', reason: `for cluster ${c.id}` },
      });
    }
    // Refusals: each request rejects with the reason given for it, typed.
    const refused = await t.recorded('request_failed', 3);
    for (const r of refused)
      expect(r).toMatchObject({ name: 'RequestRefusedError', reason: `for cluster ${r.id}`, error: `stop refused: for cluster ${r.id}` });
  });

  it('relays scope "bot" messages to every other cluster, not back to the sender', async () => {
    const t = setUp(3, { CLIENT_BROADCAST_0: '1' });
    await t.allReady();
    t.send({ type: 'bus.announce', action: 'all_clusters_launched' });
    const received = await t.recorded('bot_message', 2);
    expect(received.map((e) => e.id).sort()).toEqual([1, 2]);
    expect(received.every((e) => e.from === 0 && (e.data as { greeting: string }).greeting === 'hello from 0')).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(t.events().filter((e) => e.event === 'bot_message' && e.id === 0)).toEqual([]);
  });

  it("sends a diagnostic to its cluster only, and routes the answer by nonce to that cluster's Instance actor", async () => {
    const t = setUp(3);
    await t.allReady();
    t.send({ type: 'diag.request', id: 1, nonce: 'nonce-one', launch: 1 });
    t.send({ type: 'diag.request', id: 2, nonce: 'nonce-two', launch: 1 });
    const one = await t.waitForReport((r) => r.type === 'diag.answer' && r.nonce === 'nonce-one', 'the answer of cluster 1');
    const two = await t.waitForReport((r) => r.type === 'diag.answer' && r.nonce === 'nonce-two', 'the answer of cluster 2');
    expect(one).toMatchObject({ to: 1, health: [{ shard_id: 2, up: true, latency: 22, guilds: 5, users: 50 }, { shard_id: 3 }] });
    expect(two).toMatchObject({ to: 2, health: [{ shard_id: 4 }, { shard_id: 5 }] });
    expect(
      t
        .events()
        .filter((e) => e.event === 'diag')
        .map((e) => e.id)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('identify turns: carries identify_wait and identified from each cluster, and identify_turn to its cluster only', async () => {
    const t = setUp(3, { CLIENT_TURNS: '0' });
    await t.waitForReport(() => t.reports.filter((r) => r.type === 'bus.identifyWait').length === 3, 'three identify_wait');
    t.send({ type: 'identify.turn', id: 1 });
    await t.waitForReport((r) => r.type === 'bus.identified' && r.id === 1, 'the identified of cluster 1');
    await new Promise((r) => setTimeout(r, 200));
    expect(
      t
        .events()
        .filter((e) => e.event === 'turn')
        .map((e) => e.id),
    ).toEqual([1]);
    t.send({ type: 'identify.turn', id: 0 });
    t.send({ type: 'identify.turn', id: 2 });
    await t.allReady();
    expect(
      t.reports
        .filter((r) => r.type === 'bus.identified')
        .map((r) => r.id)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('CATCH_UP: answered once everything that had arrived is read, so a deadline judges the cluster, not a backlog', async () => {
    const t = setUp(1, { CLIENT_READY_REPEAT: '2000' });
    await t.recorded('ready_repeated', 1);
    // 2,001 launch_next are in the pipe or on the server: every one is read before the barrier's answer.
    t.send({ type: 'bus.catchUp', id: 0, token: 'deadline-1' });
    const caughtUp = await t.waitForReport((r) => r.type === 'bus.caughtUp', 'bus.caughtUp');
    expect(caughtUp).toMatchObject({ to: 0, token: 'deadline-1' });
    const at = t.reports.indexOf(caughtUp);
    expect(t.reports.slice(0, at).filter((r) => r.type === 'bus.launchNext')).toHaveLength(2001);
  });

  it('stays up when a cluster dies mid-request, and serves the others', async () => {
    const t = setUp(2, { CLIENT_REQUEST_1: 'restart' });
    await t.allReady();
    const asked = await t.waitForReport((r) => r.type === 'command.restart', 'the restart request of cluster 1');
    t.processes[1]!.kill('SIGKILL');
    await new Promise((resolve) => t.processes[1]!.once('exit', resolve));
    t.send({ type: 'command.reply', action: 'restart', commandId: asked.commandId, result: { ok: true } });
    t.send({ type: 'diag.request', id: 1, nonce: 'to-the-dead', launch: 1 });
    t.send({ type: 'diag.request', id: 0, nonce: 'to-the-living', launch: 1 });
    expect(await t.waitForReport((r) => r.type === 'diag.answer' && r.nonce === 'to-the-living', 'the answer of cluster 0')).toMatchObject({
      to: 0,
    });
    expect(t.reports.some((r) => r.nonce === 'to-the-dead')).toBe(false);
  });

  it('reports itself up once (nothing is launched before), and never down while all is well (a flap would delay every diagnostic)', async () => {
    const t = setUp(2);
    await t.allReady();
    await new Promise((r) => setTimeout(r, 300));
    expect(t.reports.filter((r) => r.type === 'bus.down' || r.type === 'bus.up')).toEqual([{ type: 'bus.up' }]);
  });

  it('keeps the action log, capped, oldest first', async () => {
    const t = setUp(0);
    for (let i = 0; i < 60; i++) t.send({ type: 'actionLog.write', entry: { event: 'test', n: i } });
    const entries = await eventually(
      async () => {
        const e = await t.bus.actionLog.recent();
        return e.length === 50 && e.at(-1)!.n === 59 ? e : undefined;
      },
      10_000,
      'the action log',
    );
    expect(entries[0]).toMatchObject({ event: 'test', n: 10, ts: expect.any(Number) });
  });
});
