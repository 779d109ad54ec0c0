import { randomBytes } from 'node:crypto';
import { createActor, toPromise, type Actor, type InspectionEvent } from 'xstate';
import { createAlertWebhook } from './adapters/alertWebhook.js';
import { spawnCluster } from './adapters/clusterProcess.js';
import { fetchGateway } from './adapters/discordGateway.js';
import { machineLogger, type Logger } from './adapters/logger.js';
import type { Bus } from './adapters/bus.js';
import { createIpcBus } from './adapters/ipcBus.js';
import { claimRun, sessionFile } from './adapters/runFiles.js';
import { redact, workDir, type LoadedConfig } from './config/index.js';
import { writeWebAccess } from './webAccess.js';
import { instanceMachine } from './machines/instanceMachine.js';
import { orchestratorMachine, type OrchestratorInput, type OrchestratorOutput } from './machines/orchestratorMachine.js';
import { createCommandBridge, type CommandBridge } from './server/commandBridge.js';
import type { InspectorRelay } from './server/inspector.js';
import { createLiveState, type LiveState } from './server/liveState.js';
import type { WebServer } from './server/node.js';

const ms = (seconds: number) => Math.round(seconds * 1000);

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

export interface Supervisor {
  actor: Actor<typeof orchestratorMachine>;
  bus: Bus;
  live: LiveState;
  /** The web server, once it listens (null when `web: false`, or when it could not listen). */
  web: Promise<WebServer | null>;
  /** Resolves when the orchestrator is done, with the exit code the process should end with. */
  done: Promise<OrchestratorOutput>;
}

export interface SupervisorOptions {
  /** The Stately inspector relay (mewld --inspect), to attach to the root actor. */
  inspector?: Pick<InspectorRelay, 'inspect'>;
}

/**
 * Wires the adapters into the machines and starts the root actor. Everything
 * with I/O is chosen here; the machines only know the names of their slots.
 * What a run does not use (Redis, the web server) is not even loaded: a
 * supervisor's memory is its operators' to spend.
 */
export async function startSupervisor(loaded: LoadedConfig, logger: Logger, options: SupervisorOptions = {}): Promise<Supervisor> {
  const { config } = loaded;
  const runId = randomBytes(6).toString('hex');
  // One supervisor per config (throws AlreadyRunning), and nothing of an earlier run of it left running: never two processes on one shard set.
  const claim = claimRun(loaded.file, runId);
  const leftovers = await claim.endLeftovers(ms(config.kill_timeout));
  if (leftovers.length > 0) {
    logger.warn(
      { leftovers },
      `ended ${leftovers.length} cluster processes that an earlier run of this config left running (clusters ${[...new Set(leftovers.map((l) => l.cluster))].join(', ')}), before launching any`,
    );
  }
  // Redis when the config names one (the Go version's bus); otherwise the embedded one.
  const bus =
    config.redis !== undefined
      ? (await import('./adapters/redisBus.js')).createRedisBus(
          { url: config.redis, channel: config.redis_channel, actionLogMax: config.action_log_max, runId },
          logger,
        )
      : createIpcBus({ channel: config.redis_channel, actionLogMax: config.action_log_max }, logger);
  logger.info(bus.kind === 'redis' ? `bus: Redis at ${redact(config.redis!)}, channel ${config.redis_channel}` : 'bus: embedded (IPC)');
  const clusterProcess = spawnCluster(
    {
      workDir: workDir(config),
      module: config.module,
      interp: config.interp,
      // As godotenv did for the Go version: the env files never override what is already set.
      env: { ...loaded.env, ...process.env },
      token: config.token ?? '',
      runId,
      bus,
      registry: claim.registry,
    },
    logger,
  );
  const commands = createCommandBridge();
  const live = createLiveState({ busKind: bus.kind });
  bus.onActionLog((entry) => live.actionLog(entry));
  const alerts = config.alerts ? createAlertWebhook({ ...config.alerts, url: config.alerts.webhook }, logger) : null;
  if (alerts) bus.onActionLog((entry) => alerts.notify(entry));
  const machine = orchestratorMachine.provide({
    actors: {
      bus: bus.actor,
      api: commands.actor,
      gateway: fetchGateway(
        { token: config.token ?? '', proxy: config.proxy, timeout: ms(config.gateway_timeout) },
        logger.child({ component: 'discord' }),
      ),
      instance: instanceMachine.provide({ actors: { clusterProcess } }),
    },
  });
  // Inspection attaches to the root actor and sees every actor of the system; it has a
  // cost on every event, so only when someone watches (the web server, the Stately inspector).
  const watchers = [
    config.web ? live.inspect : undefined,
    options.inspector ? (e: InspectionEvent) => options.inspector!.inspect.next?.(e) : undefined,
  ].filter((w): w is (e: InspectionEvent) => void => w !== undefined);
  const actor = createActor(machine, {
    input: orchestratorInput(loaded, runId),
    logger: machineLogger(logger),
    ...(watchers.length > 0 && { inspect: (event: InspectionEvent) => watchers.forEach((watch) => watch(event)) }),
  });
  actor.start();
  const web = startWeb(loaded, { live, commands, bus, runDir: claim.dir }, logger);
  const finish = async () => {
    await (await web)?.close();
    await alerts?.close();
    await bus.close();
    claim.release();
  };
  const done = toPromise(actor).then(
    async (output) => {
      await finish();
      return output;
    },
    async (err: unknown) => {
      logger.fatal({ err }, 'the supervisor failed');
      actor.stop(); // the process adapters' cleanup kills every cluster
      await finish();
      return { exitCode: 1, error: String(err) };
    },
  );
  return { actor, bus, live, web, done };
}

/** The HTTP API and dashboard; a port already taken is logged, and the supervisor goes on without them. */
async function startWeb(
  loaded: LoadedConfig,
  deps: { live: LiveState; commands: CommandBridge; bus: Bus; runDir: string },
  logger: Logger,
): Promise<WebServer | null> {
  const web = loaded.config.web;
  if (web === false) return null;
  const generated = web.token === undefined;
  const token = web.token ?? randomBytes(24).toString('base64url');
  try {
    // The action log so far, for the dashboard; not worth waiting for if the bus is slow to answer.
    const earlier = await Promise.race([
      deps.bus.actionLogs(200).catch(() => []),
      new Promise<[]>((r) => setTimeout(() => r([]), 1000).unref()),
    ]);
    deps.live.seedActionLogs(earlier);
    const { startWebServer } = await import('./server/node.js');
    const server = await startWebServer(
      { host: web.host, port: web.port },
      {
        token,
        live: deps.live,
        commands: deps.commands,
        actionLogs: (limit) => deps.bus.actionLogs(limit),
        maxClientBuffer: web.max_client_buffer,
        sessions: sessionFile(deps.runDir),
        log: logger.child({ component: 'web' }),
      },
    );
    logger.info(
      { url: server.url },
      generated
        ? `dashboard: ${server.url}?token=${token}`
        : `dashboard: ${server.url} (open it once with ?token=<web.token or MEWLD_WEB_TOKEN>)`,
    );
    // For `mewld status` and the other operator commands on this config.
    let forget = () => {};
    try {
      forget = writeWebAccess({ url: server.url, token, config: loaded.file });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not write where the web API is for `mewld status`: give it web.token');
    }
    return {
      ...server,
      close: async () => {
        forget();
        await server.close();
      },
    };
  } catch (err) {
    logger.error(
      { err: (err as Error).message },
      `the web server could not listen on ${web.host}:${web.port}: ${(err as Error).message}; going on without it`,
    );
    return null;
  }
}
