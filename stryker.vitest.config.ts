import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The vitest config Stryker runs (stryker.config.json, docs/mutation.md): the
 * project's own, with only the unit tests beside the sources (src/**\/*.test.ts),
 * not the integration, fault and browser tests under tests/.
 *
 * Left out: src/server/node.test.ts. It relies on JSON.stringify throwing a
 * RangeError for an entry 5,000 arrays deep, which holds on Node's main
 * thread but not in the worker threads Stryker's vitest runner uses (their
 * stack is larger); and it tests the web server, which is not mutated.
 *
 * tests/helpers/mutation-setup.ts caps the cases of each property test.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['src/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'src/server/node.test.ts'],
    setupFiles: ['tests/helpers/mutation-setup.ts'],
  },
});
