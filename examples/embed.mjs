#!/usr/bin/env node
// mewld embedded in a program of your own, as Anti-Raid embedded the Go mewld:
// the supervisor started from code, each cluster launched your way, and every
// action log entry handed to you as it is written (docs/migrating-from-go.md).
//
//   node examples/embed.mjs path/to/config.yaml
import { createLogger, loadConfig, startSupervisor } from 'mewld';

const loaded = loadConfig(process.argv[2] ?? 'config.yaml');
const logger = createLogger({ level: loaded.config.log_level ?? 'info' });

const supervisor = await startSupervisor(loaded, logger, {
  // What mewld would run, and then arguments and environment of our own: the cluster count and the
  // channel after the Go argv, as Anti-Raid's bot launcher passed them.
  launch: (cluster, command) => ({
    ...command,
    args: [...command.args, String(cluster.clusterCount), loaded.config.redis_channel],
    env: { ...command.env, EMBEDDED_BY: 'examples/embed.mjs' },
  }),
  // Where Anti-Raid posted its action logs to a Discord webhook; here, a line on stdout.
  onActionLog: (entry) => console.log(`action log: ${entry.event}${entry.id === undefined ? '' : ` (cluster ${entry.id})`}`),
});

// Ctrl-C or SIGTERM: every cluster stopped, as the mewld command does; a second one kills them at once.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => supervisor.actor.send({ type: 'command.shutdown' }));
const { exitCode } = await supervisor.done;
process.exit(exitCode);
