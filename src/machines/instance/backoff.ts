import type { RestartPolicy } from './types.js';

/** mulberry32: a tiny deterministic PRNG, so that jitter keeps the machine pure. Returns [a number in [0, 1), the next state]. */
export function nextRandom(seed: number): [number, number] {
  const t = (seed + 0x6d2b79f5) | 0;
  let r = Math.imul(t ^ (t >>> 15), t | 1);
  r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
  return [((r ^ (r >>> 14)) >>> 0) / 4294967296, t];
}

/** The delay before restart number `attempt` (0-based), with jitter in [-j, +j]. */
export function backoffDelay(policy: RestartPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.backoffMax, policy.backoffInitial * policy.backoffFactor ** attempt);
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random - 1))));
}

/** Automatic restarts at `times` (ms) still inside the policy's `within` window at `at`. */
export const restartsWithin = (policy: RestartPolicy, times: readonly number[], at: number) => times.filter((t) => t > at - policy.within);
