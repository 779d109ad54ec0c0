import { CLUSTER_ACTIONS, type ClusterAction } from '../../interfaces/commands.js';
import { INSTANCE_GROUPS, type ClusterView } from '../../interfaces/clusterView.js';
import type { InstanceView } from './types.js';

/**
 * What operators see of a cluster, from its Instance snapshot: the bus's
 * statuses, the HTTP API, the live stream and metrics all show this view.
 */

// Snapshots are immutable: one view per snapshot serves every reader until the cluster changes.
const views = new WeakMap<InstanceView, ClusterView>();

export function viewOf(snapshot: InstanceView): ClusterView {
  let view = views.get(snapshot);
  if (!view) views.set(snapshot, (view = computeView(snapshot)));
  return view;
}

function computeView(snapshot: InstanceView): ClusterView {
  const c = snapshot.context;
  const { cluster } = c.input;
  const state = String(snapshot.value);
  const down = snapshot.hasTag('dead') || snapshot.hasTag('backoff') || snapshot.hasTag('failed');
  return {
    id: cluster.id,
    name: cluster.name,
    shards: cluster.shards,
    state,
    group: INSTANCE_GROUPS.find((g) => snapshot.hasTag(g))!,
    up: snapshot.hasTag('up'),
    allowed: allowedCommands(snapshot),
    active: c.pid !== null,
    pid: c.pid,
    started_at: c.startedAt,
    up_at: c.upAt,
    // Every launch after the first is counted by its cause, earlier runs' included.
    restarts: c.restarts.byCause.crash + c.restarts.byCause.hang + c.restarts.byCause.operator + c.restarts.byCause.rollout,
    restarts_by_cause: c.restarts.byCause,
    last_diag: c.diag.last,
    health_fresh: c.diag.fresh && snapshot.hasTag('up'),
    last_exit: c.lastExit,
    down_reason: down ? c.downReason : null,
    backoff_ms: snapshot.hasTag('backoff') ? c.restarts.backoffMs : null,
    failed_reason: snapshot.hasTag('failed') ? c.failedReason : null,
  };
}

/** Why an operator command cannot be carried out in this state, or null when it can: the one place that says. */
export function refusal(command: ClusterAction, snapshot: InstanceView): string | null {
  const state = String(snapshot.value);
  const who = `cluster ${snapshot.context.input.cluster.id}`;
  switch (command) {
    case 'start':
      if (snapshot.hasTag('idle') || snapshot.hasTag('stopped') || snapshot.hasTag('failed') || snapshot.hasTag('backoff')) return null;
      if (state === 'dead') return `${who} is dead and will restart by itself once its process is gone`;
      if (state === 'stopping') return `${who} is stopping; start it once it has stopped`;
      return `${who} is already ${state === 'queued' ? 'queued to start' : state === 'restarting' ? 'restarting' : 'running'} (${state})`;
    case 'stop':
      return state === 'stopped' ? `${who} is already stopped` : state === 'stopping' ? `${who} is already stopping` : null;
    case 'restart':
      // A process that is up or on its way up (not one waiting in the queue, dying, or already restarting).
      if (snapshot.hasTag('alive') && (snapshot.hasTag('up') || snapshot.hasTag('starting'))) return null;
      return `${who} is not running (${state}); use start`;
  }
}

// One array per combination, shared: views are compared field by field, by reference.
const allowedLists = new Map<string, ClusterAction[]>();

/** The commands refusal() lets through in this state. */
function allowedCommands(snapshot: InstanceView): ClusterAction[] {
  const allowed = CLUSTER_ACTIONS.filter((command) => refusal(command, snapshot) === null);
  const key = allowed.join();
  let shared = allowedLists.get(key);
  if (!shared) allowedLists.set(key, (shared = allowed));
  return shared;
}
