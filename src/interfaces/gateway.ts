/**
 * The contract of the gateway actor (src/adapters/discordGateway.ts): what
 * Discord's GET /gateway/bot says, or the config's fixed shard count.
 */
export interface GatewayInfo {
  shards: number;
  source: 'discord' | 'fixed_shard_count';
  sessionStartLimit: SessionStartLimit | null;
}

/** Times in ms. */
export interface SessionStartLimit {
  total: number;
  remaining: number;
  resetAfter: number;
  maxConcurrency: number;
}
