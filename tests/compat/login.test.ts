import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscordOAuth } from '../helpers/discord.js';
import { redisHarness } from '../helpers/harness.js';
import { runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * Log in with Discord as Go mewld users did (oauth and allowed_ids in the
 * config), through a real supervisor on a real Redis, against a local
 * stand-in for Discord's OAuth2: the session outlives a restart.
 */

const harness = redisHarness('login');
const running: RunningSupervisor[] = [];
let discord: Awaited<ReturnType<typeof startFakeDiscordOAuth>>;
beforeAll(async () => {
  discord = await startFakeDiscordOAuth({ 'code-alice': '455277032625012737', 'code-mallory': '666' });
});
afterAll(async () => {
  await stopAll(running);
  await discord.close();
});

/** A port free now, for a supervisor that must come back on the same one (the cookie's name has it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Log in with Discord', () => {
  it('only allowed_ids get in, and a login outlives a restart of the supervisor when the sessions are in Redis', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = {
      redis: harness.redis.address,
      redis_channel: `login-${process.pid}`,
      fixed_shard_count: 2,
      per_cluster: 2,
      // Unquoted, as the Go sample writes them: an id past 2^53 must keep every digit.
      allowed_ids: ['455277032625012737'],
      oauth: { client_id: '999908791061594194', client_secret: 'the-secret', redirect_url: base, discord_url: discord.url },
      web: { port },
    };
    const first = runSupervisor(config);
    running.push(first);
    await first.web();

    /** /login, then Discord's redirect back with the code: the session cookie, or the refusal. */
    const login = async (code: string) => {
      const start = await fetch(`${base}/login?redirect=/api/phase`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
      const loginCookie = start.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const back = await fetch(`${base}/confirm?code=${code}&state=${state}`, { headers: { cookie: loginCookie }, redirect: 'manual' });
      return {
        back,
        cookie: back.headers
          .getSetCookie()
          .find((c) => c.startsWith(`mewld_session_${port}=`))
          ?.split(';')[0],
      };
    };

    const mallory = await login('code-mallory');
    expect(mallory.back.status).toBe(403);
    expect(mallory.cookie).toBeUndefined();

    const alice = await login('code-alice');
    expect(alice.back.status).toBe(302);
    expect(alice.back.headers.get('location')).toBe('/api/phase');
    const asAlice = () => fetch(`${base}/api/phase`, { headers: { cookie: alice.cookie! } });
    expect((await asAlice()).status).toBe(200);
    expect((await fetch(`${base}/api/phase`)).status).toBe(401);

    first.proc.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);
    const second = runSupervisor(config);
    running.push(second);
    await second.web();
    expect((await asAlice()).status).toBe(200);
  });
});
