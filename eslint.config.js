// ESLint for mewld: the recommended rules, and the architecture of
// docs/architecture.md as rules whose messages say it. `npm run lint` runs
// this and Prettier's check; `npm run format` fixes what both can.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import ts from 'typescript';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------
// Layers: which folder of src may import which.
//
// no-restricted-imports sees only the specifier ('../adapters/logger.js'), and
// where a relative specifier lands depends on how deep the importing file is:
// so each layer gets one block per depth of its files (src/machines/*.ts,
// src/machines/*/*.ts, …), in which '../' taken (depth + 1) times reaches
// src/ and the next path segment is the folder of src imported. Imports that
// climb out of src (a unit test's ../../tests/helpers) are not the layers'
// business. no-restricted-imports does not look at import() (a dynamic
// import, or a type's import('…')): no-restricted-syntax does, with the same
// patterns and messages.
// ---------------------------------------------------------------------------

/** Deepest nesting of folders inside a layer that the layer rules cover (src/machines/a/b/c/d/e/f.ts). */
const DEPTHS = 6;
const TESTS = '**/*.test.ts';

/** A regex as esquery (no-restricted-syntax's selectors) takes it: between slashes, so none inside. */
const selectorRegex = (regex) => `/${regex.replaceAll('/', '\\x2F')}/`;

/**
 * The blocks for the layer src/<dir>: its relative imports may land only in
 * the folders (or files) of src named in `allow`, or anywhere but those in
 * `forbid`; `packages` (optional) are the patterns for packages, for its
 * files other than unit tests. `message` is the rule in words.
 */
function layer(dir, { allow, forbid, packages = [], message }) {
  const blocks = [];
  for (let depth = 0; depth < DEPTHS; depth++) {
    const toSrc = `^(?:\\.\\./){${depth + 1}}(?!\\.\\./)`;
    const landing = allow ? `(?!(?:${allow.join('|')})(?:/|$))` : `(?:${forbid.join('|')})(?:/|$)`;
    const relative = [{ regex: toSrc + landing, message }];
    const files = `src/${dir}/${'*/'.repeat(depth)}*.ts`;
    const rules = (patterns) => ({
      'no-restricted-imports': ['error', { patterns: patterns.map((p) => ({ caseSensitive: true, ...p })) }],
      'no-restricted-syntax': [
        'error',
        ...patterns.flatMap((p) =>
          // import('…') in a type is a type-only import: allowed where type imports are.
          ['ImportExpression', ...(p.allowTypeImports ? [] : ['TSImportType'])].map((node) => ({
            selector: `${node}[source.value=${selectorRegex(p.regex)}]`,
            message: p.message,
          })),
        ),
      ],
    });
    blocks.push(
      { name: `layers/${dir}/depth-${depth}`, files: [files], ignores: [TESTS], rules: rules([...relative, ...packages]) },
      { name: `layers/${dir}/depth-${depth}/tests`, files: [files.replace(/\*\.ts$/, '*.test.ts')], rules: rules(relative) },
    );
  }
  return blocks;
}

/** The src/index.ts barrel, which re-exports every layer (as the folder names below, a path segment of a regex). */
const BARREL = 'index\\.[jt]s';

const layers = [
  // 1.
  ...layer('machines', {
    allow: ['machines', 'interfaces', 'protocol', 'clusterMap'],
    message:
      'src/machines are pure statecharts: they import only xstate, src/interfaces, src/protocol, src/clusterMap and each other, ' +
      'never src/adapters, src/server, src/cli, src/supervisor or src/config (nor src/client, nor the src/index.ts barrel). ' +
      'Reach the world through a contract in src/interfaces.',
  }),
  // 2.
  ...layer('interfaces', {
    allow: ['interfaces', 'protocol', 'clusterMap'],
    message: 'src/interfaces are the contracts: they import only src/protocol, src/clusterMap and other interfaces.',
    packages: [
      {
        regex: '^(?:node:|xstate(?:/|$))',
        allowTypeImports: true,
        message: 'src/interfaces are the contracts: of node and xstate they import types only (import type).',
      },
      {
        regex: '^(?![./])(?!node:)(?!xstate(?:/|$))',
        message: 'src/interfaces are the contracts: of packages they import only the types of node and xstate.',
      },
    ],
  }),
  // 3.
  ...layer('adapters', {
    forbid: ['server', 'cli', 'supervisor', 'machines', BARREL],
    message:
      'src/adapters implement the contracts in src/interfaces: they may not import src/server, src/cli, src/supervisor or src/machines ' +
      '(nor the src/index.ts barrel, which re-exports them).',
  }),
  // 4.
  ...layer('client', {
    allow: ['client', 'protocol'],
    message: 'src/client (mewld/client) runs inside the bots, alone: of the project it imports only src/protocol.',
    packages: [
      {
        regex: '^(?![./])(?!node:)(?!ioredis$)',
        message: 'src/client (mewld/client) runs inside the bots, alone: of packages it imports only node builtins (node:…) and ioredis.',
      },
    ],
  }),
  // 5.
  ...layer('protocol', {
    allow: ['protocol'],
    message: 'src/protocol is the wire format under everything else: it imports nothing of the project outside src/protocol.',
  }),
];

