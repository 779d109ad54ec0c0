import { randomBytes } from 'node:crypto';
import type { Logger } from '../adapters/logger.js';
import { sessionFile } from '../adapters/runFiles.js';
import { writeWebAccess } from '../adapters/webAccess.js';
import type { LoadedConfig } from '../config/index.js';
import type { ActionLogStore } from '../interfaces/busAdapter.js';
import type { CommandBridge } from '../server/commandBridge.js';
import type { LiveState } from '../server/liveState.js';
import type { WebServer } from '../server/node.js';

/** The HTTP API and dashboard; a port already taken is logged, and the supervisor goes on without them. */
export async function startWeb(
  loaded: LoadedConfig,
  deps: { live: LiveState; commands: CommandBridge; actionLog: ActionLogStore; runDir: string },
  logger: Logger,
): Promise<WebServer | null> {
  const web = loaded.config.web;
  if (web === false) return null;
  const generated = web.token === undefined;
  const token = web.token ?? randomBytes(24).toString('base64url');
  try {
    // The action log so far, for the dashboard; not worth waiting for if the bus is slow to answer.
    const earlier = await Promise.race([
      deps.actionLog.recent(200).catch(() => []),
      new Promise<[]>((r) => setTimeout(() => r([]), 1000).unref()),
    ]);
    deps.live.seedActionLogs(earlier);
    const { startWebServer } = await import('../server/node.js');
    const server = await startWebServer(
      { host: web.host, port: web.port },
      {
        token,
        live: deps.live,
        commands: deps.commands,
        actionLogs: (limit) => deps.actionLog.recent(limit),
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
