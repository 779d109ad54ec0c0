import { describe, expect, it } from 'vitest';
import type { ClusterView } from '../../interfaces/clusterView.js';
import { goJson, plain, replyMessage } from '../../protocol/index.js';
import { createReplyEncoder } from './statuses.js';

const busOutput = createReplyEncoder();

/** A cluster as the machines show it; running unless told otherwise. */
const view = (id: number, also: Partial<ClusterView> = {}): ClusterView => ({
  id,
  name: `c${id}`,
  shards: [id],
  state: 'running',
  group: 'up',
  up: true,
  allowed: ['stop', 'restart'],
  active: true,
  pid: 100 + id,
  started_at: 1_700_000_000_000,
  up_at: 1_700_000_000_000,
  restarts: 0,
  restarts_by_cause: { crash: 0, hang: 0, operator: 0, rollout: 0 },
  last_diag: null,
  health_fresh: false,
  last_exit: null,
  down_reason: null,
  backoff_ms: null,
  failed_reason: null,
  ...also,
});

describe('what the supervisor answers on the bus', () => {
  it('statuses: the Go fields, keyed by cluster id as a string', () => {
    const gamma = view(2, {
      name: 'Gamma',
      shards: [4, 5],
      pid: 99,
      started_at: 1_700_000_000_500,
      up_at: 1_700_000_001_000,
      restarts: 1,
    });
    const output = busOutput('statuses', { ok: true, value: [gamma] });
    const bytes = goJson(replyMessage('X', output));
    expect(
      bytes.startsWith(
        '{"action":"","command_id":"X","output":{"2":{"active":true,"status":"running","name":"Gamma","started_at":1700000000,"shard_list":[4,5],"pid":99,',
      ),
    ).toBe(true);
    expect(bytes.endsWith('},"scope":"bot"}')).toBe(true);
  });

  it("statuses: cluster ids sorted as strings, as Go sorts map keys, and Go's zero time for a cluster never started", () => {
    const views = [0, 1, 2, 10, 11].map((id) =>
      view(id, { name: 'n', shards: [], state: 'idle', active: false, pid: null, started_at: null, up_at: null }),
    );
    const payload = JSON.parse(goJson(busOutput('statuses', { ok: true, value: views })));
    expect(goJson(busOutput('statuses', { ok: true, value: views })).match(/"(\d+)":\{/g)).toEqual([
      '"0":{',
      '"1":{',
      '"10":{',
      '"11":{',
      '"2":{',
    ]);
    expect(payload['10'].started_at).toBe(-62135596800);
  });

  it.each([
    ['in Go JSON (Redis)', (output: unknown) => JSON.parse(goJson(output))],
    ['as plain objects (IPC)', (output: unknown) => plain(output)],
  ])('statuses %s: asked again, the same answer; once a cluster changes, the new state', (_, decode) => {
    const views = [view(0), view(1)];
    const statuses = (v: ClusterView[]) => decode(busOutput('statuses', { ok: true, value: v })) as Record<string, Record<string, unknown>>;
    const statusOf = (v: ClusterView[], id: string) => statuses(v)[id]?.status;
    expect(statusOf(views, '1')).toBe('running');
    expect(statuses(views)).toEqual(statuses([...views]));
    // A cluster's view is a new object whenever its state changes.
    const died = [views[0]!, view(1, { state: 'dead', active: false, pid: null, down_reason: 'exited' })];
    expect(statuses(died)['1']).toMatchObject({ status: 'dead', active: false, pid: null, down_reason: 'exited' });
    expect(statusOf(died, '0')).toBe('running');
    expect(statusOf(views, '1')).toBe('running');
    expect(Object.keys(statuses(views.slice(0, 1)))).toEqual(['0']);
  });

  it('says why a command was refused', () => {
    expect(busOutput('start', { ok: false, status: 'conflict', reason: 'cluster 1 is already running' })).toBe(
      'cluster 1 is already running',
    );
    expect(busOutput('stop', { ok: true })).toBe('ok');
    expect(busOutput('num_processes', { ok: true, value: { clusters: 3, shards: 6 } })).toEqual({ clusters: 3, shards: 6 });
  });
});
