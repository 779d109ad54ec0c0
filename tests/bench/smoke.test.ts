import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/supervisor.js';

/** The benchmark is not part of npm test; one quick trial of it is, so that it cannot rot. */
describe('npm run bench', () => {
  it('runs every scenario once, small, against both supervisors, and writes the table and the JSON', { timeout: 180_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'mewld-bench-smoke-'));
    const run = spawnSync(process.execPath, [join(ROOT, 'bench/index.mjs'), '--smoke', '--out', out], {
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\| scenario \| unit \| ours \| theirs \| ours\/theirs \| target \| met \|$/m);
    const result = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8')) as {
      commit: string | null;
      machine: { cpus: number };
      rows: { name: string; ours: number; theirs: number | null; target: string }[];
    };
    expect(result.machine.cpus).toBeGreaterThan(0);
    // Which build each figure came from (null only outside a git checkout).
    expect(result.commit === null || /^[0-9a-f]{7,}(\+changes)?$/.test(result.commit)).toBe(true);
    const names = result.rows.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'launch reaction',
        'crash recovery: fork',
        'hang recovery: fork',
        'footprint: RSS',
        'footprint floor: RSS',
        'bus round trip: p99',
        'bus round trip floor: p99',
        'bus round trip floor, clusters up: p99',
        'actor scale: heap per actor',
        'actor scale: allocated per diagnostic',
        'XState floor: allocated per event',
      ]),
    );
    for (const row of result.rows) {
      expect(Number.isFinite(row.ours), `${row.name}: ours`).toBe(true);
      // Both columns wherever the other supervisor has a counterpart (not for our own scale, nor for the machine's reference).
      if (!row.name.startsWith('actor scale') && row.target !== 'reference')
        expect(Number.isFinite(row.theirs), `${row.name}: theirs`).toBe(true);
    }
  });

  it("bench/README.md's table is the one bench/table.mjs makes from bench/results/latest.json", () => {
    const check = spawnSync(process.execPath, [join(ROOT, 'bench/table.mjs'), '--check'], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('bench/crash.mjs splits crash recovery for both supervisors', { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bench/crash.mjs'), '2'], { encoding: 'utf8', timeout: 55_000 });
    expect(run.status, run.stderr).toBe(0);
    for (const part of ['kill → exit event', 'exit event → spawn', 'spawn → start', 'start → ready', 'kill → ready']) {
      const line = run.stdout.split('\n').find((l) => l.startsWith(part));
      const [ours, theirs] = (line ?? '').slice(part.length).trim().split(/\s+/).map(Number);
      expect(
        [ours, theirs].every((v) => Number.isFinite(v) && v! > 0),
        `${part}: ${line}`,
      ).toBe(true);
    }
  });

  it('bench/statuses.mjs times the statuses reply in both encodings', { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bench/statuses.mjs'), '10'], { encoding: 'utf8', timeout: 55_000 });
    expect(run.status, run.stderr).toBe(0);
    for (const label of ['fleet unchanged', 'every cluster changed']) {
      const line = run.stdout.split('\n').find((l) => l.startsWith(label)) ?? '';
      const times = line.slice(label.length).trim().split(/\s+/).map(Number);
      expect(times.length === 2 && times.every((v) => Number.isFinite(v) && v > 0), `${label}: ${line}`).toBe(true);
    }
  });

  it("bench/spawn.mjs times spawn() against the parent's size", { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bench/spawn.mjs'), '2'], { encoding: 'utf8', timeout: 55_000 });
    expect(run.status, run.stderr).toBe(0);
    const rows = run.stdout
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => l.split(/\s+/));
    expect(rows.map((r) => r[1])).toEqual(['pipes', 'inherit', 'pipes', 'inherit', 'pipes', 'inherit', 'pipes', 'inherit']);
    const rss = rows.map((r) => Number(r[0]));
    // Each size's parents are larger than the last's by about the ballast (0, 10, 20, 50 MiB).
    expect(rss[6]! - rss[0]!).toBeGreaterThan(40);
    expect(rows.every((r) => Number(r[2]) > 0)).toBe(true);
  });

  it("bench/memory.mjs splits each supervisor's heap and allocations", { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bench/memory.mjs'), '--clusters', '4', '--window', '2'], {
      encoding: 'utf8',
      timeout: 55_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const line = (side: string) => run.stdout.split('\n').find((l) => l.startsWith(`${side}: `)) ?? '';
    const figures = (side: string) => {
      const m = /new space ([\d.]+) MiB, old space ([\d.]+).*allocated (\d+) KiB\/s: by XState (\d+)%/.exec(line(side));
      expect(m, line(side)).not.toBeNull();
      return { oldSpace: Number(m![2]), allocated: Number(m![3]), xstate: Number(m![4]) };
    };
    const [ours, theirs] = [figures('ours'), figures('theirs')];
    expect(ours.oldSpace).toBeGreaterThan(0);
    expect(ours.allocated).toBeGreaterThan(0);
    // Ours runs on XState and theirs does not: the split must tell them apart.
    expect(ours.xstate).toBeGreaterThan(10);
    expect(theirs.xstate).toBe(0);
  });
});
