import type { SavedSeries } from '../interfaces/history.js';
import type { ShardHealth } from '../protocol/index.js';
import { healthSummary } from '../protocol/index.js';

/**
 * The charts' time series: the mean shard latency and the guild count, of a
 * cluster or of the whole bot, sampled every `period` over the last hour.
 * Pure: the caller says when (src/server/history.ts samples on a timer).
 * Only current figures are sampled (currentHealth); a cluster without them,
 * or a time the supervisor was not running, is a gap (null), never an old
 * figure carried on.
 */

export interface Sample {
  latency_ms: number | null;
  guilds: number | null;
}

export interface SeriesPoint extends Sample {
  /** Unix ms, a multiple of the period. */
  t: number;
}

/** What GET /api/history and /api/clusters/:id/history answer of a series. */
export interface SeriesView {
  period_ms: number;
  points: SeriesPoint[];
}

/** The window the charts show. */
export const SERIES_WINDOW_MS = 3_600_000;
/** At most this many samples a series, whatever the period (a period under a second keeps less than an hour). */
export const MAX_POINTS = 3_600;

/** How many samples a series of this period keeps: an hour's, at most MAX_POINTS. */
export const capacityFor = (periodMs: number) => Math.max(1, Math.min(MAX_POINTS, Math.ceil(SERIES_WINDOW_MS / periodMs)));

/** The sample time `now` falls in: every series is sampled at the same times. */
export const sampleTime = (now: number, periodMs: number) => Math.floor(now / periodMs) * periodMs;

/**
 * One sample from the current health of some clusters (one for a cluster's
 * series, all for the bot's), null entries being clusters with no current
 * figures: the mean latency of the shards up whose latency is known, and the
 * sum of the guilds known; null when no shard says.
 */
export function sampleOf(healths: readonly (readonly ShardHealth[] | null)[]): Sample {
  const shards = healths.flatMap((h) => h ?? []);
  const known = shards.filter((h) => h.guilds !== null);
  return {
    latency_ms: healthSummary(shards).latency,
    guilds: known.length === 0 ? null : known.reduce((sum, h) => sum + h.guilds!, 0),
  };
}

/**
 * A series: the last `capacity` samples, one each period with no hole in the
 * times (a sample that skips periods fills them with nulls), so that it is
 * saved as two arrays and the time of its last sample.
 */
export class Series {
  private end: number | null = null;
  private latency: (number | null)[] = [];
  private guilds: (number | null)[] = [];

  constructor(
    readonly periodMs: number,
    readonly capacity: number = capacityFor(periodMs),
  ) {}

  /** A series saved by an earlier run, if it was sampled on this period (else an empty one). */
  static restore(saved: SavedSeries | undefined, periodMs: number, savedPeriodMs: number | undefined): Series {
    const series = new Series(periodMs);
    if (saved && savedPeriodMs === periodMs && saved.latency_ms.length === saved.guilds.length && saved.guilds.length > 0) {
      series.end = sampleTime(saved.end, periodMs);
      series.latency = saved.latency_ms.slice(-series.capacity);
      series.guilds = saved.guilds.slice(-series.capacity);
    }
    return series;
  }

  /** The sample at time `t` (a sample time): a later one than the last is appended, the same one replaced, an earlier one ignored. */
  add(t: number, sample: Sample): void {
    if (this.end !== null && t < this.end) return;
    if (this.end === t) {
      this.latency[this.latency.length - 1] = sample.latency_ms;
      this.guilds[this.guilds.length - 1] = sample.guilds;
      return;
    }
    // The periods skipped (the supervisor was not running): gaps, no more than the series holds.
    const skipped = this.end === null ? 0 : Math.min(this.capacity, Math.round((t - this.end) / this.periodMs) - 1);
    for (let i = 0; i < skipped; i++) {
      this.latency.push(null);
      this.guilds.push(null);
    }
    this.latency.push(sample.latency_ms);
    this.guilds.push(sample.guilds);
    this.end = t;
    const excess = this.latency.length - this.capacity;
    if (excess > 0) {
      this.latency.splice(0, excess);
      this.guilds.splice(0, excess);
    }
  }

  /** The samples within the window that ends at `now`, oldest first. */
  view(now: number): SeriesView {
    const points: SeriesPoint[] = [];
    const from = now - this.capacity * this.periodMs;
    const n = this.latency.length;
    for (let i = 0; i < n; i++) {
      const t = this.end! - (n - 1 - i) * this.periodMs;
      if (t > from) points.push({ t, latency_ms: this.latency[i]!, guilds: this.guilds[i]! });
    }
    return { period_ms: this.periodMs, points };
  }

  save(): SavedSeries | null {
    return this.end === null ? null : { end: this.end, latency_ms: [...this.latency], guilds: [...this.guilds] };
  }
}
