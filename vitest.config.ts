import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The slow suites first, the unit suites last, so that a clean clone (no timings
 * cached yet; vitest would then run the largest files first) does not end with a
 * minute-long file running alone while the other worker idles. Within a group,
 * vitest's own order (cached durations, longest first).
 */
const FIRST = ['tests/bench/', 'tests/faults/', 'tests/integration/', 'tests/compat/', 'tests/browser/', 'tests/'];
const rank = (spec: TestSpecification) => {
  const path = relative(spec.project.config.root, spec.moduleId);
  const i = FIRST.findIndex((prefix) => path.startsWith(prefix));
  return i === -1 ? FIRST.length : i;
};

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real redis-servers and cluster processes, and mostly wait on them: on the
    // 2-core CI box, two files at a time left the CPU half idle (vitest 230 s); three take 171 s, and the
    // suite is held to pass five runs in a row beside two CPU-burning processes (docs/testing.md).
    maxWorkers: 3,
    sequence: { sequencer: SlowFirst },
  },
});
