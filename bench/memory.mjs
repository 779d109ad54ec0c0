// Where the footprint scenario's memory goes, each supervisor once: at the end
// of the same 30 s window (32 clusters, health checks every second), V8's heap
// by space, and the bytes allocated per second during the window, by whose
// code allocated them (bench/stubs/memory-probe.mjs, preloaded into the
// supervisor). V8 keeps its young generation (new space) small only while a
// process allocates less than about 1 MB/s.
//   node bench/memory.mjs [--warmup SECONDS] [--clusters N] [--window SECONDS]    (after npm run build)
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, sleep, startFootprintFleet, until } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    warmup: { type: 'string', default: '2' },
    // Smaller, for the smoke test: --clusters 4 --window 2
    clusters: { type: 'string', default: '32' },
    window: { type: 'string', default: '30' },
  },
});
const CLUSTERS = Number(args.clusters);
const WINDOW_MS = Number(args.window) * 1000;
const MiB = (kib) => (kib / 1024).toFixed(1);

for (const side of ['ours', 'theirs']) {
  const out = join(tmpdir(), `mewld-bench-memory-${side}-${process.pid}.json`);
  const s = await startFootprintFleet(side, {
    clusters: CLUSTERS,
    nodeArgs: ['--import', join(ROOT, 'bench/stubs/memory-probe.mjs')],
    env: { MEMORY_PROBE_OUT: out },
  });
  await sleep(Number(args.warmup) * 1000);
  process.kill(s.pid, 'SIGUSR2');
  await sleep(WINDOW_MS);
  process.kill(s.pid, 'SIGUSR2');
  await until(() => existsSync(out), 60_000, "the probe's figures");
  const m = JSON.parse(readFileSync(out, 'utf8'));
  await s.stop();
  const pct = (who) => `${Math.round(m.share[who] * 100)}%`;
  console.log(
    `${side}: V8 heap at the end: new space ${MiB(m.newSpaceKiB)} MiB, old space ${MiB(m.oldSpaceKiB)}, code space ` +
      `${MiB(m.codeSpaceKiB)} (${MiB(m.heapUsedKiB)} in use); allocated ${m.allocatedKiBPerSecond} KiB/s: by XState ${pct('xstate')}, ` +
      `by other packages ${pct('packages')}, by its own code ${pct('own')}, by Node ${pct('node')}; the most by: ` +
      m.topAllocators.map((a) => `${a.where} ${a.kiBPerSecond} KiB/s`).join(', '),
  );
}
