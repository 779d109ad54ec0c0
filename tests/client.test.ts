import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createIpcBus } from '../src/adapters/bus/ipc.js';
import { createLogger } from '../src/adapters/logger.js';
import { redisHarness } from './helpers/harness.js';
import { underParent } from './helpers/machines.js';
import { spawnClientClusters } from './helpers/clients.js';
import { eventually, isAlive } from './helpers/supervisor.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** mewld/client, in real cluster processes (tests/fixtures/client_cluster.mjs). */

const harness = redisHarness('client', { module: 'client_cluster.mjs', fixed_shard_count: 4, per_cluster: 2 });
const killed: number[] = [];
afterAll(() => {
  for (const pid of killed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
});

describe('mewld/client', () => {
  it.each(['ipc', 'redis'] as const)('a request that nobody answers fails with a clear timeout error (%s)', async (kind) => {
    const ipcBus = createIpcBus({ channel: 'c', actionLogMax: 10 }, createLogger({ level: 'silent', pretty: false }));
    const host = kind === 'ipc' ? underParent(ipcBus.actor, undefined, new SimulatedClock()) : undefined;
    const bus =
      kind === 'ipc'
        ? ipcBus.link
        : {
            env: () => ({ MEWLD_BUS: 'redis', MEWLD_REDIS_URL: harness.redis.url, MEWLD_CHANNEL: `lonely-${process.pid}` }),
            ipc: false,
            attach() {},
          };
    // Nobody plays the supervisor: nothing will ever reply.
    const cluster = spawnClientClusters(bus, 1, { CLIENT_REQUEST: 'statuses', CLIENT_TIMEOUT: '300' });
    killed.push(cluster.processes[0]!.pid!);
    try {
      const failed = await eventually(() => cluster.events().find((e) => e.event === 'request_failed'), 10_000, 'the request to fail');
      expect(failed).toMatchObject({
        name: 'RequestTimeoutError',
        error: 'no reply to statuses within 300 ms: is the supervisor running?',
      });
      const sent = cluster.events().find((e) => e.event === 'launch_next')!;
      expect(failed.at - sent.at).toBeGreaterThanOrEqual(290);
    } finally {
      cluster.kill();
      host?.actor.stop();
    }
  });

  it('on IPC: a cluster whose supervisor is killed with SIGKILL leaves at once', async () => {
    const { s } = await harness.supervise({ redis: undefined });
    const pids = s
      .events()
      .filter((e) => e.event === 'start')
      .map((e) => e.pid);
    expect(pids).toHaveLength(2);
    const t0 = Date.now();
    s.kill('SIGKILL');
    killed.push(...pids);
    await eventually(() => pids.every((pid) => !isAlive(pid)), 5000, 'the clusters to exit');
    const leaving = s.events().filter((e) => e.event === 'leaving');
    expect(leaving.map((e) => e.reason)).toEqual(['orphaned', 'orphaned']);
    // At once: as soon as the channel closes, not after a timeout.
    for (const e of leaving) expect(e.at - t0).toBeLessThan(2000);
  });

  it('on Redis: a cluster whose supervisor is killed with SIGKILL leaves after orphanTimeout without diagnostics', async () => {
    const { s } = await harness.supervise({ ping_interval: 0.3, ping_timeout: 1 }, { CLIENT_ORPHAN_MS: '1500' });
    // Diagnostics flowing to each cluster (four in all could be cluster 0's alone).
    await s.waitForEvents((e) => [0, 1].every((id) => e.filter((x) => x.event === 'diag' && x.id === id).length >= 2));
    const pids = s
      .events()
      .filter((e) => e.event === 'start')
      .map((e) => e.pid);
    s.kill('SIGKILL');
    await s.exit;
    killed.push(...pids);
    await eventually(() => pids.every((pid) => !isAlive(pid)), 10_000, 'the clusters to exit');
    // Each left orphanTimeout after the last diagnostic it answered (the clock starts as a diagnostic comes in,
    // just before the cluster answers it and records that), not before, and not much after.
    const events = s.events();
    for (const pid of pids) {
      const lastDiag = events.findLast((e) => e.event === 'diag' && e.pid === pid)!;
      const leaving = events.find((e) => e.event === 'leaving' && e.pid === pid)!;
      expect(leaving, `cluster process ${pid} says why it leaves`).toMatchObject({ reason: 'orphaned' });
      expect(leaving.at - lastDiag.at, `cluster process ${pid}: from its last diagnostic to leaving`).toBeGreaterThanOrEqual(1500 - 50);
      expect(leaving.at - lastDiag.at, `cluster process ${pid}: from its last diagnostic to leaving`).toBeLessThan(1500 + 2000);
    }
  });

  it.each([
    ['ipc', { redis: undefined }],
    ['redis', {}],
  ] as const)('a bot in CommonJS require()s mewld/client and runs as one in ESM does (%s)', async (_, bus) => {
    const { s } = await harness.supervise(
      { ...bus, module: 'client_cluster.cjs', ping_interval: 0.3 },
      { CLIENT_REQUEST: 'num_processes' },
    );
    const events = await s.waitForEvents((e) =>
      [0, 1].every((id) => e.some((x) => x.event === 'diag' && x.id === id) && e.some((x) => x.event === 'reply' && x.id === id)),
    );
    expect(events.filter((e) => e.event === 'start').map((e) => relative(ROOT, String(e.client)))).toEqual([
      'dist/cjs/client/index.js',
      'dist/cjs/client/index.js',
    ]);
    expect(events.find((e) => e.event === 'reply')!.output).toEqual({ clusters: 2, shards: 4 });
  });

  it('a bot in ESM imports the ESM build', async () => {
    const { s } = await harness.supervise({ redis: undefined });
    expect(relative(ROOT, String(s.events().find((e) => e.event === 'start')!.client))).toBe('dist/client/index.js');
  });
});
