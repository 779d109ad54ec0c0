// The dashboard's cluster grid as numbers: which clusters are shown, in which
// order and sections, and where each tile and section header goes. A pure
// module (no DOM), so that the page can put in the document only the tiles on
// screen, and the layout is tested in Node (tests/dashboard/grid.test.ts).

/** The states' groups from worst to best: the order of "problems first" and of the sections by state. */
export const PROBLEM_ORDER = ['failed', 'dead', 'backoff', 'stopping', 'starting', 'stopped', 'idle', 'up'];

/** What a cluster restarted for without being asked: crashes and hangs. */
export const unplannedRestarts = (c) => (c.restarts_by_cause?.crash ?? 0) + (c.restarts_by_cause?.hang ?? 0);

const latency = (c) => c.health?.latency ?? null;
const byId = (a, b) => a.id - b.id;

/** The orders the page offers, each ending on the id so that equal clusters keep their places. */
export const SORTS = {
  id: byId,
  name: (a, b) => a.name.localeCompare(b.name) || byId(a, b),
  problems: (a, b) => PROBLEM_ORDER.indexOf(a.group) - PROBLEM_ORDER.indexOf(b.group) || byId(a, b),
  // Slowest first; clusters with no current latency last.
  latency: (a, b) => (latency(b) ?? -1) - (latency(a) ?? -1) || byId(a, b),
  restarts: (a, b) => unplannedRestarts(b) - unplannedRestarts(a) || b.restarts - a.restarts || byId(a, b),
};

/** The sections the page offers: a cluster's section key, and the sections' order. */
export const GROUPINGS = {
  none: { key: () => null, order: () => 0 },
  state: { key: (c) => c.group, order: (a, b) => PROBLEM_ORDER.indexOf(a) - PROBLEM_ORDER.indexOf(b) },
  node: { key: (c) => c.node ?? '', order: (a, b) => String(a).localeCompare(String(b)) },
};

/** A problem: a cluster that is not serving and not on its way back by itself, or that crashes. */
export const isProblem = (c) => c.group === 'failed' || c.group === 'dead' || c.group === 'backoff';

/**
 * Lays out `clusters` (already filtered) in `width` pixels: rows of tiles,
 * each section (when grouped) after a header row. Every row has its `top`
 * and `height` in pixels; a tile row has the ids of its tiles, in order.
 */
export function layoutGrid(clusters, { width, sort = 'id', groupBy = 'none', tile }) {
  const columns = Math.max(1, Math.floor((width + tile.gap) / (tile.minWidth + tile.gap)));
  const tileWidth = Math.max(tile.minWidth, (width - (columns - 1) * tile.gap) / columns);
  const grouping = GROUPINGS[groupBy] ?? GROUPINGS.none;
  const sections = new Map();
  for (const c of [...clusters].sort(SORTS[sort] ?? SORTS.id)) {
    const key = grouping.key(c);
    if (!sections.has(key)) sections.set(key, []);
    sections.get(key).push(c.id);
  }
  const rows = [];
  let top = 0;
  for (const [key, ids] of [...sections].sort(([a], [b]) => grouping.order(a, b))) {
    if (key !== null) {
      rows.push({ top, height: tile.headerHeight, header: { key, count: ids.length } });
      top += tile.headerHeight;
    }
    for (let i = 0; i < ids.length; i += columns) {
      rows.push({ top, height: tile.height, ids: ids.slice(i, i + columns) });
      top += tile.height + tile.gap;
    }
  }
  return { rows, columns, tileWidth, height: Math.max(0, top - (rows.at(-1)?.ids ? tile.gap : 0)) };
}

/** The rows that reach into [from, to] (pixels from the grid's top): the ones to put in the page. */
export function rowsBetween(rows, from, to) {
  // Rows are in order of top: find the first that ends after `from`, then take while they start before `to`.
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].top + rows[mid].height < from) lo = mid + 1;
    else hi = mid;
  }
  const out = [];
  for (let i = lo; i < rows.length && rows[i].top <= to; i++) out.push(rows[i]);
  return out;
}

/** Where cluster `id` is: its row, or undefined when it is not shown. */
export const rowOf = (rows, id) => rows.find((row) => row.ids?.includes(id));
