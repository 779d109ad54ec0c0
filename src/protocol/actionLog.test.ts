import { describe, expect, it } from 'vitest';
import {
  actionLogEntry,
  actionLogKey,
  boundActionLogEntry,
  describeDown,
  describeEntry,
  formatActionLog,
  MAX_ACTION_LOG_BYTES,
  type ActionLogEntry,
  type SupervisorEntry,
} from './actionLog.js';

describe('the action log entries kept', () => {
  it('live under <channel>/actlogs', () => {
    expect(actionLogKey('mewld')).toBe('mewld/actlogs');
  });

  it('carry ts in unix microseconds (rounded), keys sorted as Go sorts a map', () => {
    const entry = actionLogEntry({ id: 2, event: 'cluster_start' }, 1_700_000_000_123.4);
    expect(entry.get('ts')).toBe(1_700_000_000_123_400);
    expect(Object.fromEntries(entry)).toEqual({ id: 2, event: 'cluster_start', ts: 1_700_000_000_123_400 });
    expect(formatActionLog({ zeta: 1, alpha: [1, 2], event: 'x' }, 2)).toBe('{"alpha":[1,2],"event":"x","ts":2000,"zeta":1}');
  });

  it('take the time now when not told', () => {
    const before = Date.now() * 1000;
    const ts = actionLogEntry({ event: 'x' }).get('ts') as number;
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now() * 1000);
    const json = JSON.parse(formatActionLog({ event: 'x' })) as { ts: number };
    expect(json.ts).toBeGreaterThanOrEqual(before);
  });
});

describe('boundActionLogEntry', () => {
  it('keeps an entry that fits as it is', () => {
    const entry = { event: 'deploy', by: 'ci', n: 3 };
    expect(boundActionLogEntry(entry)).toBe(entry);
  });

  it(`keeps an entry of exactly MAX_ACTION_LOG_BYTES (${MAX_ACTION_LOG_BYTES}) of JSON, and shortens one a byte longer`, () => {
    const overhead = JSON.stringify({ event: 'e', pad: '' }).length;
    const fits = { event: 'e', pad: 'x'.repeat(MAX_ACTION_LOG_BYTES - overhead) };
    expect(JSON.stringify(fits).length).toBe(16 * 1024);
    expect(boundActionLogEntry(fits)).toBe(fits);
    const over = { event: 'e', pad: 'x'.repeat(MAX_ACTION_LOG_BYTES - overhead + 1) };
    expect(boundActionLogEntry(over)).toEqual({ event: 'e', truncated: true, bytes: 16 * 1024 + 1 });
  });

  it('shortens one too large to its event (at most 100 characters), truncated, and its size', () => {
    expect(boundActionLogEntry({ event: 'e'.repeat(300), pad: 'x'.repeat(20_000) })).toEqual({
      event: 'e'.repeat(100),
      truncated: true,
      bytes: JSON.stringify({ event: 'e'.repeat(300), pad: 'x'.repeat(20_000) }).length,
    });
  });

  it('an entry without a string event is shortened to event "unknown"', () => {
    expect(boundActionLogEntry({ event: 7, pad: 'x'.repeat(20_000) })).toMatchObject({ event: 'unknown', truncated: true });
    expect(boundActionLogEntry({ pad: 'x'.repeat(20_000) })).toMatchObject({ event: 'unknown', truncated: true });
  });

  it('shortens, with no size, one nested too deep or that JSON cannot hold (a BigInt, a cycle)', () => {
    let deep: unknown = [];
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(boundActionLogEntry({ event: 'deep', deep })).toEqual({ event: 'deep', truncated: true, bytes: null });
    expect(boundActionLogEntry({ event: 'big', n: 10n })).toEqual({ event: 'big', truncated: true, bytes: null });
    const cycle: Record<string, unknown> = { event: 'cycle' };
    cycle.self = cycle;
    expect(boundActionLogEntry(cycle)).toEqual({ event: 'cycle', truncated: true, bytes: null });
  });

  it('keeps an entry nested up to the depth the supervisor reads', () => {
    let nested: unknown = [];
    for (let i = 0; i < 30; i++) nested = [nested];
    const entry = { event: 'nested', nested };
    expect(boundActionLogEntry(entry)).toBe(entry);
  });
});

