// Preloaded (--import) into a supervisor by bench/memory.mjs. The first SIGUSR2
// starts a V8 sampling heap profile (one that keeps what was collected, so
// it counts every byte allocated); the second stops it and writes, to
// MEMORY_PROBE_OUT, the heap's spaces as the process holds them then and what
// was allocated meanwhile, by whose code allocated it (XState, other packages,
// the supervisor's own, Node's). Not RSS: the profile's samples are the probe's own memory.
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
const KiB = (bytes) => Math.round(bytes / 1024);
let startedAt = null;

process.on('SIGUSR2', async () => {
  if (startedAt === null) {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 512,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    startedAt = performance.now();
    return;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const { profile } = await post('HeapProfiler.stopSampling');
  // Each byte goes to the code that allocated it; a builtin (Set, Map, an array's push) to its caller.
  const owners = { xstate: 0, packages: 0, own: 0, node: 0 };
  let total = 0;
  const self = new Map();
  const ownerOf = (url) =>
    url.includes('/node_modules/xstate/')
      ? 'xstate'
      : url.includes('/node_modules/')
        ? 'packages'
        : url.startsWith('node:')
          ? 'node'
          : 'own';
  const walk = (node, owner) => {
    const { url, functionName, lineNumber } = node.callFrame;
    const who = url ? ownerOf(url) : owner;
    total += node.selfSize;
    owners[who] += node.selfSize;
    if (node.selfSize > 0) {
      const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + node.selfSize);
    }
    node.children.forEach((child) => walk(child, who));
  };
  walk(profile.head, 'node');
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, KiB(s.physical_space_size)]));
  const { heapUsed } = process.memoryUsage();
  // Whole or not at all: the bench reads the file as soon as it appears.
  const out = process.env.MEMORY_PROBE_OUT;
  writeFileSync(
    `${out}.part`,
    JSON.stringify({
      heapUsedKiB: KiB(heapUsed),
      newSpaceKiB: spaces.new_space,
      oldSpaceKiB: spaces.old_space,
      codeSpaceKiB: spaces.code_space,
      allocatedKiBPerSecond: KiB(total / seconds),
      share: Object.fromEntries(Object.entries(owners).map(([who, bytes]) => [who, total > 0 ? bytes / total : 0])),
      topAllocators: [...self]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([where, bytes]) => ({ where, kiBPerSecond: KiB(bytes / seconds) })),
    }),
  );
  renameSync(`${out}.part`, out);
});
