import type { ExitInfo, RestartCounts } from '../../interfaces/clusterView.js';
import type { ClusterHistory, SavedHistory, SavedSeries } from '../../interfaces/history.js';
import { withinDepth } from '../../protocol/index.js';

/**
 * The history as both stores keep it: JSON text, read back with every figure
 * checked, since a file or a Redis key may have been written by anyone (or
 * half written). What is not as this project writes it is left out; a text
 * that is not a history at all reads as none.
 */

export const encodeHistory = (history: SavedHistory): string => JSON.stringify(history);

/** Far more than a run keeps (five exits a cluster, an hour of samples): a bound on what is read, not a rule. */
const MAX_EXITS = 32;
const MAX_POINTS = 100_000;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const figure = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : null);

function restartCounts(x: unknown): RestartCounts | null {
  if (!isObject(x)) return null;
  const { crash, hang, operator, rollout } = x;
  return isCount(crash) && isCount(hang) && isCount(operator) && isCount(rollout) ? { crash, hang, operator, rollout } : null;
}

function exitInfo(x: unknown): ExitInfo[] {
  if (!isObject(x) || !isTime(x.at)) return [];
  const code = Number.isSafeInteger(x.code) ? (x.code as number) : null;
  const signal = typeof x.signal === 'string' ? x.signal.slice(0, 32) : null;
  return [{ code, signal, at: x.at }];
}

function clusterHistory(x: unknown): ClusterHistory | null {
  if (!isObject(x) || !Array.isArray(x.exits)) return null;
  const restarts = restartCounts(x.restarts);
  return restarts && { restarts, exits: x.exits.slice(-MAX_EXITS).flatMap(exitInfo) };
}

function series(x: unknown): SavedSeries | null {
  if (!isObject(x) || !isTime(x.end) || !Array.isArray(x.latency_ms) || !Array.isArray(x.guilds)) return null;
  if (x.latency_ms.length !== x.guilds.length || x.guilds.length > MAX_POINTS) return null;
  return { end: x.end, latency_ms: x.latency_ms.map(figure), guilds: x.guilds.map(figure) };
}

/** Each entry of a record keyed by cluster id that `read` accepts. */
function byClusterId<T>(x: unknown, read: (value: unknown) => T | null): Record<number, T> {
  const out: Record<number, T> = {};
  if (!isObject(x)) return out;
  for (const [key, value] of Object.entries(x)) {
    const read_ = /^\d{1,9}$/.test(key) ? read(value) : null;
    if (read_ !== null) out[Number(key)] = read_;
  }
  return out;
}

export function decodeHistory(text: string | null | undefined): SavedHistory | null {
  if (typeof text !== 'string') return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(json) || !isTime(json.savedAt)) return null;
  const s = json.series;
  const bot = isObject(s) ? series(s.bot) : null;
  return {
    savedAt: json.savedAt,
    clusters: byClusterId(json.clusters, clusterHistory),
    series:
      isObject(s) && bot && isCount(s.period_ms) && s.period_ms > 0
        ? { period_ms: s.period_ms, bot, clusters: byClusterId(s.clusters, series) }
        : null,
    actionLog: Array.isArray(json.actionLog)
      ? json.actionLog.filter((e): e is Record<string, unknown> => isObject(e) && withinDepth(e))
      : null,
  };
}
