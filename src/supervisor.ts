import { randomBytes } from 'node:crypto';
import { createActor, toPromise, type Actor } from 'xstate';
import { spawnCluster } from './adapters/clusterProcess.js';
import { fetchGateway } from './adapters/discordGateway.js';
import { machineLogger, type Logger } from './adapters/logger.js';
import type { Bus } from './adapters/bus.js';
import { createIpcBus } from './adapters/ipcBus.js';
import { createRedisBus } from './adapters/redisBus.js';
import { workDir, type LoadedConfig } from './config/index.js';
import { instanceMachine } from './machines/instanceMachine.js';
import { orchestratorMachine, type OrchestratorInput, type OrchestratorOutput } from './machines/orchestratorMachine.js';

const ms = (seconds: number) => Math.round(seconds * 1000);

/** The orchestrator's input, from the config: seconds become milliseconds. */
export function orchestratorInput(loaded: LoadedConfig): OrchestratorInput {
  const { config } = loaded;
  const r = config.restart;
  return {
    perCluster: config.per_cluster,
    names: config.names ?? [],
    fixedShardCount: config.fixed_shard_count,
    minimumSafeSessions: config.minimum_safe_sessions_remaining,
    startNextDelay: ms(config.cluster_start_next_delay),
    timing: {
      pingInterval: ms(config.ping_interval),
      pingTimeout: ms(config.ping_timeout),
      launchTimeout: ms(config.launch_timeout),
      killTimeout: ms(config.kill_timeout),
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
    nonceSalt: randomBytes(4).toString('hex'),
    seed: randomBytes(4).readInt32LE(),
  };
}

export interface Supervisor {
  actor: Actor<typeof orchestratorMachine>;
  bus: Bus;
  /** Resolves when the orchestrator is done, with the exit code the process should end with. */
  done: Promise<OrchestratorOutput>;
}

/**
 * Wires the adapters into the machines and starts the root actor. Everything
 * with I/O is chosen here; the machines only know the names of their slots.
 */
export function startSupervisor(loaded: LoadedConfig, logger: Logger): Supervisor {
  const { config } = loaded;
  // Redis when the config names one (the Go version's bus); otherwise the embedded one.
  const bus =
    config.redis !== undefined
      ? createRedisBus({ url: config.redis, channel: config.redis_channel, actionLogMax: config.action_log_max }, logger)
      : createIpcBus({ channel: config.redis_channel, actionLogMax: config.action_log_max }, logger);
  logger.info(bus.kind === 'redis' ? `bus: Redis at ${config.redis}, channel ${config.redis_channel}` : 'bus: embedded (IPC)');
  const clusterProcess = spawnCluster(
    {
      workDir: workDir(config),
      module: config.module,
      interp: config.interp,
      // As godotenv did for the Go version: the env files never override what is already set.
      env: { ...loaded.env, ...process.env },
      token: config.token ?? '',
      bus,
    },
    logger,
  );
  const machine = orchestratorMachine.provide({
    actors: {
      bus: bus.actor,
      gateway: fetchGateway(
        { token: config.token ?? '', proxy: config.proxy, timeout: ms(config.gateway_timeout) },
        logger.child({ component: 'discord' }),
      ),
      instance: instanceMachine.provide({ actors: { clusterProcess } }),
    },
  });
  const actor = createActor(machine, { input: orchestratorInput(loaded), logger: machineLogger(logger) });
  const done = toPromise(actor).then(
    async (output) => {
      await bus.close();
      return output;
    },
    async (err: unknown) => {
      logger.fatal({ err }, 'the supervisor failed');
      actor.stop(); // the process adapters' cleanup kills every cluster
      await bus.close();
      return { exitCode: 1, error: String(err) };
    },
  );
  actor.start();
  return { actor, bus, done };
}
