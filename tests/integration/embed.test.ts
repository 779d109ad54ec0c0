import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { redisHarness } from '../helpers/harness.js';
import { eventually, FIXTURES, readEvents, ROOT } from '../helpers/supervisor.js';

const harness = redisHarness('embed');

describe('mewld embedded in a program (examples/embed.mjs)', () => {
  it("launches each cluster with the embedder's arguments, hands it every action log entry, and stops on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-embed-'));
    const eventsFile = join(dir, 'events.jsonl');
    const channel = `embed-${process.pid}`;
    const configFile = join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      stringify({
        override_dir: FIXTURES,
        module: 'cluster.mjs',
        interp: 'node',
        fixed_shard_count: 4,
        per_cluster: 2,
        redis: harness.redis.address,
        redis_channel: channel,
        cluster_start_next_delay: 0.05,
        ping_interval: 1,
        web: false,
      }),
    );
    const proc = spawn(process.execPath, [join(ROOT, 'examples/embed.mjs'), configFile], {
      cwd: dir,
      env: { ...process.env, FIXTURE_LOG: eventsFile, MTOKEN: '', XDG_RUNTIME_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr!.resume();
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const events = await eventually(() => {
        const e = readEvents(eventsFile);
        return e.filter((x) => x.event === 'all_clusters_launched').length === 2 ? e : undefined;
      }, 20_000);
      const starts = events.filter((e) => e.event === 'start');
      // The Go argv mewld would pass, then the embedder's own: the cluster count and the channel.
      expect(starts[1]!.argv).toEqual(['[2, 3]', '4', '1', 'Cluster 1', '0', FIXTURES, '2', channel]);
      await eventually(() => stdout.includes('action log: all_clusters_launched'), 10_000, 'the action log line');
      proc.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(stdout).toMatch(/^action log: shutdown$/m);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
