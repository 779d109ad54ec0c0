// Writes the results table of bench/README.md from bench/results/latest.json:
// everything between the lines <!-- table:start --> and <!-- table:end --> is
// replaced by the run's date, commit and machine, a markdown table of every
// scenario row, and what each row measures. No dependencies; the same results
// always give the same bytes, so running it twice changes nothing.
//   node bench/table.mjs            rewrite the table in bench/README.md
//   node bench/table.mjs --check    exit 1 if the README's table is not what the results give
//   --results FILE, --readme FILE   other files than bench/results/latest.json and bench/README.md
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = dirname(fileURLToPath(import.meta.url));
const START = '<!-- table:start -->';
const END = '<!-- table:end -->';

/**
 * The build a run came from, for runs written before the results file recorded it
 * (bench/index.mjs has written a `commit` field since 2026-12-02): keyed by the run's `when`.
 */
const KNOWN_COMMITS = {
  '2026-11-27T12:02:15.682Z': '5c7ce93',
};

const { values: args } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    results: { type: 'string', default: join(BENCH, 'results/latest.json') },
    readme: { type: 'string', default: join(BENCH, 'README.md') },
  },
});

function fail(message, code = 2) {
  process.stderr.write(`bench/table.mjs: ${message}\n`);
  process.exit(code);
}

/** 50727.08 → "50,727", without depending on the runtime's locale data. */
const thousands = (n) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** A figure as bench/index.mjs prints it. */
function figure(value, unit) {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  if (unit === 'events/s') return thousands(value);
  if (unit === 'of trials') return String(value);
  return value.toFixed(value < 10 ? 2 : 1);
}

function ratio(row) {
  if (typeof row.ratio === 'number') return row.ratio.toFixed(2);
  if (typeof row.ours === 'number' && typeof row.theirs === 'number' && row.theirs !== 0) return (row.ours / row.theirs).toFixed(2);
  return '—';
}

const met = (row) => (row.met === undefined || row.met === null ? '—' : row.met ? 'yes' : 'NO');

/** A table cell: no line breaks, no unescaped pipes. */
const cell = (text) => String(text).replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();

/** A markdown table with its columns padded to one width, as prettier lays them out. */
function markdownTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => [...r[i]].length)));
  const line = (r) => `| ${r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' | ')} |`;
  return [line(all[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...all.slice(1).map(line)].join('\n');
}

/** Words wrapped at 80 columns, continuation lines indented by `indent`. */
function wrap(text, first = '', indent = '') {
  const lines = [];
  let line = first;
  for (const word of String(text).split(/\s+/).filter(Boolean)) {
    const start = line === first || line === indent;
    if (!start && line.length + 1 + word.length > 80) {
      lines.push(line);
      line = indent + word;
    } else {
      line += (start ? '' : ' ') + word;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

function describeRun(results, resultsPath) {
  const when = typeof results.when === 'string' ? results.when : undefined;
  const commit = results.commit ?? (when ? KNOWN_COMMITS[when] : undefined);
  const m = results.machine ?? {};
  const load = Array.isArray(m.load_average_at_start) ? m.load_average_at_start[0] : undefined;
  const machine = [
    m.cpus !== undefined ? `${m.cpus} CPUs${m.cpu_model ? ` (${m.cpu_model})` : ''}` : undefined,
    m.memory_gib !== undefined ? `${m.memory_gib} GiB` : undefined,
    m.node ? `Node ${m.node}` : undefined,
    m.platform,
    load !== undefined ? `load average ${load} at start` : undefined,
  ].filter(Boolean);
  const versions = Object.entries(results.versions ?? {}).map(([name, version]) => `${name} ${version}`);
  const parts = [
    `From [${relative(BENCH, resultsPath)}](${relative(BENCH, resultsPath)}):`,
    `the run of ${when ? `${when.slice(0, 10)} (${when.slice(11, 19)} UTC)` : 'an unrecorded date'},`,
    commit ? `at commit ${commit};` : 'at a commit the results file does not record;',
    results.smoke ? 'a smoke run (one small trial, not for comparison);' : '',
    results.trials !== undefined ? `${results.trials} trials per side, medians;` : '',
    results.seconds !== undefined ? `${results.seconds} s in all;` : '',
    machine.length ? `${machine.join(', ')}.` : '',
    versions.length ? `Compared: ${versions.join(', ')}.` : '',
  ];
  return wrap(parts.filter(Boolean).join(' '));
}

function render(results, resultsPath) {
  const rows = Array.isArray(results.rows) ? results.rows : fail(`${resultsPath} has no rows`);
  const table = markdownTable(
    ['scenario', 'unit', 'ours', 'theirs', 'ours/theirs', 'target', 'met'],
    rows.map((r) => [r.name, r.unit ?? '', figure(r.ours, r.unit), figure(r.theirs, r.unit), ratio(r), r.target ?? '—', met(r)]),
  );
  const how = rows
    .filter((r) => r.how)
    .map((r) => wrap(`**${r.name}**${r.seconds !== undefined ? ` (${r.seconds} s)` : ''}: ${r.how}`, '- ', '  '));
  return [
    START,
    `<!-- Written by \`node bench/table.mjs\` from ${relative(BENCH, resultsPath)}: do not edit by hand. -->`,
    '',
    describeRun(results, resultsPath),
    '',
    table,
    '',
    wrap('What each row measures, as the results file says (with the seconds its scenario took):'),
    '',
    ...how,
    '',
    END,
  ].join('\n');
}

let results;
try {
  results = JSON.parse(readFileSync(args.results, 'utf8'));
} catch (err) {
  fail(`cannot read ${args.results}: ${err.message}`);
}
let readme;
try {
  readme = readFileSync(args.readme, 'utf8');
} catch (err) {
  fail(`cannot read ${args.readme}: ${err.message}`);
}

const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start === -1 || end === -1 || end < start) fail(`${args.readme} must hold the lines ${START} and ${END}, in that order`);
const updated = readme.slice(0, start) + render(results, args.results) + readme.slice(end + END.length);

if (args.check) {
  if (updated !== readme) {
    process.stderr.write(`bench/table.mjs: the table in ${args.readme} is out of date: run node bench/table.mjs\n`);
    process.exit(1);
  }
  process.stdout.write(`the table in ${args.readme} is up to date\n`);
} else if (updated !== readme) {
  writeFileSync(args.readme, updated);
  process.stdout.write(`wrote the table in ${args.readme}\n`);
} else {
  process.stdout.write(`the table in ${args.readme} was already up to date\n`);
}
