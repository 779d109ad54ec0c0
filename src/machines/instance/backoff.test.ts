import { describe, expect, it } from 'vitest';
import { backoffDelay, nextRandom, restartsWithin } from './backoff.js';
import type { RestartPolicy } from './types.js';

const policy: RestartPolicy = {
  backoffInitial: 1000,
  backoffFactor: 2,
  backoffMax: 60_000,
  jitter: 0.2,
  resetAfter: 60_000,
  maxRestarts: 5,
  within: 60_000,
  noRestartExitCodes: [],
};

/** mulberry32 as published (Tommy Ettinger's), written out independently: the sequence nextRandom must give. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    let t = (a += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('nextRandom', () => {
  it('is mulberry32: the same seed gives the same jitter in every run of the supervisor', () => {
    for (const seed of [0, 1, 7, 42, 0x7fffffff, -5, 123_456_789]) {
      const reference = mulberry32(seed);
      let state = seed;
      for (let i = 0; i < 50; i++) {
        const [value, next] = nextRandom(state);
        expect(value).toBe(reference());
        state = next;
      }
    }
  });

  it('gives numbers in [0, 1), spread over the whole range', () => {
    let state = 7;
    const values: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const [value, next] = nextRandom(state);
      values.push(value);
      state = next;
    }
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    // Each tenth of the range gets its share.
    for (let d = 0; d < 10; d++) {
      const share = values.filter((v) => v >= d / 10 && v < (d + 1) / 10).length / values.length;
      expect(share).toBeGreaterThan(0.08);
      expect(share).toBeLessThan(0.12);
    }
  });

  it('moves on: the next state differs from the seed, and two seeds give two sequences', () => {
    const [a, nextA] = nextRandom(1);
    const [b] = nextRandom(2);
    expect(nextA).not.toBe(1);
    expect(a).not.toBe(b);
  });
});

describe('backoffDelay', () => {
  const noJitter = { ...policy, jitter: 0 };

  it('starts at backoff_initial and multiplies by backoff_factor with each restart', () => {
    expect([0, 1, 2, 3, 4].map((attempt) => backoffDelay(noJitter, attempt, 0.5))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(backoffDelay({ ...noJitter, backoffFactor: 3 }, 2, 0.9)).toBe(9000);
  });

  it('stops growing at backoff_max', () => {
    expect(backoffDelay(noJitter, 6, 0.5)).toBe(60_000);
    expect(backoffDelay(noJitter, 100, 0.5)).toBe(60_000);
    expect(backoffDelay({ ...noJitter, backoffMax: 5000 }, 2, 0.5)).toBe(4000);
    expect(backoffDelay({ ...noJitter, backoffMax: 5000 }, 3, 0.5)).toBe(5000);
  });

  it('jitters by up to ±jitter of the delay: -j at 0, none at one half, +j towards 1', () => {
    expect(backoffDelay(policy, 0, 0)).toBe(800);
    expect(backoffDelay(policy, 0, 0.25)).toBe(900);
    expect(backoffDelay(policy, 0, 0.5)).toBe(1000);
    expect(backoffDelay(policy, 0, 0.75)).toBe(1100);
    expect(backoffDelay(policy, 0, 0.999_999)).toBe(1200);
    expect(backoffDelay(policy, 6, 0)).toBe(48_000);
  });

  it('in whole milliseconds', () => {
    expect(backoffDelay({ ...noJitter, backoffInitial: 1.4 }, 0, 0.5)).toBe(1);
    expect(backoffDelay({ ...noJitter, backoffInitial: 1.6 }, 0, 0.5)).toBe(2);
    expect(backoffDelay(policy, 0, 0.123)).toBe(Math.round(1000 * (1 + 0.2 * (2 * 0.123 - 1))));
  });

  it('never negative, even with a jitter over 1', () => {
    expect(backoffDelay({ ...policy, jitter: 2 }, 0, 0)).toBe(0);
    expect(backoffDelay({ ...policy, jitter: 2 }, 0, 1)).toBe(3000);
  });
});

describe('restartsWithin', () => {
  it('keeps the restarts inside the window that ends now, not those at its start or before', () => {
    const times = [0, 10_000, 10_001, 40_000, 70_000];
    expect(restartsWithin(policy, times, 70_000)).toEqual([10_001, 40_000, 70_000]);
    expect(restartsWithin(policy, times, 100_000)).toEqual([70_000]);
    expect(restartsWithin(policy, times, 200_000)).toEqual([]);
    expect(restartsWithin({ ...policy, within: 30_001 }, times, 70_000)).toEqual([40_000, 70_000]);
  });
});
