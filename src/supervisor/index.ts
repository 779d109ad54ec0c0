import { randomBytes } from 'node:crypto';
import { createActor, toPromise, type Actor, type InspectionEvent } from 'xstate';
import { createAlertWebhook } from '../adapters/alertWebhook.js';
import { createIpcBus } from '../adapters/bus/ipc.js';
import { createClusterLogs } from '../adapters/clusterLogs.js';
import { spawnCluster, type LaunchCustomizer } from '../adapters/clusterProcess.js';
import { fetchGateway } from '../adapters/discordGateway.js';
import { machineLogger, type Logger } from '../adapters/logger.js';
import { fileHistoryStore } from '../adapters/history/file.js';
import { claimRun } from '../adapters/runFiles.js';
import { redact, workDir, type LoadedConfig } from '../config/index.js';
import type { BusAdapter } from '../interfaces/busAdapter.js';
import type { HistoryStore, SavedHistory } from '../interfaces/history.js';
import { instanceMachine, launchSlotMachine, orchestratorMachine, type OrchestratorOutput } from '../machines/index.js';
import { createCommandBridge } from '../server/commandBridge.js';
import { createHistory } from '../server/history.js';
import type { InspectorRelay } from '../server/inspector.js';
import { createLiveState, type LiveState } from '../server/liveState.js';
import type { WebServer } from '../server/node.js';
import { ms, orchestratorInput } from './input.js';
import { startWeb } from './web.js';

export { orchestratorInput };

export interface Supervisor {
  actor: Actor<typeof orchestratorMachine>;
  bus: BusAdapter;
  live: LiveState;
  /** The web server, once it listens (null when `web: false`, or when it could not listen). */
  web: Promise<WebServer | null>;
  /** Resolves when the orchestrator is done, with the exit code the process should end with. */
  done: Promise<OrchestratorOutput>;
}

export interface SupervisorOptions {
  /** The Stately inspector relay (mewld --inspect), to attach to the root actor. */
  inspector?: Pick<InspectorRelay, 'inspect'>;
  /**
   * An embedder's launch of each cluster (its own program, more arguments,
   * more environment), given the command mewld would run: as the Go mewld's
   * LoaderData.Start let Anti-Raid launch its clusters its way.
   */
  launch?: LaunchCustomizer;
  /** Every action log entry as it is written (the Go mewld's LoaderData.OnActionLog). */
  onActionLog?: (entry: Record<string, unknown>) => void;
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
      ? (await import('../adapters/bus/redis.js')).createRedisBus(
          { url: config.redis, channel: config.redis_channel, actionLogMax: config.action_log_max, runId },
          logger,
        )
      : createIpcBus({ channel: config.redis_channel, actionLogMax: config.action_log_max, silenceMs: ms(config.launch_timeout) }, logger);
  logger.info(bus.kind === 'redis' ? `bus: Redis at ${redact(config.redis!)}, channel ${config.redis_channel}` : 'bus: embedded (IPC)');
  const clusterLogs = createClusterLogs(config.logs.lines);
  const clusterProcess = spawnCluster(
    {
      workDir: workDir(config),
      module: config.module,
      interp: config.interp,
      // As godotenv did for the Go version: the env files never override what is already set.
      env: { ...loaded.env, ...process.env },
      token: config.token ?? '',
      runId,
      bus: bus.link,
      registry: claim.registry,
      logs: clusterLogs,
      stderrLevel: config.logs.stderr,
      launch: options.launch,
    },
    logger,
  );
  // In Redis when the bus is Redis (the config has `redis`), else in the run directory.
  const historyStore = bus.history ?? fileHistoryStore(claim.dir);
  const restored = await loadHistory(historyStore, logger);
  if (restored.saved?.actionLog) bus.actionLog.restore?.(restored.saved.actionLog);
  const history = createHistory({
    store: restored.readable ? historyStore : null,
    restored: restored.saved,
    periodMs: ms(config.history_interval),
    // Redis keeps its action log itself; the IPC bus's lives in memory and goes with the history.
    actionLog: bus.actionLog.restore ? bus.actionLog : undefined,
    log: logger.child({ component: 'history' }),
  });
  const commands = createCommandBridge();
  const live = createLiveState({ busKind: bus.kind });
  bus.actionLog.subscribe((entry) => live.actionLog(entry));
  if (options.onActionLog) {
    const listener = options.onActionLog;
    bus.actionLog.subscribe((entry) => {
      try {
        listener(entry);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "the embedder's onActionLog failed");
      }
    });
  }
  const alerts = config.alerts ? createAlertWebhook({ ...config.alerts, url: config.alerts.webhook }, logger) : null;
  if (alerts) bus.actionLog.subscribe((entry) => alerts.notify(entry));
  const gateway = fetchGateway(
    { token: config.token ?? '', proxy: config.proxy, timeout: ms(config.gateway_timeout) },
    logger.child({ component: 'discord' }),
  );
  const machine = orchestratorMachine.provide({
    actors: {
      bus: bus.actor,
      api: commands.actor,
      gateway,
      instance: instanceMachine.provide({ actors: { clusterProcess } }),
      launchSlot: launchSlotMachine.provide({ actors: { gateway } }),
    },
  });
  // Inspection attaches to the root actor and sees every actor of the system; it has a cost on
  // every event. The history always watches (restart counts, exits, charts); the live state
  // only with the web server, the Stately inspector's relay only when asked for.
  const watchers = [
    history.inspect,
    config.web ? live.inspect : undefined,
    options.inspector ? (e: InspectionEvent) => options.inspector!.inspect.next?.(e) : undefined,
  ].filter((w): w is (e: InspectionEvent) => void => w !== undefined);
  const actor = createActor(machine, {
    input: { ...orchestratorInput(loaded, runId), history: restored.saved?.clusters },
    logger: machineLogger(logger),
    ...(watchers.length > 0 && { inspect: (event: InspectionEvent) => watchers.forEach((watch) => watch(event)) }),
  });
  actor.start();
  const web = startWeb(loaded, { live, commands, bus, runDir: claim.dir, logs: clusterLogs, history }, logger);
  const finish = async () => {
    await (await web)?.close();
    // Every cluster has stopped: their last exits are in it.
    await history.close();
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

/** How long the start waits for the history (Redis may be slow to come up: the bus waits for it, the history does not). */
const HISTORY_LOAD_MS = 5_000;

/**
 * What an earlier run saved. When it cannot be read (Redis not up within
 * HISTORY_LOAD_MS, an error), the run starts afresh and saves nothing, so
 * that what is there is not overwritten: the next run restores it.
 */
async function loadHistory(store: HistoryStore, logger: Logger): Promise<{ saved: SavedHistory | null; readable: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const saved = await Promise.race([
      store.load(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${HISTORY_LOAD_MS / 1000} s`)), HISTORY_LOAD_MS);
      }),
    ]);
    if (saved)
      logger.info({ clusters: Object.keys(saved.clusters).length }, 'restart counts, last exits and charts restored from the last run');
    return { saved, readable: true };
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      `could not read the history of earlier runs (${(err as Error).message}): restart counts start at 0, and this run does not save them`,
    );
    return { saved: null, readable: false };
  } finally {
    clearTimeout(timer);
  }
}
