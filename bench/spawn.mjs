// What a parent's size costs each spawn(): Linux forks the parent (libuv has no
// posix_spawn there), copying its page tables, before the child execs. A parent
// grown by ballast spawns bare `node` children, with the stdio each supervisor
// uses (ours: pipes for the cluster's output; theirs: inherited), and each
// child reports its performance.timeOrigin. One process per size, alternating.
//   node bench/spawn.mjs [SPAWNS per size, default 15]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './lib.mjs';

const SPAWNS = Number(process.argv[2] ?? 15);
const BALLAST_MB = [0, 10, 20, 50];

if (process.argv[2] === '--child') {
  // Ballast: memory the parent has touched, as a supervisor's heap and libraries are.
  const ballast = Buffer.alloc(Number(process.argv[3]) << 20, 1);
  const stdio = process.argv[4] === 'pipes' ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc'];
  const rssMb = Number(readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
  const times = [];
  for (let i = 0; i < Number(process.argv[5]); i++) {
    const t0 = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, ['-e', 'process.send(performance.timeOrigin, () => process.disconnect())'], { stdio });
    const origin = await new Promise((resolve) => child.once('message', resolve));
    await new Promise((resolve) => child.once('exit', resolve));
    times.push(origin - t0);
  }
  process.send({ rssMb, median: median(times), ballast: ballast.length });
} else {
  const rows = [];
  for (const mb of BALLAST_MB) {
    for (const stdioMode of ['pipes', 'inherit']) {
      const parent = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', String(mb), stdioMode, String(SPAWNS)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const { rssMb, median: ms } = await new Promise((resolve) => parent.once('message', resolve));
      rows.push({ ballast: mb, stdio: stdioMode, rssMb, ms });
    }
  }
  console.log(`spawn() to the child's start, median of ${SPAWNS} per row, ms`);
  console.log(`${'parent RSS MiB'.padEnd(16)}${'stdio'.padEnd(10)}${'ms'.padStart(7)}`);
  for (const r of rows) console.log(`${r.rssMb.toFixed(1).padEnd(16)}${r.stdio.padEnd(10)}${r.ms.toFixed(2).padStart(7)}`);
}
