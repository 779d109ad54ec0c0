/** A diagnostic answer's figures, and what the views make of them (docs/protocol.md, diagnostics). */

/** One shard's health, as a cluster reports it in a diagnostic answer. */
export interface ShardHealth {
  shard_id: number;
  up: boolean;
  /** Gateway latency in ms; null when the cluster did not say (the Go struct's fields are all optional). */
  latency: number | null;
  /** null: not known, which is not 0. */
  guilds: number | null;
  users: number | null;
}

/**
 * A diagnostic answer in short: shards up, of how many, and the mean latency
 * in ms of the shards up whose latency is known; null when none is known.
 */
export interface HealthSummary {
  shards_up: number;
  shards: number;
  latency: number | null;
}

export function healthSummary(health: readonly ShardHealth[]): HealthSummary {
  let up = 0;
  let known = 0;
  let sum = 0;
  for (const h of health) {
    if (!h.up) continue;
    up++;
    if (h.latency !== null) {
      known++;
      sum += h.latency;
    }
  }
  return { shards_up: up, shards: health.length, latency: known === 0 ? null : sum / known };
}

/** Figures past these are not a shard's: a cluster that reports them is wrong, and they would poison every total. */
const MAX_LATENCY_MS = 3_600_000;
const MAX_COUNT = 1e12;

/**
 * A diagnostic answer held to the cluster it is from: only entries for the
 * cluster's own shards, one per shard (the first), and figures that can be
 * true (a latency from 0 to an hour; guilds and users whole and not negative);
 * any other figure is unknown, null (a negative latency is how clusters often
 * say they do not know it). `dropped` counts the entries left out.
 */
export function sanitizeHealth(health: readonly ShardHealth[], shards: readonly number[]): { health: ShardHealth[]; dropped: number } {
  const own = new Set(shards);
  const seen = new Set<number>();
  const kept: ShardHealth[] = [];
  for (const h of health) {
    if (!own.has(h.shard_id) || seen.has(h.shard_id)) continue;
    seen.add(h.shard_id);
    const latency = h.latency !== null && Number.isFinite(h.latency) && h.latency >= 0 && h.latency <= MAX_LATENCY_MS ? h.latency : null;
    const count = (n: number | null) => (n !== null && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT ? n : null);
    kept.push({ shard_id: h.shard_id, up: h.up, latency, guilds: count(h.guilds), users: count(h.users) });
  }
  return { health: kept, dropped: health.length - kept.length };
}
