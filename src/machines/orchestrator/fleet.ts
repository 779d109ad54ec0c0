import type { FleetPolicy } from './types.js';

/**
 * Fleet protection's arithmetic (docs/operations.md, fleet protection): when
 * too many clusters die at once (a bad deploy), automatic restarts wait.
 */

/** More than crash_ratio of `clusters` down within the window, and at least two. */
export function fleetCrashing(policy: FleetPolicy, recentDowns: readonly number[], clusters: number): boolean {
  if (recentDowns.length < 2) return false;
  const down = new Set(recentDowns).size;
  return down >= 2 && down > policy.crashRatio * clusters;
}

/** How long the fleet's restarts stay paused: doubling with each pause in a row, up to 16 times the first. */
export const fleetPauseMs = (policy: FleetPolicy, pauses: number) => policy.pause * 2 ** Math.min(Math.max(pauses - 1, 0), 4);
