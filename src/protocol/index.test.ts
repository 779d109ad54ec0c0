import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  broadcastMessage,
  diagAnswerMessage,
  diagRequestMessage,
  formatActionLog,
  Encoded,
  goJson,
  plain,
  interpretForCluster,
  parseInbound,
  randomLetters,
  replyCommandId,
  replyMessage,
} from './index.js';

const diagAnswers = readFileSync(new URL('../../tests/fixtures/diag-answers.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n');

describe('parseInbound', () => {
  it('accepts every diagnostic answer spelling that real clusters send', () => {
    const parsed = diagAnswers.map((line) => parseInbound(line));
    expect(parsed[0]).toEqual({
      kind: 'diag',
      nonce: 'kXqPzWmRtA',
      health: [
        { shard_id: 0, up: true, latency: 41.5, guilds: 1180, users: 402113 },
        { shard_id: 1, up: true, latency: 39, guilds: 1202, users: 388020 },
      ],
    });
    expect(parsed[1]).toEqual({
      kind: 'diag',
      nonce: 'kXqPzWmRtA',
      health: [{ shard_id: 0, up: true, latency: 41.5, guilds: 1180, users: 402113 }],
    });
    expect(parsed[2]).toEqual({
      kind: 'diag',
      nonce: 'kXqPzWmRtA',
      health: [{ shard_id: 0, up: false, latency: -1, guilds: 0, users: 0 }],
    });
  });

  it('reads commands with their command_id', () => {
    expect(parseInbound('{"scope":"launcher","action":"stop","args":{"id":3},"command_id":"abc"}')).toEqual({
      kind: 'command',
      action: 'stop',
      id: 3,
      commandId: 'abc',
    });
    expect(parseInbound('{"scope":"launcher","action":"statuses"}')).toEqual({ kind: 'command', action: 'statuses' });
    expect(parseInbound('{"scope":"launcher","action":"launch_next","args":{"id":0}}')).toEqual({ kind: 'launch_next', id: 0 });
  });

  it('reads a launch_next without a cluster id as one for the cluster holding the launch slot, as the Go mewld did', () => {
    for (const raw of [
      '{"scope":"launcher","action":"launch_next"}',
      '{"scope":"launcher","action":"launch_next","args":null}',
      '{"scope":"launcher","action":"launch_next","args":{}}',
      '{"scope":"launcher","action":"launch_next","args":{"id":"next"}}',
    ]) {
      expect(parseInbound(raw)).toStrictEqual({ kind: 'launch_next', id: undefined });
    }
    expect(parseInbound('{"scope":"launcher","action":"launch_next","args":{"id":"3"},"command_id":"c"}')).toEqual({
      kind: 'launch_next',
      id: 3,
      commandId: 'c',
    });
  });

  it('reads the keys of a message whatever their case, as Go reads them', () => {
    expect(parseInbound('{"Scope":"launcher","Action":"stop","Args":{"id":3},"Command_Id":"abc"}')).toEqual({
      kind: 'command',
      action: 'stop',
      id: 3,
      commandId: 'abc',
    });
    expect(
      parseInbound(
        '{"Scope":"launcher","Action":"diag","Output":"{\\"NONCE\\":\\"n1\\",\\"DATA\\":[{\\"SHARD_ID\\":2,\\"Up\\":true,\\"Latency\\":7}]}"}',
      ),
    ).toEqual({ kind: 'diag', nonce: 'n1', health: [{ shard_id: 2, up: true, latency: 7, guilds: null, users: null }] });
  });

  it('takes a diag answer with entries it cannot read, leaving them out: the cluster did answer', () => {
    expect(
      parseInbound('{"scope":"launcher","action":"diag","output":{"Nonce":"n","Data":[{"up":"yes"},{"shard_id":1,"up":true}]}}'),
    ).toEqual({
      kind: 'diag',
      nonce: 'n',
      health: [{ shard_id: 1, up: true, latency: null, guilds: null, users: null }],
    });
  });

  it('ignores what is not for the supervisor', () => {
    expect(parseInbound('{"scope":"bot","action":"","command_id":"x","output":"ok"}')).toEqual({ kind: 'ignored' });
    expect(parseInbound('{"id":1,"nonce":"n","diag":true}')).toEqual({ kind: 'ignored' });
  });

  it.each([
    ['not JSON', '{oops', /not JSON/],
    ['not an object', '[1,2]', /not a JSON object/],
    ['a string id', '{"scope":"launcher","action":"stop","args":{"id":"3"},"command_id":"c"}', /args\.id must be a cluster id .*got "3"/],
    ['a negative id', '{"scope":"launcher","action":"start","args":{"id":-1},"command_id":"c"}', /got -1/],
    ['a fractional id', '{"scope":"launcher","action":"restart","args":{"id":1.5},"command_id":"c"}', /got 1.5/],
    ['a missing id', '{"scope":"launcher","action":"restart","command_id":"c"}', /got nothing/],
    ['an unknown action', '{"scope":"launcher","action":"explode","command_id":"c"}', /unknown action "explode"/],
    ['a non-string action', '{"scope":"launcher","action":7,"command_id":"c"}', /action must be a string/],
    ['action_logs without data', '{"scope":"launcher","action":"action_logs","command_id":"c"}', /action_logs needs data/],
    ['a diag without nonce', '{"scope":"launcher","action":"diag","output":{"Data":[]}}', /^diag: .*Nonce/],
    ['a diag whose answer is not an object', '{"scope":"launcher","action":"diag","output":"[1]"}', /^diag: /],
    ['args that are a list', '{"scope":"launcher","action":"launch_next","args":[1],"command_id":"c"}', /^args must be an object$/],
    ['reshard, which this supervisor does not do', '{"scope":"launcher","action":"reshard","command_id":"c"}', /reshard is not supported/],
  ])('refuses %s with a reason', (_name, raw, reason) => {
    const parsed = parseInbound(raw);
    expect(parsed.kind).toBe('invalid');
    expect((parsed as { reason: string }).reason).toMatch(reason);
  });

  it('keeps the command_id of an invalid request, so that it can be answered', () => {
    expect(parseInbound('{"scope":"launcher","action":"explode","command_id":"c1"}')).toMatchObject({ commandId: 'c1' });
  });

  it('refuses oversized messages before parsing them', () => {
    const big = JSON.stringify({ scope: 'launcher', action: 'statuses', pad: 'x'.repeat(2000) });
    expect(parseInbound(big, 1000)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/exceeds the limit of 1000/) });
  });
});

