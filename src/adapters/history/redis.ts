import type { Redis } from 'ioredis';
import type { HistoryStore } from '../../interfaces/history.js';
import { decodeHistory, encodeHistory } from './codec.js';

/** The key of a bot's history: under its channel, as its action log is, so that two bots on one Redis keep theirs apart. */
export const historyKey = (channel: string) => `${channel}/history`;

/** The history in Redis, one string at `<channel>/history`: it outlives the supervisor and its machine. */
export function redisHistoryStore(redis: Redis, channel: string): HistoryStore {
  const key = historyKey(channel);
  return {
    load: async () => decodeHistory(await redis.get(key)),
    async save(history) {
      await redis.set(key, encodeHistory(history));
    },
  };
}