describe('describeDown', () => {
  it('says why a cluster is down', () => {
    expect(describeDown({ reason: 'exited', code: 3, signal: null })).toBe('exited with code 3');
    expect(describeDown({ reason: 'exited', code: null, signal: 'SIGKILL' })).toBe('killed by SIGKILL');
    expect(describeDown({ reason: 'spawn_failed', error: 'spawn node ENOENT' })).toBe('could not start: spawn node ENOENT');
    expect(describeDown({ reason: 'launch_timeout' })).toBe('no launch_next within launch_timeout');
    expect(describeDown({ reason: 'ping_timeout' })).toBe('no answer to a diagnostic within ping_timeout');
    expect(describeDown({ reason: 'eaten by a grue' })).toBe('eaten by a grue');
  });
});

describe('describeEntry: the sentence an operator reads', () => {
  const cases: [SupervisorEntry, string][] = [
    [{ event: 'all_clusters_launched', not_up: [] }, 'all clusters launched'],
    [{ event: 'all_clusters_launched', not_up: [2, 5] }, 'all clusters had their launch; not up: 2, 5'],
    [{ event: 'cluster_start_failed', id: 1, reason: 'spawn_failed', error: 'ENOENT' }, 'cluster 1 is down (could not start: ENOENT)'],
    [{ event: 'cluster_restart_failed', id: 2, reason: 'launch_timeout' }, 'cluster 2 is down (no launch_next within launch_timeout)'],
    [{ event: 'cluster_died', id: 3, reason: 'exited', code: 1, signal: null }, 'cluster 3 is down (exited with code 1)'],
    [{ event: 'ping_failure', id: 4, reason: 'ping_timeout' }, 'cluster 4 is down (no answer to a diagnostic within ping_timeout)'],
    [
      { event: 'cluster_failed', id: 5, why: 'restarted 5 times within 60 s', exits: [], last_lines: [] },
      'cluster 5 failed and stays down until an operator starts it: restarted 5 times within 60 s',
    ],
    [{ event: 'cluster_start', id: 6 }, 'start cluster 6: by operator'],
    [{ event: 'cluster_stop', id: 7 }, 'stop cluster 7: by operator'],
    [{ event: 'cluster_restart', id: 8 }, 'restart cluster 8: by operator'],
    [{ event: 'rolling_restart', clusters: 4 }, 'rolling restart: begins'],
    [{ event: 'rolling_restart_done' }, 'rolling restart: done'],
    [{ event: 'shutdown' }, 'shutting down: stopping every cluster'],
    [{ event: 'restartproc' }, 'restarting the supervisor (exit 1): stopping every cluster'],
    [{ event: 'bus_refused', reason: 'redis refused the subscription' }, 'redis refused the subscription: stopping every cluster (exit 1)'],
    [
      { event: 'fleet_paused', clusters: [0, 3, 4], of: 8, window_ms: 60_000, pause_ms: 1_250 },
      '3 of 8 clusters went down within 60 s (0, 3, 4): automatic restarts paused for 1.3 s (operator starts still work)',
    ],
    [
      { event: 'fleet_paused', clusters: [1, 2], of: 2, window_ms: 12_345, pause_ms: 480_000 },
      '2 of 2 clusters went down within 12.3 s (1, 2): automatic restarts paused for 480 s (operator starts still work)',
    ],
    [{ event: 'fleet_resumed' }, 'automatic restarts resume, through the launch slot'],
    [
      { event: 'sessions_low', remaining: 3, needed: 4, minimum: 5, reset_after_ms: 3_599_600 },
      "only 3 session starts left, and the next launch needs 4 (minimum_safe_sessions_remaining is 5): no cluster starts for 3600 s, until Discord's reset (running out gets the bot token reset)",
    ],
  ];
  it.each(cases)('%j', (entry, sentence) => {
    expect(describeEntry(entry)).toBe(sentence);
  });

  it("shows a cluster's own entry as its event and its JSON, without ts", () => {
    expect(describeEntry({ event: 'deploy', ts: 123, version: '1.2', by: 'ci' })).toBe('deploy: {"version":"1.2","by":"ci"}');
    expect(describeEntry({ event: 'ping' })).toBe('ping: {}');
  });

  it("cuts a cluster's own entry to 1,000 characters", () => {
    const text = describeEntry({ event: 'big', pad: 'x'.repeat(5000) });
    expect(text).toBe(`big: ${JSON.stringify({ pad: 'x'.repeat(5000) }).slice(0, 1000)}`);
  });

  it('says so when an entry of its own cannot be shown', () => {
    expect(describeEntry({ event: 'big', n: 10n } as ActionLogEntry)).toBe('big: (cannot be shown)');
  });
});
