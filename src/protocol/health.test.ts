import { describe, expect, it } from 'vitest';
import { healthSummary, sanitizeHealth, type ShardHealth } from './health.js';

const shard = (
  shard_id: number,
  up: boolean,
  latency: number | null,
  guilds: number | null = 10,
  users: number | null = 100,
): ShardHealth => ({
  shard_id,
  up,
  latency,
  guilds,
  users,
});

describe('healthSummary', () => {
  it('no shards: none up, of none, latency unknown', () => {
    expect(healthSummary([])).toEqual({ shards_up: 0, shards: 0, latency: null });
  });

  it('counts the shards up, of all of them, and averages the latency of those up', () => {
    expect(healthSummary([shard(0, true, 40), shard(1, true, 60), shard(2, false, 500)])).toEqual({ shards_up: 2, shards: 3, latency: 50 });
  });

  it('leaves out of the mean the latencies that are unknown (null), and those of shards down', () => {
    expect(healthSummary([shard(0, true, null), shard(1, true, 30), shard(2, false, 1000)])).toEqual({
      shards_up: 2,
      shards: 3,
      latency: 30,
    });
  });

  it('a latency of 0 is known', () => {
    expect(healthSummary([shard(0, true, 0), shard(1, true, 10)])).toEqual({ shards_up: 2, shards: 2, latency: 5 });
  });

  it('latency unknown when no shard up knows it, or none is up', () => {
    expect(healthSummary([shard(0, true, null), shard(1, false, 20)])).toEqual({ shards_up: 1, shards: 2, latency: null });
    expect(healthSummary([shard(0, false, 20), shard(1, false, 20)])).toEqual({ shards_up: 0, shards: 2, latency: null });
  });

  it('a shard up whose figures are all unknown still counts as up', () => {
    expect(healthSummary([shard(0, true, null, null, null), shard(1, false, null, null, null)])).toEqual({
      shards_up: 1,
      shards: 2,
      latency: null,
    });
  });

  it('a negative latency a cluster reports is unknown once the answer is sanitized, not a figure in the mean', () => {
    const { health } = sanitizeHealth([shard(0, true, -1), shard(1, true, 30)], [0, 1]);
    expect(healthSummary(health)).toEqual({ shards_up: 2, shards: 2, latency: 30 });
  });
});

describe('sanitizeHealth', () => {
  it("keeps a sound answer for the cluster's own shards as it is", () => {
    const health = [shard(4, true, 41.5, 1180, 402113), shard(5, false, null, 0, 0), shard(6, true, 0, null, null)];
    expect(sanitizeHealth(health, [4, 5, 6])).toEqual({ health, dropped: 0 });
  });

  it("drops entries for other clusters' shards, and counts them", () => {
    expect(sanitizeHealth([shard(0, true, 10), shard(4, true, 20), shard(9, true, 30)], [4, 5])).toEqual({
      health: [shard(4, true, 20)],
      dropped: 2,
    });
  });

  it('keeps the first entry for a shard reported twice', () => {
    expect(sanitizeHealth([shard(4, true, 20), shard(4, false, 99), shard(5, true, 30)], [4, 5])).toEqual({
      health: [shard(4, true, 20), shard(5, true, 30)],
      dropped: 1,
    });
  });

  it('keeps shards in the order the cluster reported them', () => {
    expect(sanitizeHealth([shard(5, true, 1), shard(4, true, 2)], [4, 5]).health.map((h) => h.shard_id)).toEqual([5, 4]);
  });

  it('a latency from 0 to an hour is kept; anything else is unknown (null)', () => {
    const latencies = [0, 1, 3_600_000, 3_600_001, -1, -5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null];
    const { health } = sanitizeHealth(
      latencies.map((latency, i) => shard(i, true, latency)),
      latencies.map((_, i) => i),
    );
    expect(health.map((h) => h.latency)).toEqual([0, 1, 3_600_000, null, null, null, null, null, null, null]);
  });

  it('guild and user counts must be whole, not negative and not past 1e12; else unknown (null), never 0', () => {
    const counts = [0, 7, 1e12, 1e12 + 1, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, null];
    const { health } = sanitizeHealth(
      counts.map((n, i) => shard(i, true, 10, n, n)),
      counts.map((_, i) => i),
    );
    expect(health.map((h) => h.guilds)).toEqual([0, 7, 1e12, null, null, null, null, null, null]);
    expect(health.map((h) => h.users)).toEqual([0, 7, 1e12, null, null, null, null, null, null]);
  });

  it('judges guilds and users each on its own', () => {
    expect(sanitizeHealth([shard(0, true, 10, -3, 50)], [0]).health).toEqual([shard(0, true, 10, null, 50)]);
    expect(sanitizeHealth([shard(0, true, 10, 50, -3)], [0]).health).toEqual([shard(0, true, 10, 50, null)]);
    expect(sanitizeHealth([shard(0, true, -1, 50, 60)], [0]).health).toEqual([shard(0, true, null, 50, 60)]);
  });

  it('keeps only the fields of a shard health entry', () => {
    const extra = { ...shard(0, true, 10), secret: 'x' } as ShardHealth;
    expect(Object.keys(sanitizeHealth([extra], [0]).health[0]!)).toEqual(['shard_id', 'up', 'latency', 'guilds', 'users']);
  });

  it('an empty answer, or one for no shard of the cluster: nothing kept', () => {
    expect(sanitizeHealth([], [0, 1])).toEqual({ health: [], dropped: 0 });
    expect(sanitizeHealth([shard(0, true, 1)], [])).toEqual({ health: [], dropped: 1 });
  });
});
