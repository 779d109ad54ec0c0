import { randomBytes } from 'node:crypto';
import type { LoadedConfig } from '../config/index.js';
import type { OrchestratorInput } from '../machines/index.js';

/** Seconds in the config, milliseconds in the machines. */
export const ms = (seconds: number) => Math.round(seconds * 1000);

/** The orchestrator's input, from the config: seconds become milliseconds. `runId` names this run (nonces start with it). */
export function orchestratorInput(loaded: LoadedConfig, runId = randomBytes(6).toString('hex')): OrchestratorInput {
  const { config } = loaded;
  const r = config.restart;
  return {
    perCluster: config.per_cluster,
    names: config.names ?? [],
    fixedShardCount: config.fixed_shard_count,
    minimumSafeSessions: config.minimum_safe_sessions_remaining,
    maxConcurrency: config.max_concurrency,
    startNextDelay: ms(config.cluster_start_next_delay),
    identifyWindow: ms(config.identify_window),
    timing: {
      pingInterval: ms(config.ping_interval),
      pingTimeout: ms(config.ping_timeout),
      launchTimeout: ms(config.launch_timeout),
      killTimeout: ms(config.kill_timeout),
      reconnectGrace: ms(config.bus_reconnect_grace),
    },
    restart: {
      backoffInitial: ms(r.backoff_initial),
      backoffFactor: r.backoff_factor,
      backoffMax: ms(r.backoff_max),
      jitter: r.jitter,
      resetAfter: ms(r.reset_after),
      maxRestarts: r.max_restarts,
      within: ms(r.within),
      noRestartExitCodes: r.no_restart_exit_codes,
    },
    fleet: { crashRatio: r.fleet_crash_ratio, window: ms(r.fleet_window), pause: ms(r.fleet_pause) },
    nonceSalt: runId,
    seed: randomBytes(4).readInt32LE(),
  };
}
