// Sparklines for the dashboard's charts: a time series of GET /api/history or
// /api/clusters/:id/history ({period_ms, points: [{t, latency_ms, guilds}]})
// as an inline SVG string. Plain ES module, no dependency, no DOM: it runs in
// the browser and in Node alike (tests/charts.test.ts). A null figure (no
// current diagnostic, or the supervisor not running) is a gap: the line
// breaks there, it is never drawn through. No style attributes (the page's
// Content-Security-Policy refuses inline styles): presentation attributes and
// classes (spark, spark-line, spark-dot, spark-label) for the page's CSS.

const FIELDS = {
  latency_ms: { name: 'latency', unit: ' ms' },
  guilds: { name: 'guilds', unit: '' },
};

const escapeXml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** A figure as a label says it: whole above 100, else to one decimal. */
export function formatFigure(value) {
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
  return rounded.toLocaleString('en-US');
}

const isFigure = (v) => typeof v === 'number' && Number.isFinite(v);
const coordinate = (n) => String(Math.round(n * 10) / 10);

/**
 * The series' `field` (latency_ms or guilds) as an SVG sparkline: a string of
 * markup to put in the page. Options: width and height (px), title (what the
 * chart is of, for screen readers and the tooltip; said with the min, max and
 * last figures).
 *
 * @param {{period_ms: number, points: {t: number, latency_ms: number|null, guilds: number|null}[]}} series
 * @param {{field?: 'latency_ms'|'guilds', width?: number, height?: number, title?: string}} [options]
 * @returns {string}
 */
export function sparkline(series, options = {}) {
  const field = options.field ?? 'latency_ms';
  const { name, unit } = FIELDS[field];
  const width = options.width ?? 240;
  const height = options.height ?? 48;
  const points = (series?.points ?? []).filter((p) => Number.isFinite(p.t));
  const known = points.filter((p) => isFigure(p[field]));
  const values = known.map((p) => p[field]);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const what = options.title ?? name;
  const said =
    known.length === 0
      ? `${what}: no figures`
      : `${what}: min ${formatFigure(min)}${unit}, max ${formatFigure(max)}${unit}, last ${
          isFigure(points.at(-1)[field]) ? `${formatFigure(points.at(-1)[field])}${unit}` : 'unknown'
        }`;
  const open = `<svg xmlns="http://www.w3.org/2000/svg" class="spark" role="img" aria-label="${escapeXml(said)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${escapeXml(said)}</title>`;
  if (known.length === 0) return `${open}</svg>`;

  // Room for the labels on the left; the line within a pad of the edges.
  const labelWidth = 6 * Math.max(formatFigure(max).length, formatFigure(min).length) + 4;
  const pad = 3;
  const left = labelWidth + pad;
  const plotWidth = Math.max(1, width - left - pad);
  const plotHeight = Math.max(1, height - 2 * pad);
  const t0 = points[0].t;
  const span = points.at(-1).t - t0;
  const x = (t) => left + (span === 0 ? plotWidth : ((t - t0) / span) * plotWidth);
  // A flat series is drawn across the middle.
  const y = (v) => pad + (max === min ? plotHeight / 2 : ((max - v) / (max - min)) * plotHeight);

  // Runs of known figures: each a line; a run of one, a dot.
  const runs = [];
  let run = [];
  for (const p of points) {
    if (isFigure(p[field])) run.push(p);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  const marks = runs.map((r) =>
    r.length === 1
      ? `<circle class="spark-dot" cx="${coordinate(x(r[0].t))}" cy="${coordinate(y(r[0][field]))}" r="1.5" fill="currentColor"/>`
      : `<path class="spark-line" d="${r.map((p, i) => `${i === 0 ? 'M' : 'L'}${coordinate(x(p.t))} ${coordinate(y(p[field]))}`).join(' ')}" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"/>`,
  );
  const label = (text, yPos, baseline) =>
    `<text class="spark-label" x="0" y="${yPos}" dominant-baseline="${baseline}" font-size="10" fill="currentColor">${escapeXml(text)}</text>`;
  return `${open}${label(formatFigure(max), pad, 'hanging')}${label(formatFigure(min), height - pad, 'auto')}${marks.join('')}</svg>`;
}
