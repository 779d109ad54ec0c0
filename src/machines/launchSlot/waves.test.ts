import { describe, expect, it } from 'vitest';
import { buildClusterMap, type ClusterSpec } from '../../clusterMap/index.js';
import { identifyBuckets, nextWave, shardsOf, tooFewSessions, without } from './waves.js';

/** Clusters with these shard lists, ids in order. */
const clustersOf = (...shards: number[][]): ClusterSpec[] => shards.map((s, id) => ({ id, name: `c${id}`, shards: s }));

describe('identifyBuckets', () => {
  it("is Discord's max_concurrency when the config does not cap it", () => {
    expect(identifyBuckets(16, undefined)).toBe(16);
    expect(identifyBuckets(1, undefined)).toBe(1);
  });

  it("is the config's cap when it is below Discord's", () => {
    expect(identifyBuckets(16, 4)).toBe(4);
  });

  it("never goes past Discord's, whatever the config says", () => {
    expect(identifyBuckets(4, 16)).toBe(4);
    expect(identifyBuckets(4, 4)).toBe(4);
  });

  it("is the config's when Discord says nothing (fixed_shard_count), and 1 when neither says", () => {
    expect(identifyBuckets(undefined, 8)).toBe(8);
    expect(identifyBuckets(undefined, undefined)).toBe(1);
  });

  it('is at least 1, even when told 0', () => {
    expect(identifyBuckets(16, 0)).toBe(1);
    expect(identifyBuckets(0, undefined)).toBe(1);
    expect(identifyBuckets(0, 5)).toBe(1);
  });
});

describe('nextWave', () => {
  it('with one bucket, one cluster at a time, the first in turn', () => {
    const clusters = buildClusterMap(8, 2);
    expect(nextWave([0, 1, 2, 3], clusters, 1)).toEqual([0]);
    expect(nextWave([2, 0], clusters, 1)).toEqual([2]);
  });

  it('nothing in turn: an empty wave', () => {
    expect(nextWave([], buildClusterMap(8, 2), 4)).toEqual([]);
  });

  it('takes clusters whose shards fall in buckets no earlier member uses, until the buckets are all used', () => {
    // 16 shards, 2 a cluster, 8 buckets: clusters 0..3 use buckets {0,1}, {2,3}, {4,5}, {6,7}.
    const clusters = buildClusterMap(16, 2);
    expect(nextWave([0, 1, 2, 3, 4, 5, 6, 7], clusters, 8)).toEqual([0, 1, 2, 3]);
    expect(nextWave([4, 5, 6, 7], clusters, 8)).toEqual([4, 5, 6, 7]);
  });

  it('takes fewer when fewer are in turn than would fit', () => {
    const clusters = buildClusterMap(16, 2);
    expect(nextWave([5, 6], clusters, 8)).toEqual([5, 6]);
    expect(nextWave([3], clusters, 8)).toEqual([3]);
  });

  it('stops at the first cluster that overlaps, even when one after it would fit: the turn order holds', () => {
    // 8 shards, 2 a cluster, 4 buckets: {0,1}, {2,3}, {0,1}, {2,3}.
    const clusters = buildClusterMap(8, 2);
    expect(nextWave([0, 2, 1], clusters, 4)).toEqual([0]);
    expect(nextWave([1, 2, 3], clusters, 4)).toEqual([1, 2]);
  });

  it('3 shards a cluster and 4 buckets: every next cluster shares a bucket with the one before, so one at a time', () => {
    // Buckets used: {0,1,2}, {3,0,1}, {2,3,0}, {1,2,3}: the lists overlap the buckets only partly.
    const clusters = buildClusterMap(12, 3);
    expect(nextWave([0, 1, 2, 3], clusters, 4)).toEqual([0]);
    expect(nextWave([1, 2, 3], clusters, 4)).toEqual([1]);
    expect(nextWave([3, 0], clusters, 4)).toEqual([3]);
  });

  it('3 shards a cluster and 8 buckets: a partial overlap ends the wave', () => {
    // Buckets used: {0,1,2}, {3,4,5}, {6,7,0}: the third shares bucket 0 with the first.
    const clusters = buildClusterMap(24, 3);
    expect(nextWave([0, 1, 2, 3], clusters, 8)).toEqual([0, 1]);
    // {6,7,0} then {1,2,3} ({3,4,5} would overlap once {1,2,3} is in).
    expect(nextWave([2, 3, 1], clusters, 8)).toEqual([2, 3]);
  });

  it('a cluster whose own shards share a bucket still launches (alone with them)', () => {
    // 4 shards in one cluster, 2 buckets: the cluster identifies them in turn itself.
    const clusters = clustersOf([0, 1, 2, 3], [4, 5]);
    expect(nextWave([0, 1], clusters, 2)).toEqual([0]);
    expect(nextWave([1, 0], clusters, 2)).toEqual([1]);
  });

  it('takes the turn order from any iterable, reading no further than it needs', () => {
    const clusters = buildClusterMap(8, 1);
    const read: number[] = [];
    function* order(ids: number[]) {
      for (const id of ids) {
        read.push(id);
        yield id;
      }
    }
    expect(nextWave(order([0, 1, 4, 2]), clusters, 4)).toEqual([0, 1]);
    expect(read.splice(0)).toEqual([0, 1, 4]);
    // Every bucket used: done, without asking for the next in turn.
    expect(nextWave(order([0, 1, 2, 3, 4]), clusters, 2)).toEqual([0, 1]);
    expect(read).toEqual([0, 1]);
  });
});

describe('shardsOf', () => {
  it('counts the session starts of a launch: one per shard of each cluster', () => {
    const clusters = buildClusterMap(7, 3);
    expect(shardsOf(clusters, [0])).toBe(3);
    expect(shardsOf(clusters, [0, 2])).toBe(4);
    expect(shardsOf(clusters, [2, 1, 0])).toBe(7);
    expect(shardsOf(clusters, [])).toBe(0);
  });
});

describe('tooFewSessions', () => {
  it('unknown (fixed_shard_count): never too few', () => {
    expect(tooFewSessions(null, 1000, 1000)).toBe(false);
  });

  it('fewer than minimum_safe_sessions_remaining: too few, even when the launch needs less', () => {
    expect(tooFewSessions(4, 1, 5)).toBe(true);
    expect(tooFewSessions(5, 1, 5)).toBe(false);
  });

  it('fewer than the launch needs: too few, even above the minimum', () => {
    expect(tooFewSessions(15, 16, 5)).toBe(true);
    expect(tooFewSessions(16, 16, 5)).toBe(false);
    expect(tooFewSessions(1000, 16, 5)).toBe(false);
  });

  it('none left: too few', () => {
    expect(tooFewSessions(0, 1, 0)).toBe(true);
    expect(tooFewSessions(0, 0, 0)).toBe(false);
  });
});

describe('without', () => {
  it('drops the head, a middle or the last id', () => {
    expect(without([3, 1, 2], 3)).toEqual([1, 2]);
    expect(without([3, 1, 2], 1)).toEqual([3, 2]);
    expect(without([3, 1, 2], 2)).toEqual([3, 1]);
  });

  it('leaves the list itself (no copy) when the id is not in it', () => {
    const list = [3, 1, 2];
    expect(without(list, 7)).toBe(list);
    expect(without([], 7)).toEqual([]);
  });

  it('does not change the list it is given', () => {
    const list = [3, 1, 2];
    without(list, 3);
    without(list, 1);
    expect(list).toEqual([3, 1, 2]);
  });
});
