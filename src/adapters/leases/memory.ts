import type { Lease, LeaseStore } from '../../interfaces/leases.js';

/**
 * Leases in this process, on a clock it is given: a supervisor alone (one
 * node) needs no Redis to hold its own clusters, and the machines' tests run
 * on a simulated clock. The same contract as the Redis store, checked by the
 * same suite (tests/leases.conformance.test.ts).
 */
export function memoryLeaseStore(now: () => number = Date.now): LeaseStore {
  const leases = new Map<string, Lease & { until: number }>();
  const fences = new Map<string, number>();
  const live = (name: string) => {
    const held = leases.get(name);
    if (held && held.until <= now()) leases.delete(name);
    return leases.get(name);
  };
  const mine = (name: string, holder: string, fence: number) => {
    const held = live(name);
    return held !== undefined && held.holder === holder && held.fence === fence;
  };
  return {
    async acquire(name, holder, ttlMs) {
      if (live(name)) return null;
      const fence = (fences.get(name) ?? 0) + 1;
      fences.set(name, fence);
      leases.set(name, { holder, fence, until: now() + ttlMs });
      return fence;
    },
    async renew(name, holder, fence, ttlMs) {
      if (!mine(name, holder, fence)) return false;
      leases.get(name)!.until = now() + ttlMs;
      return true;
    },
    async reassert(name, holder, fence, ttlMs) {
      if (mine(name, holder, fence)) return this.renew(name, holder, fence, ttlMs);
      if (live(name) || (fences.get(name) ?? 0) > fence) return false;
      fences.set(name, fence);
      leases.set(name, { holder, fence, until: now() + ttlMs });
      return true;
    },
    async release(name, holder, fence) {
      if (!mine(name, holder, fence)) return false;
      leases.delete(name);
      return true;
    },
    async read(name) {
      const held = live(name);
      return held ? { holder: held.holder, fence: held.fence } : null;
    },
  };
}
