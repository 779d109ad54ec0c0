/**
 * mewld as a library: the machines (to inspect, test or embed), the
 * contracts between them and the adapters, the config loader, the protocol
 * codec and the supervisor wiring. The CLI is src/cli/.
 */
export { buildClusterMap, clusterName, type ClusterSpec } from './clusterMap/index.js';
export { ConfigError, configSchema, loadConfig, parseConfig, workDir, type Config, type LoadedConfig } from './config/index.js';
export * from './machines/index.js';
export type { BusCommand, BusEvent, BusToInstance } from './interfaces/bus.js';
export type { BusAdapter, ClusterLink, ActionLogStore } from './interfaces/busAdapter.js';
export type { ClusterView, InstanceGroup } from './interfaces/clusterView.js';
export type { ProcessCommand, ProcessEvent, ProcessInput } from './interfaces/clusterProcess.js';
export type { Command, CommandResult, CommandReply } from './interfaces/commands.js';
export type { GatewayInfo } from './interfaces/gateway.js';
export * as protocol from './protocol/index.js';
export type { ShardHealth } from './protocol/index.js';
export { startSupervisor, orchestratorInput, type Supervisor, type SupervisorOptions } from './supervisor/index.js';
export { createRedisBus } from './adapters/bus/redis.js';
export { createIpcBus } from './adapters/bus/ipc.js';
export { spawnCluster, launchCommand, type LaunchCommand, type LaunchCustomizer } from './adapters/clusterProcess.js';
export { fetchGateway, getGatewayBot } from './adapters/discordGateway.js';
export { createLogger } from './adapters/logger.js';