// ---------------------------------------------------------------------------
// No import cycles in src. import-x/no-cycle (eslint-plugin-import-x 4.18,
// which runs on ESLint 10) skips every type-only import, and here most
// imports between modules are `import type` (verbatimModuleSyntax): a cycle
// of types would pass it. This rule counts every import: import, import type,
// export … from, import() and a type's import('…'). It follows relative
// specifiers only (src has no path aliases and does not import itself by
// package name), reading other files with TypeScript's import scanner.
// ---------------------------------------------------------------------------

/** file -> { mtimeMs, imports }: what each file imports (resolved), read again when it changes. */
const scanned = new Map();

/** The file a relative specifier names ('./x.js' is ./x.ts in TypeScript's NodeNext resolution), or null. */
function resolveRelative(from, specifier) {
  if (!/^\.\.?(?:\/|$)/.test(specifier)) return null;
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [
    base
      .replace(/\.js$/, '.ts')
      .replace(/\.mjs$/, '.mts')
      .replace(/\.cjs$/, '.cts'),
    base,
    `${base}.ts`,
    path.join(base, 'index.ts'),
  ];
  return candidates.find((file) => statSync(file, { throwIfNoEntry: false })?.isFile()) ?? null;
}

/** The files `file` imports, as on disk. */
function importsOf(file) {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) return [];
  const known = scanned.get(file);
  if (known?.mtimeMs === stat.mtimeMs) return known.imports;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const imports = [...new Set(importedFiles.map(({ fileName }) => resolveRelative(file, fileName)).filter(Boolean))];
  scanned.set(file, { mtimeMs: stat.mtimeMs, imports });
  return imports;
}

/** The shortest import path from `start` to `goal` ([start, …, goal]), or null if there is none. */
function importPath(start, goal) {
  const cameFrom = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    if (file === goal) {
      const route = [];
      for (let at = goal; at !== null; at = cameFrom.get(at)) route.unshift(at);
      return route;
    }
    for (const next of importsOf(file)) {
      if (!cameFrom.has(next)) {
        cameFrom.set(next, file);
        queue.push(next);
      }
    }
  }
  return null;
}

const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'No module may depend on itself through its imports, type-only imports included.' },
    schema: [],
    messages: {
      cycle:
        'Import cycle: {{chain}}. No module in src may depend on itself through its imports (type-only imports count). ' +
        'Move what both sides need into a module below both.',
    },
  },
  create(context) {
    const file = context.physicalFilename;
    const root = context.cwd;
    const check = (node) => {
      const specifier = node.source?.value;
      if (typeof specifier !== 'string') return;
      const target = resolveRelative(file, specifier);
      const route = target && importPath(target, file);
      if (route)
        context.report({ node, messageId: 'cycle', data: { chain: [file, ...route].map((f) => path.relative(root, f)).join(' → ') } });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
      TSImportType: check,
    };
  },
};

/** As TypeScript's noUnusedLocals/noUnusedParameters: a leading _ says "unused on purpose", and
 * `const { ts: _ts, ...rest } = entry` is how an object is copied without a key. */
const unusedVars = [
  'error',
  { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
];

export default defineConfig([
  globalIgnores(['dist/', 'tests/artifacts/', 'bench/tmp/', 'bench/results/', '.vitest-cache/']),

  // Everything: ESLint's recommended rules, in ES modules of today's syntax (bench/index.mjs imports JSON `with` a type).
  {
    files: ['**/*.{js,mjs,cjs,ts}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: { 'no-unused-vars': unusedVars },
  },
  // All but the dashboard runs on Node.
  {
    files: ['**/*.{js,mjs,cjs,ts}'],
    ignores: ['public/**'],
    languageOptions: { globals: globals.node },
  },
  // The dashboard runs in the browser, as a module (public/index.html).
  {
    files: ['public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  // CommonJS: the bench's stubs and the fixture a bot require()s the client from.
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },

  // TypeScript (src, tests, vitest.config.ts): typescript-eslint's recommended rules, all on.
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: { 'no-unused-vars': 'off', '@typescript-eslint/no-unused-vars': unusedVars },
  },

  // The architecture.
  ...layers,
  {
    name: 'layers/no-cycle',
    files: ['src/**/*.ts'],
    plugins: { architecture: { rules: { 'no-cycle': noCycle } } },
    rules: { 'architecture/no-cycle': 'error' },
  },
]);
