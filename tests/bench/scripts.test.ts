import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/supervisor.js';

/** The benchmark's side scripts, each run once, small, so that they cannot rot (a file apart from smoke.test.ts so that the two run side by side). */
describe('the bench scripts', () => {
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
