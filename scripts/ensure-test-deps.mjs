#!/usr/bin/env node
// The tests use real programs: redis-server for the bus, python3 for the
// cluster written in another language, Debian's chromium for the dashboard's
// browser tests (playwright-core drives it; no browser is downloaded), promtool for the metrics. On a fresh Debian machine with only
// Node and npm, install them (as root, with apt-get); elsewhere, say what is missing.
import { execFileSync, spawnSync } from 'node:child_process';

const needs = [
  { command: 'redis-server', debian: 'redis-server' },
  { command: 'python3', debian: 'python3' },
  { command: 'chromium', debian: 'chromium' },
  // promtool, to check what /metrics serves (the Prometheus package, without its recommended extras).
  { command: 'promtool', debian: 'prometheus', lean: true },
];

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const missing = needs.filter((n) => !has(n.command));
if (missing.length === 0) process.exit(0);

const packages = missing.map((n) => n.debian);
const isRoot = process.getuid?.() === 0;
if (isRoot && has('apt-get')) {
  console.log(`installing ${packages.join(', ')} for the tests (apt-get)`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  for (const lean of [false, true]) {
    const some = missing.filter((n) => Boolean(n.lean) === lean).map((n) => n.debian);
    if (some.length === 0) continue;
    execFileSync('apt-get', ['install', '-y', '-qq', ...(lean ? ['--no-install-recommends'] : []), ...some], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  process.exit(0);
}
console.error(
  `the tests need ${missing.map((n) => n.command).join(' and ')}: install ${packages.join(', ')} (Debian/Ubuntu: sudo apt-get install ${packages.join(' ')})`,
);
process.exit(1);
