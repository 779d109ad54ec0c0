// The least a request/reply through Redis pub/sub takes on this machine: a
// bare ioredis echo in another process, no supervisor, no validation, no
// state. Prints {times} as JSON. Usage: node bench/floor.mjs HOST:PORT ROUNDS [REPLY_BYTES]
// REPLY_BYTES pads each reply to about that size (the size of a statuses reply), which the
// asker parses, as a cluster parses its reply.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';

const [address, rounds = '1000', replyBytes = '0', role] = process.argv.slice(2);
const connect = () => new Redis(`redis://${address}`, { lazyConnect: false }).on('error', () => {});
const [sub, pub] = [connect(), connect()];

if (role === 'echo') {
  await sub.subscribe('floor/request');
  const padding = 'x'.repeat(Number(replyBytes));
  sub.on('message', (_channel, message) => pub.publish('floor/reply', padding ? JSON.stringify({ message, padding }) : message));
  process.send('ready');
} else {
  const echo = fork(fileURLToPath(import.meta.url), [address, rounds, replyBytes, 'echo']);
  await new Promise((resolve) => echo.once('message', resolve));
  await sub.subscribe('floor/reply');
  let replied;
  sub.on('message', (_channel, message) => replied(JSON.parse(message)));
  const times = [];
  for (let i = 0; i < Number(rounds); i++) {
    const t0 = performance.now();
    const reply = new Promise((resolve) => (replied = resolve));
    await pub.publish('floor/request', JSON.stringify({ scope: 'launcher', action: 'statuses', command_id: String(i) }));
    await reply;
    times.push(performance.now() - t0);
  }
  echo.kill();
  console.log(JSON.stringify({ times }));
  process.exit(0);
}
