// The footprint floor of mewld: a process that loads what the supervisor loads
// (with the embedded bus and no web server) and does nothing else.
import 'node:child_process';
import 'node:crypto';
import 'node:fs';
import 'node:path';
import 'node:perf_hooks';
import 'node:readline';
import 'node:timers/promises';
import 'node:util';
import 'pino';
import 'valibot';
import 'xstate';
import 'yaml';

setInterval(() => {}, 1 << 30);
