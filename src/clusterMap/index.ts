/** One cluster: a fixed set of shards run by one OS process. */
export interface ClusterSpec {
  id: number;
  name: string;
  shards: number[];
}

/**
 * Splits shards 0..shardCount-1 into consecutive chunks of `perCluster` (docs/architecture.md, clusters and shards).
 * Names come from `names`; past its end they are generated from it ("Alpha",
 * "Beta", then "Alpha 2", "Beta 2", ...) so a cluster keeps its name across
 * restarts of the supervisor as long as the config does not change.
 */
export function buildClusterMap(shardCount: number, perCluster: number, names: readonly string[] = []): ClusterSpec[] {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`shard count must be a positive integer, got ${shardCount}`);
  if (!Number.isInteger(perCluster) || perCluster < 1) throw new RangeError(`per_cluster must be a positive integer, got ${perCluster}`);
  const clusters: ClusterSpec[] = [];
  for (let first = 0, id = 0; first < shardCount; first += perCluster, id++) {
    const last = Math.min(first + perCluster, shardCount);
    clusters.push({ id, name: clusterName(id, names), shards: Array.from({ length: last - first }, (_, i) => first + i) });
  }
  return clusters;
}

export function clusterName(id: number, names: readonly string[]): string {
  if (names.length === 0) return `Cluster ${id}`;
  const base = names[id % names.length]!;
  const round = Math.floor(id / names.length);
  return round === 0 ? base : `${base} ${round + 1}`;
}
