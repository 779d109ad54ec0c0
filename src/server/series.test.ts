import { describe, expect, it } from 'vitest';
import type { ShardHealth } from '../protocol/index.js';
import { capacityFor, MAX_POINTS, sampleOf, sampleTime, Series } from './series.js';

const shard = (shard_id: number, latency: number | null, guilds: number | null, up = true): ShardHealth => ({
  shard_id,
  up,
  latency,
  guilds,
  users: null,
});

describe('sampleOf', () => {
  it("averages the latency of the shards up whose latency is known, and sums the guilds known, over every cluster's current figures", () => {
    const sample = sampleOf([[shard(0, 40, 100), shard(1, null, 50)], null, [shard(2, 80, null), shard(3, 1000, 7, false)]]);
    // 3: down, its latency left out (as the Cluster's health); its guilds are still its guilds.
    expect(sample).toEqual({ latency_ms: 60, guilds: 157 });
  });

  it('is a gap (null) where no current figure is known: no cluster with current figures, or none that says', () => {
    expect(sampleOf([])).toEqual({ latency_ms: null, guilds: null });
    expect(sampleOf([null, null])).toEqual({ latency_ms: null, guilds: null });
    expect(sampleOf([[shard(0, null, null)]])).toEqual({ latency_ms: null, guilds: null });
    // 0 guilds is a figure, not a gap.
    expect(sampleOf([[shard(0, 5, 0)]])).toEqual({ latency_ms: 5, guilds: 0 });
  });
});

describe('Series', () => {
  const period = 30_000;
  const s = (latency_ms: number | null, guilds: number | null = null) => ({ latency_ms, guilds });

  it('keeps an hour of samples: 120 at 30 s, at most MAX_POINTS whatever the period', () => {
    expect(capacityFor(30_000)).toBe(120);
    expect(capacityFor(1000)).toBe(3600);
    expect(capacityFor(100)).toBe(MAX_POINTS);
    expect(capacityFor(7_200_000)).toBe(1);
    expect(sampleTime(65_000, period)).toBe(60_000);
  });

  it('appends a later sample, replaces one at the same time, ignores an earlier one', () => {
    const series = new Series(period);
    series.add(60_000, s(10, 1));
    series.add(90_000, s(20, 2));
    series.add(90_000, s(25, 3));
    series.add(30_000, s(99, 99));
    expect(series.view(90_000)).toEqual({
      period_ms: period,
      points: [
        { t: 60_000, latency_ms: 10, guilds: 1 },
        { t: 90_000, latency_ms: 25, guilds: 3 },
      ],
    });
  });

  it('fills the periods a sample skipped with gaps (the supervisor was not running), and keeps no more than its capacity', () => {
    const series = new Series(period, 4);
    series.add(0, s(1));
    series.add(90_000, s(4));
    expect(series.view(90_000).points.map((p) => [p.t, p.latency_ms])).toEqual([
      [0, 1],
      [30_000, null],
      [60_000, null],
      [90_000, 4],
    ]);
    series.add(120_000, s(5));
    expect(series.view(120_000).points.map((p) => p.t)).toEqual([30_000, 60_000, 90_000, 120_000]);
    // Away longer than the whole window: nothing but gaps and the new sample.
    series.add(3_600_000, s(6));
    expect(series.view(3_600_000).points.map((p) => p.latency_ms)).toEqual([null, null, null, 6]);
  });

  it('shows only the samples within the window that ends now', () => {
    const series = new Series(period, 4);
    series.add(0, s(1));
    series.add(30_000, s(2));
    expect(series.view(30_000).points).toHaveLength(2);
    expect(series.view(120_000).points.map((p) => p.t)).toEqual([30_000]);
    expect(series.view(1_000_000).points).toEqual([]);
  });

  it('is saved as two arrays and its last time, and restored as it was, on the same period only', () => {
    const series = new Series(period);
    expect(series.save()).toBeNull();
    series.add(60_000, s(10, 1));
    series.add(120_000, s(null, 2));
    const saved = series.save()!;
    expect(saved).toEqual({ end: 120_000, latency_ms: [10, null, null], guilds: [1, null, 2] });
    expect(Series.restore(saved, period, period).view(120_000)).toEqual(series.view(120_000));
    // Sampled on another period: the times would not line up.
    expect(Series.restore(saved, 10_000, period).view(120_000).points).toEqual([]);
    expect(Series.restore(undefined, period, undefined).save()).toBeNull();
    // The next sample after a restore goes on from the saved one, with the gap between.
    const restored = Series.restore(saved, period, period);
    restored.add(180_000, s(3));
    expect(restored.save()).toEqual({ end: 180_000, latency_ms: [10, null, null, null, 3], guilds: [1, null, 2, null, null] });
  });
});
