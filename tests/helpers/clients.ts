import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterLink } from '../../src/interfaces/busAdapter.js';
import { launchCommand } from '../../src/adapters/clusterProcess.js';
import { FIXTURES, readEvents } from './supervisor.js';

/**
 * Starts `count` cluster processes on mewld/client (tests/fixtures/client_cluster.mjs)
 * attached to `bus`, launched as the supervisor would launch them but without
 * one: the test plays the supervisor. Cluster i has shards [2i, 2i+1].
 */
export function spawnClientClusters(bus: ClusterLink, count: number, env: Record<string, string> = {}) {
  const logFile = join(mkdtempSync(join(tmpdir(), 'mewld-clients-')), 'events.jsonl');
  const processes: ChildProcess[] = [];
  for (let id = 0; id < count; id++) {
    const command = launchCommand(
      {
        workDir: FIXTURES,
        module: 'client_cluster.mjs',
        interp: process.execPath,
        env: { ...process.env, FIXTURE_LOG: logFile, ...env },
        token: '',
        bus,
      },
      { cluster: { id, name: `C${id}`, shards: [id * 2, id * 2 + 1] }, shardCount: count * 2, clusterCount: count },
    );
    const proc = spawn(command.file, command.args, {
      cwd: command.cwd,
      env: command.env,
      stdio: bus.ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
    });
    bus.attach(id, proc);
    processes.push(proc);
  }
  return {
    processes,
    events: () => readEvents(logFile),
    kill: () => processes.forEach((p) => p.kill('SIGKILL')),
  };
}
