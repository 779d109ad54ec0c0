import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/supervisor.js';

/** The published types of mewld/client, as a cluster's TypeScript project without @types/node sees them. */
describe("mewld/client's types", () => {
  it('type-check in a project without @types/node, with typed outputs, typed refusals and typed calls between clusters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mewld-client-types-'));
    const client = join(ROOT, 'dist/client/index.js');
    writeFileSync(
      join(dir, 'cluster.ts'),
      `import {
  connectCluster,
  CollectTimeoutError,
  HandlerError,
  NoHandlerError,
  RequestRefusedError,
  type CollectEntry,
  type StatusesEntry,
} from ${JSON.stringify(client)};
export async function run() {
  const cluster = await connectCluster({ env: { MEWLD_CLUSTER_ID: '0' } });
  const statuses = await cluster.request('statuses');
  const first: StatusesEntry | undefined = statuses['0'];
  const counts: { clusters: number; shards: number } = await cluster.request('num_processes');
  const ok: 'ok' = await cluster.request('stop', { id: 1 });
  try {
    await cluster.request('start', { id: 9 });
  } catch (err) {
    if (err instanceof RequestRefusedError) return [first, counts, ok, err.reason.length];
  }
  return null;
}
export async function calls() {
  const cluster = await connectCluster({ env: { MEWLD_CLUSTER_ID: '0' } });
  const unregister: () => void = cluster.handle('guilds', (args: { shard?: number }, { from }) => from + (args.shard ?? 0));
  cluster.handle('later', async () => 'done');
  unregister();
  const entries: CollectEntry<number>[] = await cluster.collect<number>('guilds', { shard: 1 }, { timeout: 1000 });
  let total = 0;
  for (const entry of entries) if ('value' in entry) total += entry.value;
  else {
    const why: string = entry.error;
    void why;
  }
  const one: string = await cluster.ask<string>(2, 'later');
  try {
    await cluster.collect('guilds');
  } catch (err) {
    if (err instanceof CollectTimeoutError) return [err.missing.length, err.answers.length, err.handler];
    if (err instanceof NoHandlerError) return [err.cluster, err.handler];
    if (err instanceof HandlerError) return [err.cluster, err.reason];
  }
  return [total, one, entries[0]?.cluster];
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          types: [],
          skipLibCheck: false,
        },
        files: ['cluster.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });
});
