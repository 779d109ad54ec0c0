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
});
