#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../adapters/logger.js';
import { ConfigError, LOG_LEVELS, loadConfig, type LoadedConfig } from '../config/index.js';
import type { InspectorRelay } from '../server/inspector.js';
import { control, ROLLOUT_OPS, type ControlArgs, type ControlCommand, type RolloutOp } from './control.js';
import { startSupervisor } from '../supervisor/index.js';
import { AlreadyRunning } from '../adapters/runFiles.js';
import { systemdUnit } from './systemd.js';
import { fileURLToPath } from 'node:url';

/** Said after the main help: what a process manager needs to know. */
const SIGNALS = `
Signals: SIGINT or SIGTERM stops every cluster and exits 0; a second one kills them at once.
Exit codes: 0 after a shutdown, 1 after restartproc, a fatal error or when another supervisor runs
this config or bus, 2 for a bad config or a command used wrongly.

Operator commands reach the running supervisor through its web API (from another account, with web.token).
"mewld help COMMAND" or "mewld COMMAND --help" says more of one.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * --inspect, --inspect=PORT or --inspect PORT, taken out before the parser
 * sees the rest: an option whose value is optional would swallow the word
 * after it (\`mewld --inspect status\`).
 */
function takeInspect(argv: string[]): { argv: string[]; inspect: number | undefined } {
  let inspect: number | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const match = /^--inspect(?:=(\d+))?$/.exec(argv[i]!);
    if (!match) rest.push(argv[i]!);
    else if (match[1] !== undefined) inspect = Number(match[1]);
    else if (/^\d+$/.test(argv[i + 1] ?? '')) inspect = Number(argv[++i]);
    else inspect = 8080;
  }
  return { argv: rest, inspect };
}

interface GlobalOptions {
  config?: string;
  cfgFile?: string;
}

/** Thrown by an action to end the program with this code (commander's parse is then done). */
class Exit {
  constructor(readonly code: number) {}
}

/** The command line, parsed by commander: per-command help, and a usage error (exit 2) for an unknown option, command or extra word. */
function program(run: (loaded: LoadedConfig) => Promise<number>): Command {
  const load = (options: GlobalOptions, checkLaunch: boolean) => {
    try {
      return loadConfig(options.config ?? options.cfgFile ?? 'config.yaml', process.env, { checkLaunch });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`mewld: ${err.message}\n`);
        throw new Exit(2);
      }
      throw err;
    }
  };
  const io = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };
  // The cluster program is checked only by the run that launches it: `mewld status` may be run from another account.
  const operator = (command: ControlCommand, options: GlobalOptions, args: ControlArgs) =>
    control(command, args, load(options, false), io).then((code) => {
      throw new Exit(code);
    });

  const mewld = new Command('mewld')
    .description('A process supervisor for Discord bots split into shard clusters: with no command, runs the supervisor.')
    .usage('[--config FILE] [--inspect[=PORT]] [COMMAND]')
    .version(version(), '-v, --version', 'show the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [COMMAND]', 'what a command does, and its options')
    .option('-c, --config <FILE>', 'the config file (default: ./config.yaml)')
    .option('--cfg-file <FILE>', 'the config file, as the Go mewld took it')
    // Taken out by takeInspect; listed here for the help.
    .addOption(
      new Option('--inspect[=PORT]', 'serve a relay for the Stately inspector (default port 8080) and print its URL (with its token)'),
    )
    .addHelpText('after', SIGNALS)
    .showSuggestionAfterError()
    .exitOverride()
    // With an action of its own, commander takes a word that names no command for an argument of it.
    .allowExcessArguments()
    .action(async () => {
      const [word] = mewld.args;
      if (word !== undefined) {
        const commands = mewld.commands.map((c) => c.name()).filter((name) => name !== 'help');
        mewld.error(`unknown command '${word}' (the commands are ${commands.join(', ')}; mewld --help says more)`);
      }
      throw new Exit(await run(load(mewld.opts<GlobalOptions>(), true)));
    });
  mewld.configureOutput({
    // commander's "error: ..." as this program says its errors: "mewld stop: ...".
    outputError: (text, write) => write(`${commandPath(mewld, process.argv.slice(2))}: ${text.replace(/^error: /, '')}`),
  });

  const sub = (name: string, description: string) =>
    mewld
      .command(name)
      .description(description)
      .helpOption('-h, --help', 'show this help')
      .configureHelp({ showGlobalOptions: true })
      // Not inherited from the program, which takes excess words to say "unknown command".
      .allowExcessArguments(false)
      .exitOverride()
      .configureOutput({ outputError: (text, write) => write(`mewld ${name}: ${text.replace(/^error: /, '')}`) });

  sub('status', 'every cluster of the running supervisor, as a table (what `pm2 ls` is to PM2)')
    .option('--json', 'print what the API answers, as JSON: {phase, gateway, clusters}')
    .action(async (options: { json?: boolean }, command: Command) => {
      await operator('status', command.optsWithGlobals(), { json: options.json === true });
    });
  for (const [name, description] of [
    ['start', 'start a stopped or failed cluster (through the launch slot)'],
    ['stop', 'stop a cluster; it stays stopped until started'],
    ['restart', 'stop a cluster, then start it again'],
  ] as const) {
    sub(name, description)
      .argument('<ID>', 'the cluster id (0, 1, ...)', clusterIdArgument)
      .action(async (id: string, _options: unknown, command: Command) => {
        await operator(name, command.optsWithGlobals(), { id });
      });
  }
  sub('logs', "a cluster's recent output (stderr lines on stderr), each line with its time and process id")
    .argument('<ID>', 'the cluster id (0, 1, ...)', clusterIdArgument)
    .option('-n, --lines <N>', 'how many of the recent lines (the supervisor keeps logs.lines of each)', lineCount, 100)
    .option('-f, --follow', 'then print new lines as they come, through restarts, until interrupted')
    .action(async (id: string, options: { lines: number; follow?: boolean }, command: Command) => {
      await operator('logs', command.optsWithGlobals(), { id, lines: options.lines, follow: options.follow === true });
    });
  sub('rolling-restart', 'restart every cluster in order, each once the one before is up; or pause, resume, cancel it, or show where it is')
    .addArgument(new Argument('[ACTION]', 'what to do').choices(ROLLOUT_OPS).default('start'))
    .option('--json', 'the progress as the API gives it')
    .action(async (rollout: RolloutOp, options: { json?: boolean }, command: Command) => {
      await operator('rolling-restart', command.optsWithGlobals(), { rollout, json: options.json === true });
    });
  // The unit may well be written before the bot is deployed: the cluster program is not checked.
  sub('systemd', 'print a systemd unit that runs the supervisor on this config').action(async (_options: unknown, command: Command) => {
    process.stdout.write(
      systemdUnit(load(command.optsWithGlobals(), false), { node: process.execPath, cli: fileURLToPath(import.meta.url) }),
    );
    throw new Exit(0);
  });
  return mewld;
}

function lineCount(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError('a number of lines: 0, 1, ...');
  return Number(value);
}

function clusterIdArgument(value: string): string {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a cluster id is a whole number: 0, 1, ...');
  return value;
}

/** "mewld" or "mewld stop": who says an error, from the first word that names a command. */
function commandPath(root: Command, argv: string[]): string {
  const name = argv.find((word) => root.commands.some((c) => c.name() === word));
  return name ? `mewld ${name}` : 'mewld';
}

async function main(): Promise<number> {
  const { argv, inspect } = takeInspect(process.argv.slice(2));
  try {
    await program((loaded) => runSupervisor(loaded, inspect)).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof Exit) return err.code;
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; a usage error is exit 2, as a bad config is.
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
}

async function runSupervisor(loaded: LoadedConfig, inspect: number | undefined): Promise<number> {
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
