// Shutdown at scale: `bench/actors.mjs N --shutdown` for each N, each in a fresh process, written
// to one results file with the commit, the machine, XState's version and the patches applied to it
// (bench/README.md, "Shutting down 10,000 actors").
//   node bench/shutdown.mjs [N ...] [--out FILE]     (N: 1000 3000 10000 by default)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gitCommit, machine, ROOT, writeJson } from './lib.mjs';

const { values: args, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
const counts = positionals.length > 0 ? positionals.map(Number) : [1000, 3000, 10_000];
const { default: xstate } = await import('xstate/package.json', { with: { type: 'json' } });
const info = machine();
const started = Date.now();
const runs = counts.map((n) => {
  process.stderr.write(`bench: shutdown of ${n} actors...\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'bench/actors.mjs'), String(n), '--shutdown'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/actors.mjs failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
});
const result = {
  when: new Date().toISOString(),
  commit: gitCommit(),
  command: `node --expose-gc bench/actors.mjs N --shutdown, N = ${counts.join(', ')}`,
  seconds: Math.round((Date.now() - started) / 1000),
  machine: info,
  versions: { xstate: xstate.version },
  // What `npm ci` applied to node_modules (patch-package): the shutdown's cost depends on it.
  patches: existsSync(join(ROOT, 'patches')) ? readdirSync(join(ROOT, 'patches')).filter((f) => f.endsWith('.patch')) : [],
  table: runs.map((r) => ({ actors: r.actors, shutdown_ms: r.shutdown_ms, shutdown_cpu_ms: r.shutdown_cpu_ms, done: r.shutdown_done })),
  runs,
};
const out = args.out ?? join(ROOT, 'bench/results', `${result.when.slice(0, 10)}-shutdown-${result.commit}.json`);
writeJson(out, result);
console.table(result.table);
