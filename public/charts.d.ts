// The types of charts.js, for its test and for TypeScript readers of the dashboard's module.

export interface SeriesPoint {
  t: number;
  latency_ms: number | null;
  guilds: number | null;
}

export interface Series {
  period_ms: number;
  points: SeriesPoint[];
}

export interface SparklineOptions {
  field?: 'latency_ms' | 'guilds';
  width?: number;
  height?: number;
  title?: string;
}

export function sparkline(series: Series, options?: SparklineOptions): string;
export function formatFigure(value: number): string;
