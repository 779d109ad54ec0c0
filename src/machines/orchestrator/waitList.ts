/**
 * The clusters a shutdown still waits for: a set of cluster ids, immutable
 * as XState's context must be, kept in groups of consecutive ids so that
 * crossing one off copies its group and the list of groups, not every id.
 * Each of K clusters reports once, and a copy of a list of all of them on
 * each report made the shutdown O(K²): at 10,000 clusters, about 2 s of CPU
 * with filter(), and still 0.7 s with a native copy (toSpliced).
 */
export type WaitList = readonly (readonly number[])[];

/** Ids per group: 10,000 clusters make 79 groups. */
const GROUP = 128;

const groupOf = (id: number) => Math.floor(id / GROUP);

/** Waiting for each of `ids` (cluster ids: integers from 0). */
export function waitFor(ids: readonly number[]): WaitList {
  const groups: number[][] = [];
  for (const id of ids) (groups[groupOf(id)] ??= []).push(id);
  return Array.from(groups, (group) => group ?? []);
}

/** `id` crossed off: the same list when it was not waited for (a cluster that reports again changes nothing). */
export function crossOff(list: WaitList, id: number): WaitList {
  const g = groupOf(id);
  const at = list[g]?.indexOf(id) ?? -1;
  return at < 0 ? list : list.with(g, list[g]!.toSpliced(at, 1));
}

export const nobodyLeft = (list: WaitList) => list.every((group) => group.length === 0);

/** The ids still waited for, in the order they were given (ascending, for cluster ids in order). */
export const stillAwaited = (list: WaitList): number[] => list.flat();
