import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type RunningSupervisor } from './supervisor.js';

/** Live cluster processes of a supervisor, by cluster id (MEWLD_CLUSTER_ID in their environment). */
export function processesByCluster(s: RunningSupervisor): Map<number, number[]> {
  const byCluster = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === s.proc.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (!environ.includes(s.dir)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const id = /(?:^|\0)MEWLD_CLUSTER_ID=(\d+)(?:\0|$)/.exec(environ)?.[1];
      if (id === undefined) continue;
      byCluster.set(Number(id), [...(byCluster.get(Number(id)) ?? []), Number(entry)]);
    } catch {
      // gone while we looked
    }
  }
  return byCluster;
}

/**
 * Checks, every few milliseconds until stopped, that no cluster id ever has
 * two live processes: the invariant that two processes never run one shard set.
 */
export function watchOneProcessPerCluster(s: RunningSupervisor, everyMs = 15) {
  let samples = 0;
  const violations: { at: number; id: number; pids: number[] }[] = [];
  const timer = setInterval(() => {
    samples++;
    for (const [id, pids] of processesByCluster(s)) if (pids.length > 1) violations.push({ at: Date.now(), id, pids });
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { samples, violations };
    },
  };
}

const FIGURES = join(ROOT, 'tests/artifacts/faults.json');

/** Keeps a measured figure for the README's fault table (tests/artifacts/faults.json). */
export function recordFigure(fault: string, figures: Record<string, number | string>): void {
  mkdirSync(join(ROOT, 'tests/artifacts'), { recursive: true });
  const all = existsSync(FIGURES) ? (JSON.parse(readFileSync(FIGURES, 'utf8')) as Record<string, unknown>) : {};
  all[fault] = { ...figures, measured_at: new Date().toISOString() };
  writeFileSync(FIGURES, `${JSON.stringify(all, null, 2)}\n`);
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};
export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
