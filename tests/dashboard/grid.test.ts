import { describe, expect, it } from 'vitest';
// @ts-expect-error: the dashboard's plain JavaScript, served as it is (no build step, no types).
import { layoutGrid, rowsBetween, rowOf, isProblem } from '../../public/grid.js';

/** The dashboard's grid layout (public/grid.js), as the page uses it: in pixels, for the clusters the filters let through. */

const TILE = { minWidth: 190, height: 104, gap: 10, headerHeight: 34 };
const cluster = (id: number, over: Record<string, unknown> = {}) => ({
  id,
  name: `Cluster ${id}`,
  group: 'up',
  node: 'a',
  restarts: 0,
  restarts_by_cause: { crash: 0, hang: 0, operator: 0, rollout: 0 },
  health: { latency: 40 },
  ...over,
});
type Row = { top: number; height: number; ids?: number[]; header?: { key: string; count: number } };
type Layout = { rows: Row[]; columns: number; tileWidth: number; height: number };
const layout = (clusters: unknown[], options: Record<string, unknown> = {}) =>
  layoutGrid(clusters, { width: 1000, tile: TILE, ...options }) as Layout;

describe('the grid layout', () => {
  it('fills the width with as many columns as fit, rows of them, and is as tall as its rows', () => {
    const grid = layout(Array.from({ length: 1000 }, (_, id) => cluster(id)));
    // (1000 + 10) / (190 + 10) = 5 columns of (1000 - 40) / 5 = 192 px.
    expect(grid.columns).toBe(5);
    expect(grid.tileWidth).toBe(192);
    expect(grid.rows).toHaveLength(200);
    expect(grid.rows[1]).toEqual({ top: 114, height: 104, ids: [5, 6, 7, 8, 9] });
    expect(grid.height).toBe(200 * 114 - 10);
    expect(layout([cluster(0)], { width: 100 }).columns).toBe(1);
  });

  it('puts in the page only the rows that reach into the part on screen', () => {
    const { rows } = layout(Array.from({ length: 1000 }, (_, id) => cluster(id)));
    const shown = rowsBetween(rows, 1000, 1500) as Row[];
    expect(shown.map((r) => r.top)).toEqual([912, 1026, 1140, 1254, 1368, 1482]);
    expect(rowsBetween(rows, -400, 0)).toEqual([rows[0]]);
    expect(rowsBetween(rows, 1e9, 1e9 + 800)).toEqual([]);
    expect((rowOf(rows, 999) as Row).top).toBe(199 * 114);
    expect(rowOf(rows, 1000)).toBeUndefined();
  });

  it('groups by state, worst first, each section under its header with its count', () => {
    const clusters = [
      cluster(0),
      cluster(1, { group: 'failed' }),
      cluster(2, { group: 'dead' }),
      cluster(3),
      cluster(4, { group: 'failed' }),
    ];
    const { rows } = layout(clusters, { groupBy: 'state', width: 400 });
    expect(rows.map((r) => r.header ?? r.ids)).toEqual([
      { key: 'failed', count: 2 },
      [1, 4],
      { key: 'dead', count: 1 },
      [2],
      { key: 'up', count: 2 },
      [0, 3],
    ]);
    expect(rows.map((r) => r.top)).toEqual([0, 34, 148, 182, 296, 330]);
    expect(layout([cluster(0, { node: 'b' }), cluster(1)], { groupBy: 'node' }).rows.map((r) => r.header?.key ?? r.ids)).toEqual([
      'a',
      [1],
      'b',
      [0],
    ]);
  });

  it('sorts by name, problems first, slowest first (unknown latency last) and most crashes first, the id breaking ties', () => {
    const clusters = [
      cluster(0, { name: 'b', health: null }),
      cluster(1, { name: 'a', group: 'backoff', restarts_by_cause: { crash: 1, hang: 2, operator: 0, rollout: 0 }, restarts: 3 }),
      cluster(2, { name: 'c', health: { latency: 90 }, restarts_by_cause: { crash: 0, hang: 0, operator: 5, rollout: 0 }, restarts: 5 }),
      cluster(3, { name: 'a', group: 'failed' }),
    ];
    const order = (sort: string) => layout(clusters, { sort, width: 2000 }).rows[0]!.ids;
    expect(order('id')).toEqual([0, 1, 2, 3]);
    expect(order('name')).toEqual([1, 3, 0, 2]);
    expect(order('problems')).toEqual([3, 1, 0, 2]);
    expect(order('latency')).toEqual([2, 1, 3, 0]);
    expect(order('restarts')).toEqual([1, 2, 0, 3]);
    expect(clusters.map(isProblem)).toEqual([false, true, false, true]);
  });
});
