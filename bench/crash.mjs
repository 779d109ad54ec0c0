// Where crash recovery's time goes, per side: kill -9 to the supervisor's exit
// event, the exit event to spawn(), spawn() to the new process's start
// (performance.timeOrigin), and its start to its ready. Both supervisors run
// with bench/stubs/exit-hook.cjs preloaded; 4 clusters, backoff 0, as the
// crash recovery scenario. Two rounds per side, alternating.
//   node bench/crash.mjs [KILLS per round, default 12]    (after npm run build)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, readLog, readyCount, ROOT, startSide } from './lib.mjs';

const KILLS = Number(process.argv[2] ?? 12);
const CLUSTERS = 4;
const hook = join(ROOT, 'bench/stubs/exit-hook.cjs');
const parts = ['kill → exit event', 'exit event → spawn', 'spawn → start', 'start → ready', 'kill → ready'];
const results = { ours: [], theirs: [] };

for (const order of [
  ['ours', 'theirs'],
  ['theirs', 'ours'],
]) {
  for (const side of order) {
    const hookLog = join(tmpdir(), `mewld-bench-crash-${side}-${process.pid}-${Date.now()}.jsonl`);
    const s = startSide(side, { clusters: CLUSTERS, readyMs: 300, nodeArgs: ['--require', hook], env: { EXIT_HOOK_LOG: hookLog } });
    await s.waitFor((e) => readyCount(e) === CLUSTERS, 60_000, `${CLUSTERS} clusters ready`);
    for (let k = 0; k < KILLS; k++) {
      const id = k % CLUSTERS;
      const { victim, t0, started, ready } = await s.crash(id);
      const stamps = readLog(hookLog);
      const exit = stamps.find((x) => x.event === 'exit' && x.pid === victim);
      const spawn = stamps.find((x) => x.event === 'spawn' && x.id === id && x.at > exit.at);
      results[side].push([exit.at - t0, spawn.at - exit.at, started.origin - spawn.at, ready.at - started.origin, ready.at - t0]);
    }
    await s.stop();
  }
}

const row = (label, values) => `${label.padEnd(22)}${values.map((v) => v.toFixed(2).padStart(9)).join('')}`;
console.log(`medians of ${2 * KILLS} kills per side, ms`);
console.log(`${''.padEnd(22)}${'ours'.padStart(9)}${'theirs'.padStart(9)}`);
parts.forEach((part, i) => console.log(row(part, [median(results.ours.map((r) => r[i])), median(results.theirs.map((r) => r[i]))])));
// The machines' code is cold in a supervisor a few seconds old: the exit-to-spawn time by kill, in order.
for (const side of ['ours', 'theirs']) {
  const byKill = Array.from({ length: KILLS }, (_, k) => median([results[side][k][1], results[side][KILLS + k][1]]));
  console.log(`${side}: exit event → spawn by kill (median of 2): ${byKill.map((v) => v.toFixed(1)).join(' ')}`);
}
