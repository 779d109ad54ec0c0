import { afterAll, describe, expect, it } from 'vitest';
import { eventually, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * Clusters on mewld/client that Discord closes for good (exitOnFatalClose):
 * they exit with the close code's exit code, and the supervisor leaves them
 * failed, saying why in words, instead of restarting them in a loop.
 */

const running: RunningSupervisor[] = [];
afterAll(() => stopAll(running));

type ApiCluster = { id: number; state: string; group: string; failed_reason: string | null; last_exit: { code: number | null } | null };

describe("Discord's fatal close codes", () => {
  it('4004 and 4011 (as discord.js and @discordjs/ws report them): failed, not restarted, with the reason in the API and the action log', async () => {
    const s = runSupervisor(
      { module: 'client_cluster.mjs', fixed_shard_count: 6, per_cluster: 2, web: { port: 0 } },
      // Cluster 0: a close a reconnect can help (4000): nothing happens.
      { CLIENT_CLOSE_0: '4000', CLIENT_CLOSE_1: '4004', CLIENT_CLOSE_2: 'ws:4011' },
    );
    running.push(s);
    const web = await s.web();
    const clusters = async () =>
      ((await (await fetch(new URL('/api/clusters', web.base), { headers: web.auth })).json()) as { clusters: ApiCluster[] }).clusters;
    const failed = await eventually(
      async () => {
        const list = await clusters();
        return list.filter((c) => c.group === 'failed').length === 2 ? list : undefined;
      },
      20_000,
      'clusters 1 and 2 failed',
    );
    expect(failed.map((c) => [c.id, c.group, c.last_exit?.code ?? null])).toEqual([
      [0, 'up', null],
      [1, 'failed', 104],
      [2, 'failed', 111],
    ]);
    expect(failed[1]!.failed_reason).toBe(
      'Discord closed its gateway with 4004 (authentication failed): the token is wrong or was reset: set the right one (token, or MTOKEN); restarting cannot help',
    );
    expect(failed[2]!.failed_reason).toMatch(
      /^Discord closed its gateway with 4011 \(sharding required\): .*it needs more shards \(a reshard\)/,
    );
    const entries = (
      (await (await fetch(new URL('/api/action-logs', web.base), { headers: web.auth })).json()) as {
        entries: { event: string; id?: number; why?: string }[];
      }
    ).entries.filter((e) => e.event === 'cluster_failed');
    expect(entries.map((e) => [e.id, e.why])).toEqual([
      [1, failed[1]!.failed_reason],
      [2, failed[2]!.failed_reason],
    ]);
    // Each started once: no restart loop.
    await new Promise((r) => setTimeout(r, 1000));
    expect([0, 1, 2].map((id) => s.events().filter((e) => e.event === 'start' && e.id === id).length)).toEqual([1, 1, 1]);
    // The cluster said it, too, in its output.
    await s.waitForLog((l) => l.cluster === 1 && typeof l.msg === 'string' && l.msg.includes('exiting with 104'));
  });
});
