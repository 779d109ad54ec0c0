#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../adapters/logger.js';
import { ConfigError, LOG_LEVELS, loadConfig } from '../config/index.js';
import type { InspectorRelay } from '../server/inspector.js';
import { control, isControlCommand } from './control.js';
import { startSupervisor } from '../supervisor/index.js';
import { AlreadyRunning } from '../adapters/runFiles.js';
import { systemdUnit } from './systemd.js';
import { fileURLToPath } from 'node:url';

const HELP = `mewld: a process supervisor for Discord bots split into shard clusters

Usage: mewld [--config FILE]                 run the supervisor
       mewld status [--config FILE]          every cluster of the running supervisor, as a table
       mewld start|stop|restart ID [--config FILE]
       mewld rolling-restart [--config FILE] operator commands to the running supervisor
                                             (through its web API; from another account, with web.token)
       mewld systemd [--config FILE]         print a systemd unit that runs the supervisor on this config

  -c, --config FILE   the config file (default: ./config.yaml); --cfg-file FILE, as the Go mewld took it, works too
  --inspect[=PORT]    serve a relay for the Stately inspector (default port 8080) and print its URL (with its token)
  -h, --help          show this help
  -v, --version       show the version

Signals: SIGINT or SIGTERM stops every cluster and exits 0; a second one kills them at once.
Exit codes: 0 after a shutdown, 1 after restartproc, a fatal error or when another supervisor runs
this config or bus, 2 for a bad config.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** --inspect or --inspect=PORT (an optional value, which parseArgs cannot express). */
function takeInspect(argv: string[]): { argv: string[]; inspect: number | undefined } {
  let inspect: number | undefined;
  const rest = argv.filter((arg) => {
    const match = /^--inspect(?:=(\d+))?$/.exec(arg);
    if (match) inspect = match[1] === undefined ? 8080 : Number(match[1]);
    return !match;
  });
  return { argv: rest, inspect };
}

async function main(): Promise<number> {
  const { argv, inspect } = takeInspect(process.argv.slice(2));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'cfg-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    process.stderr.write(`mewld: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  const args = parsed.values;
  const [command, ...rest] = parsed.positionals;
  if (command !== undefined && command !== 'systemd' && !isControlCommand(command)) {
    process.stderr.write(`mewld: unknown command '${command}'\n\n${HELP}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }

  let loaded;
  try {
    // The cluster program is checked only by the run that launches it: `mewld status` may be run from another account.
    loaded = loadConfig(args.config ?? args['cfg-file'] ?? 'config.yaml', process.env, { checkLaunch: command === undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mewld: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  if (command === 'systemd') {
    process.stdout.write(systemdUnit(loaded, { node: process.execPath, cli: fileURLToPath(import.meta.url) }));
    return 0;
  }
  if (command !== undefined) {
    return control(command, rest, loaded, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  }

  // LOG_LEVEL is how the Go version was told; the config key wins when both are set.
  const fromEnv = process.env.LOG_LEVEL?.toLowerCase().replace(/^warning$/, 'warn');
  const level = loaded.config.log_level ?? LOG_LEVELS.find((l) => l === fromEnv) ?? 'info';
  const logger = createLogger({ level });
  for (const warning of loaded.warnings) logger.warn(`config: ${warning}`);
  logger.info({ config: loaded.file, version: version() }, 'mewld starting');

  let inspector: InspectorRelay | undefined;
  if (inspect !== undefined) {
    const host = loaded.config.web ? loaded.config.web.host : '127.0.0.1';
    try {
      const { startInspectorRelay } = await import('../server/inspector.js');
      inspector = await startInspectorRelay({ host, port: inspect });
      logger.info({ url: inspector.url }, `Stately inspector: open ${inspector.url}`);
    } catch (err) {
      logger.error(`the inspector relay could not listen on ${host}:${inspect}: ${(err as Error).message}`);
    }
  }

  let supervisor;
  try {
    supervisor = await startSupervisor(loaded, logger, { inspector });
  } catch (err) {
    if (!(err instanceof AlreadyRunning)) throw err;
    await inspector?.close();
    logger.error({ holder: err.holder }, err.message);
    logger.flush?.();
    return 1;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    logger.info(`${signal}: ${signals === 1 ? 'stopping every cluster' : 'killing every cluster now'}`);
    supervisor.actor.send({ type: 'command.shutdown' });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { exitCode, error } = await supervisor.done;
  await inspector?.close();
  logger.info({ exitCode }, error ? `mewld stopped: ${error}` : 'mewld stopped');
  logger.flush?.();
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`mewld: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
