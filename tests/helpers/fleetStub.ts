import { Redis } from 'ioredis';

/**
 * Answers the diagnostics of every cluster of a bot on Redis, from the test
 * process: with tests/fixtures/light_cluster.sh (which only says launch_next
 * and sleeps), a bot of 1,000 clusters runs on one test machine. Cluster i
 * holds `perCluster` shards from i × perCluster; each answers up, with a
 * latency and guild count of its own.
 */
export async function startFleetStub(options: { url: string; channel: string; perCluster: number }) {
  const sub = new Redis(options.url);
  const pub = new Redis(options.url);
  sub.on('error', () => {});
  pub.on('error', () => {});
  let answered = 0;
  await sub.subscribe(options.channel);
  sub.on('message', (_channel, text: string) => {
    let message: { diag?: unknown; id?: unknown; nonce?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.diag !== true || typeof message.id !== 'number' || typeof message.nonce !== 'string') return;
    const id = message.id;
    const data = Array.from({ length: options.perCluster }, (_, i) => {
      const shard = id * options.perCluster + i;
      return { shard_id: shard, up: true, latency: 30 + (id % 70), guilds: 100 + (shard % 50), users: 1000 };
    });
    answered++;
    void pub.publish(options.channel, JSON.stringify({ scope: 'launcher', action: 'diag', output: { Nonce: message.nonce, Data: data } }));
  });
  return {
    answered: () => answered,
    async close() {
      sub.disconnect();
      pub.disconnect();
    },
  };
}
