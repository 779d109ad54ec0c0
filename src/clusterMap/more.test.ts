import { describe, expect, it } from 'vitest';
import { buildClusterMap, clusterName } from './index.js';

describe('buildClusterMap, more', () => {
  it('says which input is wrong, and what it was', () => {
    for (const shardCount of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => buildClusterMap(shardCount, 1)).toThrow(new RangeError(`shard count must be a positive integer, got ${shardCount}`));
    }
    for (const perCluster of [0, -1, 2.5, Number.NaN]) {
      expect(() => buildClusterMap(4, perCluster)).toThrow(new RangeError(`per_cluster must be a positive integer, got ${perCluster}`));
    }
  });

  it('one shard, or more per cluster than shards: one cluster with them all', () => {
    expect(buildClusterMap(1, 1)).toEqual([{ id: 0, name: 'Cluster 0', shards: [0] }]);
    expect(buildClusterMap(3, 10, ['Solo'])).toEqual([{ id: 0, name: 'Solo', shards: [0, 1, 2] }]);
    expect(buildClusterMap(4, 2)).toEqual([
      { id: 0, name: 'Cluster 0', shards: [0, 1] },
      { id: 1, name: 'Cluster 1', shards: [2, 3] },
    ]);
  });

  it('with one name, numbers the rest of the clusters from 2', () => {
    expect([0, 1, 2].map((id) => clusterName(id, ['Shard']))).toEqual(['Shard', 'Shard 2', 'Shard 3']);
  });
});
