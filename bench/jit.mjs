// Where the footprint window's CPU goes: what V8's optimizing compiler
// (TurboFan, on a background thread) compiles in each supervisor during the
// footprint scenario's window, and how long it took. One trial each.
//   node bench/jit.mjs [--warmup SECONDS]    (after npm run build)
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { procStats, sleep, startFootprintFleet } from './lib.mjs';

const { values: args } = parseArgs({ options: { warmup: { type: 'string', default: '2' } } });
const CLUSTERS = 32;
const WINDOW_MS = 30_000;

for (const side of ['ours', 'theirs']) {
  const stdout = join(tmpdir(), `mewld-bench-jit-${side}-${process.pid}.txt`);
  const s = await startFootprintFleet(side, { clusters: CLUSTERS, nodeArgs: ['--trace-opt'], stdout });
  await sleep(Number(args.warmup) * 1000);
  const from = readFileSync(stdout, 'utf8').length;
  const before = procStats(s.pid);
  await sleep(WINDOW_MS);
  const after = procStats(s.pid);
  const trace = readFileSync(stdout, 'utf8').slice(from);
  await s.stop();
  // [completed compiling 0x… <JSFunction name (sfi = …)> (target TURBOFAN) - took 0.1, 36.3, 0.2 ms]
  const compiles = [...trace.matchAll(/completed compiling .*?<JSFunction (\S*).*? - took ([\d.]+), ([\d.]+), ([\d.]+) ms/g)].map((m) => ({
    fn: m[1] || '(anonymous)',
    ms: Number(m[2]) + Number(m[3]) + Number(m[4]),
  }));
  const total = compiles.reduce((sum, c) => sum + c.ms, 0);
  const top = compiles.sort((a, b) => b.ms - a.ms).slice(0, 8);
  console.log(
    `${side}: CPU ${(after.cpu - before.cpu).toFixed(2)} s over ${WINDOW_MS / 1000} s from ${args.warmup} s after the last ready; ` +
      `TurboFan compiled ${compiles.length} functions in it, ${(total / 1000).toFixed(2)} s; the longest: ` +
      top.map((c) => `${c.fn} ${c.ms.toFixed(0)} ms`).join(', '),
  );
}