describe('what the supervisor publishes, byte for byte as the Go mewld', () => {
  it('replies, with the keys in the order Go marshals its map', () => {
    expect(goJson(replyMessage('abc', 'ok'))).toBe('{"action":"","command_id":"abc","output":"ok","scope":"bot"}');
    expect(goJson(replyMessage(undefined, 'ok'))).toBe('{"action":"","command_id":"","output":"ok","scope":"bot"}');
    expect(goJson(replyMessage('x', { clusters: 2, shards: 20 }))).toBe(
      '{"action":"","command_id":"x","output":{"clusters":2,"shards":20},"scope":"bot"}',
    );
  });

  it('sorts map keys as strings wherever a map sits, and leaves struct fields in order', () => {
    const statuses = new Map([
      ['10', { status: 'running', shard_list: [20, 21], last_exit: undefined }],
      [
        '2',
        {
          status: 'dead',
          shard_list: [4, 5],
          extra: [
            new Map([
              ['b', 1],
              ['a', undefined],
            ]),
          ],
        },
      ],
    ]);
    expect(goJson(statuses)).toBe(
      '{"10":{"status":"running","shard_list":[20,21]},"2":{"status":"dead","shard_list":[4,5],"extra":[{"a":null,"b":1}]}}',
    );
  });

  it('a part encoded ahead of time comes out as if encoded in place, on Redis and on IPC', () => {
    const line = { status: 'running', name: '<b>', shard_list: [1] };
    const ahead = new Map([['1', new Encoded(line)]]);
    expect(goJson(ahead)).toBe(goJson(new Map([['1', line]])));
    expect(plain(ahead)).toEqual({ 1: line });
  });

  it('escapes HTML characters as Go does', () => {
    expect(goJson({ s: '<a & b>' })).toBe('{"s":"\\u003ca \\u0026 b\\u003e"}');
  });

  it('diagnostic requests and the launch broadcast', () => {
    expect(goJson(diagRequestMessage(3, 'n0nce'))).toBe('{"id":3,"nonce":"n0nce","diag":true}');
    expect(goJson(broadcastMessage('all_clusters_launched', 'rAnDoMlEtTeRsXyZ'))).toBe(
      '{"action":"all_clusters_launched","command_id":"rAnDoMlEtTeRsXyZ","output":"","scope":"bot"}',
    );
    expect(randomLetters(16)).toMatch(/^[a-zA-Z]{16}$/);
  });

  it('action log entries carry ts in unix microseconds, keys sorted', () => {
    expect(formatActionLog({ id: 3, event: 'ping_failure' }, 1_700_000_000_123)).toBe(
      '{"event":"ping_failure","id":3,"ts":1700000000123000}',
    );
  });
});

describe('what a cluster sends and reads', () => {
  it('a diagnostic answer in the Go spelling, which the supervisor reads back', () => {
    const health = [{ shard_id: 4, up: true, latency: 12, guilds: 3, users: 30 }];
    const message = diagAnswerMessage('abc', health);
    expect(typeof message.output).toBe('string');
    expect(parseInbound(JSON.stringify(message))).toEqual({ kind: 'diag', nonce: 'abc', health });
  });

  it("reads the command_id of a reply without parsing it, so that others' replies can be skipped", () => {
    expect(replyCommandId(goJson(replyMessage('7d1c-aa', { big: 'x'.repeat(1000) })))).toBe('7d1c-aa');
    expect(replyCommandId('{"scope":"bot","action":"","command_id":"x"}')).toBeUndefined();
    expect(replyCommandId('{"action":"","command_id":"a\\"b","output":1,"scope":"bot"}')).toBeUndefined();
    // The supervisor ignores its own replies without parsing them.
    expect(parseInbound(goJson(replyMessage('c', 'ok')))).toEqual({ kind: 'ignored' });
  });

  it('tells diagnostics, replies, broadcasts and messages from other clusters apart', () => {
    expect(interpretForCluster({ id: 2, nonce: 'n', diag: true })).toEqual({ kind: 'diag', id: 2, nonce: 'n' });
    expect(interpretForCluster(JSON.parse(goJson(replyMessage('c1', 'ok'))))).toEqual({ kind: 'reply', commandId: 'c1', output: 'ok' });
    expect(interpretForCluster(JSON.parse(goJson(broadcastMessage('all_clusters_launched', 'x'))))).toEqual({
      kind: 'all_clusters_launched',
    });
    expect(interpretForCluster({ scope: 'bot', action: 'hello', data: { a: 1 }, from: 3 })).toMatchObject({
      kind: 'bot',
      action: 'hello',
      data: { a: 1 },
      from: 3,
    });
    expect(interpretForCluster({ scope: 'launcher', action: 'launch_next', args: { id: 0 } })).toEqual({ kind: 'other' });
    expect(interpretForCluster('garbage')).toEqual({ kind: 'other' });
  });
});
