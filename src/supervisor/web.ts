import { randomBytes } from 'node:crypto';
import type { Logger } from '../adapters/logger.js';
import { sessionFile } from '../adapters/runFiles.js';
import { writeWebAccess } from '../adapters/webAccess.js';
import { oauthLogin, workDir, type LoadedConfig } from '../config/index.js';
import type { BusAdapter } from '../interfaces/busAdapter.js';
import type { ClusterLogs } from '../interfaces/clusterLogs.js';
import type { CommandBridge } from '../server/commandBridge.js';
import type { History } from '../server/history.js';
import type { LiveState } from '../server/liveState.js';
import type { WebServer } from '../server/node.js';

/** The HTTP API and dashboard; a port already taken is logged, and the supervisor goes on without them. */
export async function startWeb(
  loaded: LoadedConfig,
  deps: { live: LiveState; commands: CommandBridge; bus: BusAdapter; runDir: string; logs: ClusterLogs; history: History },
  logger: Logger,
): Promise<WebServer | null> {
  const web = loaded.config.web;
  if (web === false) return null;
  const generated = web.token === undefined;
  const token = web.token ?? randomBytes(24).toString('base64url');
  const oauth = oauthLogin(loaded.config);
  try {
    // The action log so far, for the dashboard; not worth waiting for if the bus is slow to answer.
    const earlier = await Promise.race([
      deps.bus.actionLog.recent(200).catch(() => []),
      new Promise<[]>((r) => setTimeout(() => r([]), 1000).unref()),
    ]);
    deps.live.seedActionLogs(earlier);
    const { startWebServer } = await import('../server/node.js');
    const actionLogs = (limit: number) => deps.bus.actionLog.recent(limit);
    const server = await startWebServer(
      { host: web.host, port: web.port },
      {
        token,
        live: deps.live,
        commands: deps.commands,
        logs: deps.logs,
        history: deps.history,
        actionLogs,
        maxClientBuffer: web.max_client_buffer,
        // In Redis when the bus is Redis (they outlive a restart, and are good on any machine of the bot), else in the run directory.
        sessions: deps.bus.sessions ?? sessionFile(deps.runDir),
        ...(oauth && { oauth }),
        go: { live: deps.live, actionLogs, publish: (raw) => deps.bus.publish(raw), dir: workDir(loaded.config) },
        // use_custom_webui (the Go version's): the API for a web UI of one's own, not the bundled dashboard.
        ...(loaded.config.use_custom_webui && { assets: {} }),
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
