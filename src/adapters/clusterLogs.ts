import type { ClusterLogLine, ClusterLogs } from '../interfaces/clusterLogs.js';

/**
 * Each cluster's last `size` lines in a ring (a fixed array and where the
 * next line goes): a cluster that prints without pause costs the same memory
 * as a quiet one, and a line costs no copy of the others.
 */
export function createClusterLogs(size: number): ClusterLogs {
  const rings = new Map<number, { lines: ClusterLogLine[]; next: number }>();
  const followers = new Map<number, Set<(line: ClusterLogLine) => void>>();
  return {
    push(id, line) {
      let ring = rings.get(id);
      if (!ring) rings.set(id, (ring = { lines: [], next: 0 }));
      if (ring.lines.length < size) ring.lines.push(line);
      else ring.lines[ring.next] = line;
      ring.next = (ring.next + 1) % size;
      for (const listener of followers.get(id) ?? []) listener(line);
    },
    recent(id, limit = size) {
      const ring = rings.get(id);
      if (!ring || limit <= 0) return [];
      const ordered = ring.lines.length < size ? ring.lines : [...ring.lines.slice(ring.next), ...ring.lines.slice(0, ring.next)];
      return ordered.slice(-limit);
    },
    follow(id, listener) {
      let set = followers.get(id);
      if (!set) followers.set(id, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) followers.delete(id);
      };
    },
  };
}
