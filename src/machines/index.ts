/**
 * The machines, as the rest of the supervisor sees them: the root
 * orchestrator (which spawns and invokes the others), the views and rules read
 * off their snapshots, and their types. Nothing here does I/O.
 */
export { instanceMachine, OVERDUE_LIMIT_MS, type InstanceSnapshot, type InstanceState } from './instance/machine.js';
export { viewOf, refusal } from './instance/view.js';
export { backoffDelay } from './instance/backoff.js';
export type { InstanceInput, InstanceTiming, RestartPolicy, InstanceReport, InstanceTag } from './instance/types.js';
export { launchSlotMachine, type LaunchSlotSnapshot } from './launchSlot/machine.js';
export { identifyBuckets, nextWave } from './launchSlot/waves.js';
export { rollingRestartMachine } from './rollingRestart/machine.js';
export { orchestratorMachine, bucketsOf, type OrchestratorSnapshot } from './orchestrator/machine.js';
export { fleetPauseMs } from './orchestrator/fleet.js';
export { PHASES, type Phase, type OrchestratorInput, type OrchestratorOutput, type FleetPolicy } from './orchestrator/types.js';
export { describeRollout, rolloutViewOf, ROLLOUT_STATES, type RolloutView, type RolloutState } from './rollingRestart/view.js';
export type { RollingRestartSnapshot } from './rollingRestart/machine.js';
