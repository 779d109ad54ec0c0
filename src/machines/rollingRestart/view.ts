import type { RollingRestartSnapshot } from './machine.js';

/** Where a rolling restart is, by its state's tag: what the API, the live stream, the CLI and the dashboard show. */
export const ROLLOUT_STATES = ['restarting', 'pausing', 'paused', 'done', 'cancelled'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** A rolling restart's progress. */
export interface RolloutView {
  state: RolloutState;
  /** Clusters it restarts in all. */
  total: number;
  /** Clusters it has finished with: up again, or given up on (down, stopped, failed, not restartable). */
  done: number;
  /** The cluster restarting now; null between clusters, paused, or over. */
  current: number | null;
}

export function rolloutViewOf(snapshot: RollingRestartSnapshot): RolloutView {
  const { total, done, current } = snapshot.context;
  return { state: ROLLOUT_STATES.find((tag) => snapshot.hasTag(tag)) ?? 'restarting', total, done: done.length, current };
}

/** A rolling restart's progress in one line, as `mewld rolling-restart status` prints it. */
export function describeRollout(view: RolloutView): string {
  const count = `${view.done} of ${view.total} clusters restarted`;
  switch (view.state) {
    case 'restarting':
      return `rolling restart: ${count}${view.current === null ? '' : `, cluster ${view.current} restarting`}`;
    case 'pausing':
      return `rolling restart: pausing once cluster ${view.current} is back, ${count}`;
    case 'paused':
      return `rolling restart: paused, ${count} (mewld rolling-restart resume, or cancel)`;
    case 'done':
      return `rolling restart: done, ${count}`;
    case 'cancelled':
      return `rolling restart: cancelled, ${count}`;
  }
}
