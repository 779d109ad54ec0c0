import { describe, expect, it } from 'vitest';
import { buildClusterMap, clusterName } from './index.js';

describe('buildClusterMap', () => {
  it('splits shards into consecutive chunks, the last one shorter', () => {
    expect(buildClusterMap(7, 3, ['A', 'B', 'C'])).toEqual([
      { id: 0, name: 'A', shards: [0, 1, 2] },
      { id: 1, name: 'B', shards: [3, 4, 5] },
      { id: 2, name: 'C', shards: [6] },
    ]);
  });

  it('covers every shard exactly once for large bots', () => {
    const clusters = buildClusterMap(1248, 16);
    expect(clusters).toHaveLength(78);
    expect(clusters.flatMap((c) => c.shards)).toEqual(Array.from({ length: 1248 }, (_, i) => i));
  });

  it('generates stable, unique names past the end of names', () => {
    const names = buildClusterMap(10, 1, ['Alpha', 'Beta', 'Gamma']).map((c) => c.name);
    expect(names).toEqual(['Alpha', 'Beta', 'Gamma', 'Alpha 2', 'Beta 2', 'Gamma 2', 'Alpha 3', 'Beta 3', 'Gamma 3', 'Alpha 4']);
    expect(new Set(names).size).toBe(10);
    expect(buildClusterMap(10, 1, ['Alpha', 'Beta', 'Gamma']).map((c) => c.name)).toEqual(names);
    expect(clusterName(5, [])).toBe('Cluster 5');
  });

  it('refuses impossible inputs', () => {
    expect(() => buildClusterMap(0, 1)).toThrow(RangeError);
    expect(() => buildClusterMap(4, 0)).toThrow(RangeError);
  });
});
