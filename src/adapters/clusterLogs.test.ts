import { describe, expect, it } from 'vitest';
import { createClusterLogs } from './clusterLogs.js';
import { stderrLevel } from './clusterProcess.js';

const line = (n: number) => ({ at: n, stream: 'stdout' as const, pid: 1, text: `line ${n}` });

describe('cluster logs', () => {
  it('keeps the last lines of each cluster, oldest first, however many were printed', () => {
    const logs = createClusterLogs(3);
    for (let n = 1; n <= 7; n++) logs.push(0, line(n));
    logs.push(1, line(100));
    expect(logs.recent(0).map((l) => l.text)).toEqual(['line 5', 'line 6', 'line 7']);
    expect(logs.recent(0, 2).map((l) => l.text)).toEqual(['line 6', 'line 7']);
    expect(logs.recent(1).map((l) => l.text)).toEqual(['line 100']);
    expect(logs.recent(2)).toEqual([]);
    expect(logs.recent(0, 0)).toEqual([]);
  });

  it('gives each follower the new lines of its cluster only, until it stops', () => {
    const logs = createClusterLogs(2);
    const seen: string[] = [];
    const stop = logs.follow(0, (l) => seen.push(l.text));
    logs.push(0, line(1));
    logs.push(1, line(2));
    logs.push(0, line(3));
    stop();
    logs.push(0, line(4));
    expect(seen).toEqual(['line 1', 'line 3']);
  });
});

describe("a cluster's stderr lines in the supervisor's log", () => {
  it('auto: a warning only when the line looks like an error; info and warn as set', () => {
    expect(stderrLevel('listening on port 3000')).toBe('info');
    expect(stderrLevel('(node:12) ExperimentalWarning: VM Modules')).toBe('info');
    for (const line of [
      'Error: connect ECONNREFUSED',
      'TypeError: x is undefined',
      'Traceback (most recent call last):',
      '    at main (/bot/index.js:3:9)',
      'panic: runtime error',
      'Uncaught exception',
    ])
      expect(stderrLevel(line), line).toBe('warn');
    expect(stderrLevel('Error: boom', 'info')).toBe('info');
    expect(stderrLevel('hello', 'warn')).toBe('warn');
  });
});
