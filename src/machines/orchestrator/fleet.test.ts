import { describe, expect, it } from 'vitest';
import { fleetCrashing, fleetPauseMs } from './fleet.js';
import type { FleetPolicy } from './types.js';

const policy = (crashRatio: number, pause = 30_000): FleetPolicy => ({ crashRatio, window: 60_000, pause });

describe('fleetCrashing', () => {
  it('more than crash_ratio of the clusters down within the window: crashing', () => {
    // 10 clusters, ratio 0.2: more than 2 must go down.
    expect(fleetCrashing(policy(0.2), [1, 4, 7], 10)).toBe(true);
  });

  it('exactly crash_ratio of the clusters down is not more than it: not crashing', () => {
    expect(fleetCrashing(policy(0.2), [1, 4], 10)).toBe(false);
    expect(fleetCrashing(policy(0.5), [0, 1], 4)).toBe(false);
    expect(fleetCrashing(policy(0.5), [0, 1, 2], 4)).toBe(true);
  });

  it('counts clusters, not deaths: one cluster dying again and again is not the fleet crashing', () => {
    expect(fleetCrashing(policy(0), [3, 3, 3, 3], 10)).toBe(false);
    expect(fleetCrashing(policy(0.2), [3, 3, 5, 5, 5], 10)).toBe(false);
    expect(fleetCrashing(policy(0.2), [3, 3, 5, 5, 6], 10)).toBe(true);
  });

  it('needs at least two clusters down, whatever the ratio', () => {
    expect(fleetCrashing(policy(0), [], 1)).toBe(false);
    expect(fleetCrashing(policy(0), [0], 1)).toBe(false);
    expect(fleetCrashing(policy(0), [0, 1], 2)).toBe(true);
    // A bot of two clusters, both down, with a ratio under one half.
    expect(fleetCrashing(policy(0.4), [1, 0], 2)).toBe(true);
  });

  it('with crash_ratio 1 (off), never crashing: no more than every cluster can go down', () => {
    expect(fleetCrashing(policy(1), [0, 1, 2, 3], 4)).toBe(false);
    expect(fleetCrashing(policy(1), [0, 1, 0, 1, 0, 1], 2)).toBe(false);
  });
});

describe('fleetPauseMs', () => {
  it('the first pause is the configured one', () => {
    expect(fleetPauseMs(policy(0.5, 30_000), 1)).toBe(30_000);
    // Before any pause (no pause in a row yet): the configured one too.
    expect(fleetPauseMs(policy(0.5, 30_000), 0)).toBe(30_000);
  });

  it('doubles with each pause in a row', () => {
    expect([2, 3, 4, 5].map((n) => fleetPauseMs(policy(0.5, 30_000), n))).toEqual([60_000, 120_000, 240_000, 480_000]);
  });

  it('stops doubling at 16 times the first', () => {
    expect(fleetPauseMs(policy(0.5, 30_000), 6)).toBe(480_000);
    expect(fleetPauseMs(policy(0.5, 30_000), 50)).toBe(480_000);
    expect(fleetPauseMs(policy(0.5, 1000), 1000)).toBe(16_000);
  });
});
