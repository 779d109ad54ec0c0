import { describeEntry, type ActionLogEntry } from '../protocol/index.js';
import type { Logger } from './logger.js';

/**
 * Operators' alerts: the action log entries they choose (a cluster that gave
 * up, a fleet pause, session starts running out) POSTed to a webhook, a
 * Discord one by default, so that someone hears of it at 3 a.m. Entries that
 * come within `batchMs` of each other go in one message. Delivery is best
 * effort: a webhook that is down or slow is logged, and never holds anything
 * up.
 */

export interface AlertSettings {
  url: string;
  /** discord: {content}; slack: {text}; json: {source, alerts: [{event, text, entry}]}. */
  format: 'discord' | 'slack' | 'json';
  events: string[];
  /** Who speaks, first in every message: tells one bot's supervisor from another's. */
  name: string;
}

export interface AlertWebhook {
  /** An action log entry: sent if its event is one of `events`. */
  notify(entry: Record<string, unknown>): void;
  /** Sends what is pending, and waits a little for what is in flight. */
  close(): Promise<void>;
}

// Discord refuses a message over 2,000 characters.
const MAX_TEXT = 1900;

export function createAlertWebhook(
  settings: AlertSettings,
  logger: Logger,
  { batchMs = 1000, timeoutMs = 10_000, closeWaitMs = 2000 }: { batchMs?: number; timeoutMs?: number; closeWaitMs?: number } = {},
): AlertWebhook {
  const log = logger.child({ component: 'alerts' });
  const wanted = new Set(settings.events);
  const pending: Record<string, unknown>[] = [];
  let timer: NodeJS.Timeout | null = null;
  let inFlight = Promise.resolve();

  const body = (batch: Record<string, unknown>[]) => {
    // The sentence the log and the dashboard show for the same entry.
    const lines = batch.map((entry) => describeEntry(entry as ActionLogEntry));
    let text = `**${settings.name}**`;
    for (const [i, line] of lines.entries()) {
      const more = `\n… and ${lines.length - i} more`;
      if (text.length + line.length + 1 + more.length > MAX_TEXT) {
        text += more;
        break;
      }
      text += `\n${line}`;
    }
    if (settings.format === 'discord') return { content: text, allowed_mentions: { parse: [] } };
    if (settings.format === 'slack') return { text: text.replace(/\*\*/g, '*') };
    return { source: settings.name, alerts: batch.map((entry, i) => ({ event: entry.event, text: lines[i], entry })) };
  };

  const post = async (batch: Record<string, unknown>[], retried = false): Promise<void> => {
    try {
      const res = await fetch(settings.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(batch)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.status === 429 && !retried) {
        // Discord's rate limit: once, after the wait it asks for (capped, so that closing stays quick).
        const wait = Math.min(Number(res.headers.get('retry-after')) || 1, 10);
        await new Promise((r) => setTimeout(r, wait * 1000));
        return post(batch, true);
      }
      if (!res.ok) log.warn({ status: res.status }, `the alert webhook answered ${res.status}: ${batch.length} alert(s) not delivered`);
    } catch (err) {
      // The URL is a secret (a Discord webhook's is its key): never logged.
      log.warn({ err: (err as Error).message }, `could not reach the alert webhook: ${batch.length} alert(s) not delivered`);
    }
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = pending.splice(0);
    if (batch.length > 0) inFlight = inFlight.then(() => post(batch));
    return inFlight;
  };

  return {
    notify(entry) {
      if (!wanted.has(String(entry.event))) return;
      pending.push(entry);
      timer ??= setTimeout(flush, batchMs);
    },
    async close() {
      // A shutdown waits for the last alerts, but not for long: the webhook may be what is down.
      await Promise.race([flush(), new Promise((r) => setTimeout(r, closeWaitMs).unref())]);
    },
  };
}
