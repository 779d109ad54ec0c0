// dist/cjs holds mewld/client built as CommonJS, for bots that require() it;
// the package is "type": "module", so that folder says otherwise for itself.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), `${JSON.stringify({ type: 'commonjs' })}\n`);
