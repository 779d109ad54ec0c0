import { describe, expect, it } from 'vitest';
import { createLiveState, type LiveMessage } from './liveState.js';

describe('the live state: action log entries with their sentences', () => {
  it('sends each entry with the sentence an operator reads, and the snapshot has them in the same order', () => {
    const live = createLiveState({ busKind: 'ipc' });
    const sent: LiveMessage[] = [];
    live.subscribe((m) => sent.push(m));
    live.seedActionLogs([{ event: 'cluster_died', id: 3, reason: 'exited', code: 1, signal: null, ts: 1 }]);
    live.actionLog({ event: 'rolling_restart_cancelled', done: 2, total: 6, ts: 2 });
    // A cluster's own entry under a supervisor event's name, without its fields: no sentence, and nothing breaks.
    live.actionLog({ event: 'all_clusters_launched', ts: 3 });
    live.actionLog({ event: 'deploy', version: '1.2', ts: 4 });
    expect(sent.map((m) => (m.type === 'action_log' ? m.text : m.type))).toEqual([
      'rolling restart: cancelled, 2 of 6 clusters restarted; the others are left as they are',
      null,
      'deploy: {"version":"1.2"}',
    ]);
    const snapshot = live.snapshot() as Extract<LiveMessage, { type: 'snapshot' }>;
    expect(snapshot.action_logs.map((e) => e.event)).toEqual([
      'cluster_died',
      'rolling_restart_cancelled',
      'all_clusters_launched',
      'deploy',
    ]);
    expect(snapshot.action_log_texts[0]).toBe('cluster 3 is down (exited with code 1)');
    expect(snapshot.action_log_texts.slice(1)).toEqual(sent.map((m) => (m.type === 'action_log' ? m.text : undefined)));
  });
});
