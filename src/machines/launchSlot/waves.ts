import type { ClusterSpec } from '../../clusterMap/index.js';

/**
 * Discord's identify buckets (docs/architecture.md, waves): a bot may
 * identify one shard per bucket at a time, with `max_concurrency` buckets,
 * shard s in bucket s % max_concurrency. Pure functions of the launch slot.
 */

/** The buckets launches share: Discord's max_concurrency, capped by the config's; 1 when neither says. */
export function identifyBuckets(discord: number | undefined, configured: number | undefined): number {
  return Math.max(1, Math.min(configured ?? discord ?? 1, discord ?? Infinity));
}

/**
 * The next wave to get the launch slot: the first cluster `inTurn`, and those
 * after it for as long as each one's shards fall in buckets no earlier member
 * uses. Stops at the first that overlaps, so the turn order holds.
 */
export function nextWave(inTurn: Iterable<number>, clusters: readonly ClusterSpec[], buckets: number): number[] {
  const wave: number[] = [];
  const used = new Set<number>();
  for (const id of inTurn) {
    const mine = clusters[id]!.shards.map((shard) => shard % buckets);
    if (mine.some((b) => used.has(b))) break;
    wave.push(id);
    for (const b of mine) used.add(b);
    if (used.size === buckets) break;
  }
  return wave;
}

/** Session starts a launch of these clusters uses: one per shard. */
export const shardsOf = (clusters: readonly ClusterSpec[], ids: readonly number[]) =>
  ids.reduce((sum, id) => sum + clusters[id]!.shards.length, 0);

/**
 * Too few session starts left for a launch that needs `needed`: fewer than
 * minimum_safe_sessions_remaining (the Go version's rule, here before every
 * launch), or fewer than it needs (Discord resets the bot token when they run
 * out). Unknown (`null`, with fixed_shard_count): never too few.
 */
export const tooFewSessions = (remaining: number | null, needed: number, minimumSafe: number) =>
  remaining !== null && (remaining < minimumSafe || remaining < needed);

/** The list without `id`; cheap in the common case, where `id` is at its head (the launch order is taken in order). */
export const without = (list: number[], id: number) =>
  list[0] === id ? list.slice(1) : list.includes(id) ? list.filter((x) => x !== id) : list;
