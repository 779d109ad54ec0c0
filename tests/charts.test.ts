import { describe, expect, it } from 'vitest';
import { formatFigure, sparkline, type Series } from '../public/charts.js';

/** The dashboard's sparklines (public/charts.js), run in Node: the module must need no DOM. */

const series = (values: (number | null)[], field: 'latency_ms' | 'guilds' = 'latency_ms'): Series => ({
  period_ms: 30_000,
  points: values.map((v, i) => ({ t: 1_000_000 + i * 30_000, latency_ms: null, guilds: null, [field]: v })),
});

const pathsOf = (svg: string) => [...svg.matchAll(/<path class="spark-line" d="([^"]+)"/g)].map((m) => m[1]!);
const dotsOf = (svg: string) => [...svg.matchAll(/<circle class="spark-dot"/g)].length;

describe('sparkline', () => {
  it('draws the series as one line across the width, with its min and max as labels and an accessible title', () => {
    const svg = sparkline(series([20, 25, 22.5]), { width: 200, height: 40, title: 'Latency of cluster 3' });
    expect(svg).toMatch(/^<svg [^>]*role="img"[^>]*>/);
    expect(svg).toContain('width="200" height="40" viewBox="0 0 200 40"');
    expect(svg).toContain('<title>Latency of cluster 3: min 20 ms, max 25 ms, last 22.5 ms</title>');
    expect(svg).toContain('aria-label="Latency of cluster 3: min 20 ms, max 25 ms, last 22.5 ms"');
    expect([...svg.matchAll(/<text class="spark-label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])).toEqual(['25', '20']);
    const [path, ...more] = pathsOf(svg);
    expect(more).toEqual([]);
    const coords = [...path!.matchAll(/([ML])([\d.]+) ([\d.]+)/g)].map((m) => [m[1], Number(m[2]), Number(m[3])] as const);
    expect(coords.map((c) => c[0])).toEqual(['M', 'L', 'L']);
    // Left to right in time, ending at the right edge (less a pad); the max at the top, the min at the bottom.
    expect(coords[0]![1]).toBeLessThan(coords[1]![1]);
    expect(coords[2]![1]).toBe(197);
    expect(coords[1]![2]).toBe(3);
    expect(coords[0]![2]).toBe(37);
    expect(svg).toMatch(/<\/svg>$/);
  });

  it('breaks the line at each gap (null), never drawing through it; a figure alone between gaps is a dot', () => {
    const svg = sparkline(series([1, 2, null, null, 3, 4, 5, null, 6]));
    const paths = pathsOf(svg);
    expect(paths).toHaveLength(2);
    expect(paths.map((d) => d.split(/[ML]/).length - 1)).toEqual([2, 3]);
    expect(dotsOf(svg)).toBe(1);
    // A series whose last sample is a gap says so.
    expect(sparkline(series([1, 2, null]))).toContain('last unknown');
  });

  it('draws guilds, with whole figures grouped for reading', () => {
    const svg = sparkline(series([12_000, 12_345], 'guilds'), { field: 'guilds' });
    expect(svg).toContain('<title>guilds: min 12,000, max 12,345, last 12,345</title>');
    expect(formatFigure(21.25)).toBe('21.3');
    expect(formatFigure(1234.5)).toBe('1,235');
  });

  it('has no line and says so when nothing is known, and a flat line when every figure is the same', () => {
    for (const empty of [series([]), series([null, null]), { period_ms: 30_000, points: [] }]) {
      const svg = sparkline(empty, { title: 'bot latency' });
      expect(svg).toContain('<title>bot latency: no figures</title>');
      expect(pathsOf(svg)).toEqual([]);
    }
    const flat = pathsOf(sparkline(series([7, 7, 7]), { height: 40 }))[0]!;
    expect(new Set([...flat.matchAll(/ ([\d.]+)/g)].map((m) => m[1]))).toEqual(new Set(['20']));
  });

  it('escapes what it is given to say, and draws nothing of what is not a figure', () => {
    const svg = sparkline(
      {
        period_ms: 1,
        points: [
          { t: 0, latency_ms: 1, guilds: null },
          { t: 1, latency_ms: Number.NaN, guilds: null },
        ],
      },
      { title: '<script>"x"&' },
    );
    expect(svg).toContain('&lt;script&gt;&quot;x&quot;&amp;');
    expect(svg).not.toContain('<script>');
    expect(dotsOf(svg)).toBe(1);
    expect(svg).not.toContain('style=');
  });
});
