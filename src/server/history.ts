import type { InspectionEvent } from 'xstate';
import type { ActionLogStore } from '../interfaces/busAdapter.js';
import { currentHealth, type ExitInfo, type RestartCounts } from '../interfaces/clusterView.js';
import type { ClusterHistory, HistoryStore, SavedHistory, SavedSeries } from '../interfaces/history.js';
import { viewOf, type InstanceSnapshot } from '../machines/index.js';
import { instanceSnapshotOf } from './liveState.js';
import { sampleOf, sampleTime, Series, type SeriesView } from './series.js';

/**
 * The history that outlives a restart of the supervisor: it watches every
 * cluster's Instance actor (through XState's inspection, as the live state
 * does), samples the charts every period, and saves what changed to the store
 * (at most once per `saveEveryMs`, and once more when the supervisor stops).
 * The machines are started with what an earlier run saved through their
 * input (src/supervisor); this only reads them.
 */

/** What GET /api/clusters/:id/history answers. */
export interface ClusterHistoryView extends SeriesView {
  id: number;
  restarts: number;
  restarts_by_cause: RestartCounts;
  /** Its last exits, oldest first (earlier runs' included). */
  last_exits: ExitInfo[];
}

export interface HistoryOptions {
  /** Where to save; null saves nothing (the history could not be read at start: what is there is left as it is). */
  store: HistoryStore | null;
  /** What an earlier run saved. */
  restored: SavedHistory | null;
  /** How often the charts are sampled (history_interval). */
  periodMs: number;
  /** The action log, when the bus keeps it in memory only: saved with the history. */
  actionLog?: Pick<ActionLogStore, 'recent' | 'subscribe'> | undefined;
  /** How often the history is saved at most. */
  saveEveryMs?: number;
  now?: () => number;
  log?: { warn(fields: object, message: string): void };
}

export function createHistory(options: HistoryOptions) {
  const { store, restored, periodMs } = options;
  const now = options.now ?? Date.now;
  const saveEveryMs = options.saveEveryMs ?? 1000;
  const snapshots = new Map<number, InstanceSnapshot>();
  const savedPeriod = restored?.series?.period_ms;
  const bot = Series.restore(restored?.series?.bot, periodMs, savedPeriod);
  const clusterSeries = new Map<number, Series>();
  const seriesOf = (id: number) => {
    let series = clusterSeries.get(id);
    if (!series) clusterSeries.set(id, (series = Series.restore(restored?.series?.clusters[id], periodMs, savedPeriod)));
    return series;
  };

  // Saving: one write at a time, the latest state, at most once per saveEveryMs.
  let dirty = false;
  let pending: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const changed = () => {
    dirty = true;
    if (store && pending === undefined) pending = setTimeout(() => void flush(), saveEveryMs);
  };
  const flush = () => {
    clearTimeout(pending);
    pending = undefined;
    if (!store || !dirty) return writing;
    dirty = false;
    writing = writing.then(async () => {
      try {
        await store.save(await current());
      } catch (err) {
        options.log?.warn({ err: (err as Error).message }, `could not save the history: ${(err as Error).message}`);
      }
    });
    return writing;
  };

  /**
   * What is saved: this run's clusters once they run (a cluster id that is no
   * longer in the map is dropped then), an earlier run's until they do.
   */
  const current = async (): Promise<SavedHistory> => {
    const running = snapshots.size > 0;
    const clusters: Record<number, ClusterHistory> = running ? {} : { ...restored?.clusters };
    const series: Record<number, SavedSeries> = running ? {} : { ...(savedPeriod === periodMs && restored?.series?.clusters) };
    for (const [id, snapshot] of snapshots) {
      clusters[id] = { restarts: snapshot.context.restarts.byCause, exits: snapshot.context.recentExits };
      const saved = seriesOf(id).save();
      if (saved) series[id] = saved;
    }
    const botSaved = bot.save();
    return {
      savedAt: now(),
      clusters,
      series: botSaved && { period_ms: periodMs, bot: botSaved, clusters: series },
      actionLog: options.actionLog ? await options.actionLog.recent() : null,
    };
  };

  const sample = () => {
    const t = sampleTime(now(), periodMs);
    const healths = [...snapshots].map(([id, snapshot]) => {
      const health = currentHealth(viewOf(snapshot));
      seriesOf(id).add(t, sampleOf([health]));
      return health;
    });
    bot.add(t, sampleOf(healths));
    changed();
  };
  // On the period's boundaries (as every series' sample times are), whatever the timer's drift.
  let ticker: NodeJS.Timeout | undefined;
  const schedule = () => {
    ticker = setTimeout(
      () => {
        sample();
        schedule();
      },
      periodMs - (now() % periodMs),
    );
    ticker.unref();
  };
  schedule();
  const unsubscribe = options.actionLog?.subscribe(changed);

  return {
    /** XState's inspection hook: pass to createActor({ inspect }). */
    inspect(event: InspectionEvent) {
      const snapshot = instanceSnapshotOf(event);
      if (!snapshot) return;
      const id = snapshot.context.input.cluster.id;
      const before = snapshots.get(id)?.context;
      snapshots.set(id, snapshot);
      // Both change by a new object only when a restart is counted or an exit recorded.
      if (before?.restarts.byCause !== snapshot.context.restarts.byCause || before.recentExits !== snapshot.context.recentExits) changed();
    },
    /** The bot's series: every cluster's current figures together. */
    bot: (): SeriesView => bot.view(now()),
    /** One cluster's series, restart counts and last exits; undefined for a cluster not in the map. */
    cluster(id: number): ClusterHistoryView | undefined {
      const snapshot = snapshots.get(id);
      if (!snapshot) return undefined;
      const view = viewOf(snapshot);
      return {
        id,
        restarts: view.restarts,
        restarts_by_cause: view.restarts_by_cause,
        last_exits: snapshot.context.recentExits,
        ...seriesOf(id).view(now()),
      };
    },
    /** Stops sampling and saves what is not saved yet (when the supervisor stops). */
    async close() {
      clearTimeout(ticker);
      unsubscribe?.();
      await flush();
    },
  };
}

export type History = ReturnType<typeof createHistory>;
