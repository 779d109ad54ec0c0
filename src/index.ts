/**
 * mewld as a library: the machines (to inspect, test or embed), the config
 * loader, the protocol codec and the supervisor wiring. The CLI is src/cli.ts.
 */
export { buildClusterMap, clusterName, type ClusterSpec } from './clusterMap/index.js';
export { ConfigError, configSchema, loadConfig, parseConfig, workDir, type Config, type LoadedConfig } from './config/index.js';
export { instanceMachine, viewOf, refusal, type ClusterView, type InstanceInput, type ShardHealth } from './machines/instanceMachine.js';
export {
  orchestratorMachine,
  clusterViews,
  type BusCommand,
  type BusEvent,
  type Command,
  type CommandResult,
  type GatewayInfo,
  type OrchestratorInput,
} from './machines/orchestratorMachine.js';
export * as protocol from './protocol/index.js';
export { startSupervisor, orchestratorInput, type Supervisor } from './supervisor.js';
export type { Bus } from './adapters/bus.js';
export { createRedisBus } from './adapters/redisBus.js';
export { createIpcBus } from './adapters/ipcBus.js';
export { spawnCluster, launchCommand } from './adapters/clusterProcess.js';
export { fetchGateway, getGatewayBot } from './adapters/discordGateway.js';
export { createLogger } from './adapters/logger.js';
