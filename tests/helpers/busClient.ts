import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { eventually } from './supervisor.js';

export interface BusMessage {
  scope?: string;
  action?: string;
  command_id?: string;
  output?: unknown;
  [key: string]: unknown;
}

/** What an operator (or a cluster) does on the channel: publish, and read everything published. */
export async function connectBus(url: string, channel: string) {
  const sub = new Redis(url);
  const pub = new Redis(url);
  sub.on('error', () => {});
  pub.on('error', () => {});
  const messages: { raw: string; json: BusMessage | null }[] = [];
  await sub.subscribe(channel);
  sub.on('message', (_c, raw: string) => {
    let json: BusMessage | null = null;
    try {
      json = JSON.parse(raw) as BusMessage;
    } catch {
      // kept raw
    }
    messages.push({ raw, json });
  });
  const publish = (message: unknown) => pub.publish(channel, typeof message === 'string' ? message : JSON.stringify(message));
  return {
    messages,
    pub,
    publish,
    /** Sends a launcher command and waits for the reply with its command_id. */
    async request(action: string, args?: Record<string, unknown>, timeoutMs = 10_000) {
      const commandId = randomUUID();
      await publish({ scope: 'launcher', action, ...(args ? { args } : {}), command_id: commandId });
      const reply = await eventually(
        () => messages.find((m) => m.json?.command_id === commandId && m.json.scope === 'bot'),
        timeoutMs,
        `a reply to ${action}`,
      );
      return { ...reply, output: reply.json!.output };
    },
    close() {
      sub.disconnect();
      pub.disconnect();
    },
  };
}

/** Everything published on the channel and its sub-channels (direct channels: `<channel>/...`), with the channel it went to. */
export async function watchChannels(url: string, channel: string) {
  const sub = new Redis(url);
  sub.on('error', () => {});
  const seen: { channel: string; json: Record<string, unknown> }[] = [];
  sub.on('pmessage', (_pattern, on: string, raw: string) => seen.push({ channel: on, json: JSON.parse(raw) as Record<string, unknown> }));
  await sub.psubscribe(`${channel}*`);
  return { seen, close: () => sub.disconnect() };
}
