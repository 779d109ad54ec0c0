import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redisHarness } from '../helpers/harness.js';
import { CLI, eventually } from '../helpers/supervisor.js';

/** Each cluster's output: kept by the supervisor, served by the API, followed by `mewld logs ID -f` through a restart. */

const harness = redisHarness('logs');

describe('cluster logs', () => {
  it('mewld logs -f follows one cluster through a restart; the API has its recent lines; stderr chatter is not a warning', async () => {
    const { s, bus } = await harness.supervise({ fixed_shard_count: 4, per_cluster: 2, web: { port: 0 } });
    const web = await s.web();
    const env = { ...process.env, MTOKEN: '', XDG_RUNTIME_DIR: s.dir };
    const follower = spawn(process.execPath, [CLI, 'logs', '1', '-f', '--lines', '5', '--config', s.configFile], { env });
    let out = '';
    let err = '';
    follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    follower.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once('close', (code) => resolve(code)));

    // What cluster 1 printed when it started: its time, its pid, its text; nothing of cluster 0.
    const starts = () =>
      [...out.matchAll(/^\S+Z \[(\d+)\] cluster 1 \(Cluster 1\) starting with shards \[2,3\] of 4$/gm)].map((m) => Number(m[1]));
    const first = (await eventually(() => starts()[0], undefined, 'cluster 1 starting, in mewld logs'))!;
    expect(out).not.toMatch(/cluster 0 \(/);

    expect((await bus.request('restart', { id: 1 })).output).toBe('ok');
    const second = await eventually(() => starts().find((pid) => pid !== first), undefined, "the new process's start, in mewld logs");
    expect(second).not.toBe(first);

    // The API: the recent lines, oldest first, with the process that printed each.
    const res = await fetch(new URL('/api/clusters/1/logs?lines=50', web.base), { headers: web.auth });
    expect(res.status).toBe(200);
    const { lines } = (await res.json()) as { lines: { at: number; stream: string; pid: number; text: string }[] };
    const startLines = lines.filter((l) => l.text.startsWith('cluster 1 (Cluster 1) starting'));
    expect(startLines.map((l) => [l.pid, l.stream])).toEqual([
      [first, 'stdout'],
      [second, 'stdout'],
    ]);
    expect(lines.map((l) => l.at)).toEqual([...lines.map((l) => l.at)].sort((a, b) => a - b));
    expect((await fetch(new URL('/api/clusters/9/logs', web.base), { headers: web.auth })).status).toBe(404);
    expect((await fetch(new URL('/api/clusters/1/logs?lines=x', web.base), { headers: web.auth })).status).toBe(400);

    follower.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(err).toBe('');

    // A cluster's own stderr talk ("simulated ...", not an error) is logged at info, not as a warning.
    const other = await harness.supervise({ fixed_shard_count: 2, per_cluster: 2 }, { FIXTURE_MODE_0: 'exit0' }, { waitForLaunch: false });
    const said = await other.s.waitForLog((l) => l.stream === 'stderr' && l.msg === 'cluster 0: simulated exit0');
    expect(said.level).toBe(30);
  });
});
