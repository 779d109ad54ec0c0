import { setTimeout as sleep } from 'node:timers/promises';
import { fromPromise } from 'xstate';
import * as v from 'valibot';
import type { GatewayInfo } from '../interfaces/gateway.js';
import type { Logger } from './logger.js';

export interface GatewayOptions {
  token: string;
  /**
   * A proxy that answers like Discord (nirn-proxy, twilight-http-proxy): asked
   * {proxy}/api/gateway/bot, the path the Go version asked. Without one:
   * Discord's https://discord.com/api/v10/gateway/bot.
   */
  proxy?: string | undefined;
  /** Per request, ms. */
  timeout: number;
  /** Gives up after this many failed attempts (429 and 5xx and network errors are retried). */
  maxAttempts?: number;
  /** First retry delay for 5xx and network errors, ms; doubles each time, up to 30 s. */
  retryDelay?: number;
}

const gatewayBotSchema = v.object({
  shards: v.pipe(v.number(), v.integer(), v.minValue(1)),
  session_start_limit: v.optional(
    v.object({
      total: v.number(),
      remaining: v.number(),
      reset_after: v.number(),
      max_concurrency: v.pipe(v.number(), v.integer(), v.minValue(1)),
    }),
  ),
});

const DISCORD_GATEWAY_BOT = 'https://discord.com/api/v10/gateway/bot';

/** A failure that retrying will not fix: a bad token, a wrong proxy. */
export class GatewayError extends Error {
  override name = 'GatewayError';
}

/**
 * GET /gateway/bot (Discord's, or a proxy's: see GatewayOptions): the recommended shard count and the
 * session start limit. 429 waits for retry_after; 5xx and network errors are
 * retried with backoff; 401 and other 4xx are fatal, with a message that says
 * what to fix.
 */
export async function getGatewayBot(options: GatewayOptions, logger: Logger, signal?: AbortSignal): Promise<GatewayInfo> {
  const url = options.proxy === undefined ? DISCORD_GATEWAY_BOT : `${options.proxy.replace(/\/+$/, '')}/api/gateway/bot`;
  const maxAttempts = options.maxAttempts ?? 8;
  let delay = options.retryDelay ?? 1000;
  for (let attempt = 1; ; attempt++) {
    let wait: number;
    let problem: string;
    try {
      const response = await fetch(url, {
        headers: { Authorization: `Bot ${options.token}`, 'User-Agent': 'DiscordBot (https://github.com/mewld-ts/mewld, 0.1.0)' },
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(options.timeout)]) : AbortSignal.timeout(options.timeout),
      });
      const body: unknown = await response.json().catch(() => null);
      if (response.ok) {
        const parsed = v.safeParse(gatewayBotSchema, body);
        if (!parsed.success) throw new GatewayError(`${url} answered 200 with an unexpected body: ${JSON.stringify(body)?.slice(0, 200)}`);
        const limit = parsed.output.session_start_limit;
        return {
          shards: parsed.output.shards,
          source: 'discord',
          sessionStartLimit: limit
            ? { total: limit.total, remaining: limit.remaining, resetAfter: limit.reset_after, maxConcurrency: limit.max_concurrency }
            : null,
        };
      }
      if (response.status === 401) {
        throw new GatewayError(`Discord refused the bot token (401 Unauthorized at ${url}): check token in the config or MTOKEN`);
      }
      if (response.status === 429) {
        const retryAfter = Number((body as { retry_after?: unknown } | null)?.retry_after ?? response.headers.get('retry-after'));
        wait = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : delay;
        problem = `rate limited (429), retry after ${Math.round(wait)} ms`;
      } else if (response.status >= 500) {
        wait = delay;
        problem = `server error ${response.status}`;
      } else {
        throw new GatewayError(`${url} answered ${response.status}: ${JSON.stringify(body)?.slice(0, 200)}`);
      }
    } catch (err) {
      if (err instanceof GatewayError || signal?.aborted) throw err;
      wait = delay;
      problem =
        (err as Error).name === 'TimeoutError' ? `no answer within ${options.timeout} ms` : `network error: ${(err as Error).message}`;
    }
    if (attempt >= maxAttempts) throw new GatewayError(`gave up on ${url} after ${attempt} attempts; last: ${problem}`);
    logger.warn({ attempt, wait }, `GET ${url}: ${problem}; retrying`);
    await sleep(wait, undefined, signal ? { signal } : undefined);
    delay = Math.min(delay * 2, 30_000);
  }
}

/** The gateway lookup as an actor for the orchestrator's `gateway` slot. */
export function fetchGateway(options: GatewayOptions, logger: Logger) {
  return fromPromise<GatewayInfo>(({ signal }) => getGatewayBot(options, logger, signal));
}
