import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/supervisor.js';

interface Scenario {
  config: { ours?: unknown[]; theirs?: unknown[] };
  samples: unknown;
}
interface OurConfig {
  config: { web: unknown; ping_interval: number; ping_timeout: number };
  web_listening: boolean;
}
interface TheirConfig {
  heartbeat: { interval: number; maxMissedHeartbeats: number };
}

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
      rows: { name: string; ours: number; theirs: number | null; target: string; scenario: string }[];
      scenarios: Record<string, Scenario>;
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
        'footprint, ours with web: false: RSS',
        'footprint floor: RSS',
        'bus round trip: p99',
        'bus round trip floor: p99',
        'bus round trip floor, clusters up: p99',
        'actor scale: heap per actor',
        'actor scale: allocated per diagnostic',
        'XState floor: allocated per event',
      ]),
    );
    // Every row traces to its scenario's record: both sides' configuration and every sample.
    for (const row of result.rows) {
      const scenario = result.scenarios[row.scenario];
      expect(scenario?.samples, `${row.name}: samples`).toBeTruthy();
      expect(scenario?.config.ours?.length, `${row.name}: our configuration`).toBeGreaterThan(0);
      if (!row.name.startsWith('actor scale') && row.target !== 'reference')
        expect(scenario?.config.theirs?.length, `${row.name}: their configuration`).toBeGreaterThan(0);
    }
    // The footprint measures ours as a user gets it, the web server on; `web: false` only beside it.
    const footprint = result.scenarios.footprint!.config.ours as OurConfig[];
    expect(footprint.some((c) => c.config.web !== false && c.web_listening)).toBe(true);
    expect(footprint.some((c) => c.config.web === false && !c.web_listening)).toBe(true);
    // The hang is judged in the same window on both sides: the check interval, and that many intervals' wait.
    const [ours] = result.scenarios.hangRecovery!.config.ours as OurConfig[];
    const [theirs] = result.scenarios.hangRecovery!.config.theirs as TheirConfig[];
    expect(ours!.config.ping_interval * 1000).toBe(theirs!.heartbeat.interval);
    expect(ours!.config.ping_timeout * 1000).toBe(theirs!.heartbeat.interval * theirs!.heartbeat.maxMissedHeartbeats);
    // The round trips start with every cluster up, on both sides.
    const { runs: roundTrips } = result.scenarios.roundTrip!.samples as {
      runs: Record<'ours' | 'theirs', { readyWhenAsked: number; times: number[] }[]>;
    };
    for (const side of ['ours', 'theirs'] as const)
      for (const run of roundTrips[side]) {
        expect(run.readyWhenAsked, side).toBe(4);
        expect(run.times.length, side).toBe(50);
      }
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
