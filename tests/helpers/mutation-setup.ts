import { vi } from 'vitest';

/**
 * For mutation runs only (stryker.vitest.config.ts, docs/mutation.md): each
 * property test runs at most MUTATION_RUNS cases instead of its numRuns.
 * Property tests cover nearly every line of the machines, so every mutant
 * that survives the quick tests would otherwise cost each of them in full
 * (300 cases: half a minute, on a busy 2-core box, for each such mutant).
 * With the same seed, the cases run are the first of the full run's: fewer
 * mutants can be killed this way, never more, so the score is if anything
 * understated.
 */
const MUTATION_RUNS = 30;

vi.mock('fast-check', async (importOriginal) => {
  const fc = await importOriginal<typeof import('fast-check')>();
  const assert = ((property: Parameters<typeof fc.assert>[0], params?: Parameters<typeof fc.assert>[1]) =>
    fc.assert(property, { ...params, numRuns: Math.min(params?.numRuns ?? 100, MUTATION_RUNS) })) as typeof fc.assert;
  return { ...fc, assert, default: { ...fc.default, assert } };
});
