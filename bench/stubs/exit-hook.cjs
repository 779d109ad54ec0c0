// Preloaded into either supervisor by bench/crash.mjs: stamps, in EXIT_HOOK_LOG,
// each cluster process's exit event (as it is emitted, before any listener)
// and each spawn (as Node hands it to libuv), with the cluster id from the
// process's environment (ours: MEWLD_CLUSTER_ID; theirs: CLUSTER).
const { ChildProcess } = require('node:child_process');
const { appendFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');

const stamp = (entry) =>
  appendFileSync(process.env.EXIT_HOOK_LOG, `${JSON.stringify({ ...entry, at: performance.timeOrigin + performance.now() })}\n`);

const emit = ChildProcess.prototype.emit;
ChildProcess.prototype.emit = function (event, ...args) {
  if (event === 'exit') stamp({ event: 'exit', pid: this.pid });
  return emit.call(this, event, ...args);
};
const spawn = ChildProcess.prototype.spawn;
ChildProcess.prototype.spawn = function (options) {
  const id = options?.envPairs?.find((e) => /^(MEWLD_CLUSTER_ID|CLUSTER)=/.test(e))?.split('=')[1];
  stamp({ event: 'spawn', id: Number(id) });
  return spawn.call(this, options);
};
