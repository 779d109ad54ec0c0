import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  botMessage,
  broadcastMessage,
  clusterChannel,
  clusterKey,
  commandMessage,
  decodeMessage,
  diagAnswerMessage,
  diagProof,
  GO_ZERO_TIME,
  goJson,
  identifiedMessage,
  identifyTurnMessage,
  identifyWaitMessage,
  interpretForCluster,
  interpretInbound,
  launchNextMessage,
  launcherChannel,
  LAUNCHER_ACTIONS,
  MAX_MESSAGE_BYTES,
  parseInbound,
  randomLetters,
  replyCommandId,
  replyMessage,
  sampleOf,
} from './index.js';

/** `levels` arrays, one inside the other. */
const nested = (levels: number): unknown => {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
};

describe('decodeMessage', () => {
  it('reads a message of up to 1 MiB by default', () => {
    expect(MAX_MESSAGE_BYTES).toBe(1024 * 1024);
    const pad = 'x'.repeat(MAX_MESSAGE_BYTES - 8);
    expect(decodeMessage(`{"p":"${pad}"}`)).toEqual({ ok: true, json: { p: pad } });
    expect(decodeMessage(`{"p":"${pad}x"}`)).toEqual({
      ok: false,
      reason: `message of ${MAX_MESSAGE_BYTES + 1} bytes exceeds the limit of ${MAX_MESSAGE_BYTES}`,
    });
  });

  it('a message of exactly the limit is read; a byte more is not', () => {
    expect(decodeMessage('"12345678"', 10)).toEqual({ ok: true, json: '12345678' });
    expect(decodeMessage('"123456789"', 10)).toEqual({ ok: false, reason: 'message of 11 bytes exceeds the limit of 10' });
  });

  it('counts bytes as UTF-8, not characters', () => {
    // 400 characters, 800 bytes.
    const two = JSON.stringify('é'.repeat(399));
    expect(decodeMessage(two, 1000)).toMatchObject({ ok: true });
    // 600 characters, 1,200 bytes, under 1,000 characters.
    const over = JSON.stringify('é'.repeat(599));
    expect(decodeMessage(over, 1000)).toEqual({ ok: false, reason: 'message of 1200 bytes exceeds the limit of 1000' });
    // Four bytes a character (and two UTF-16 units).
    expect(decodeMessage(JSON.stringify('😀'.repeat(100)), 300)).toEqual({
      ok: false,
      reason: 'message of 402 bytes exceeds the limit of 300',
    });
  });

  it('says what is wrong with what is not JSON', () => {
    const decoded = decodeMessage('{oops');
    expect(decoded.ok).toBe(false);
    expect((decoded as { reason: string }).reason).toMatch(/^not JSON: .+/);
  });

  it('refuses JSON nested more than 32 levels deep', () => {
    expect(decodeMessage(JSON.stringify(nested(32)))).toMatchObject({ ok: true });
    expect(decodeMessage(JSON.stringify(nested(33)))).toEqual({ ok: false, reason: 'nested more than 32 levels deep' });
  });
});

describe('sampleOf', () => {
  it('a string: at most max characters of it, 200 by default', () => {
    expect(sampleOf('x'.repeat(500))).toBe('x'.repeat(200));
    expect(sampleOf('abcdef', 3)).toBe('abc');
    expect(sampleOf('short')).toBe('short');
  });

  it('anything else: at most max characters of its JSON', () => {
    expect(sampleOf({ a: 'x'.repeat(500) })).toBe(JSON.stringify({ a: 'x'.repeat(500) }).slice(0, 200));
    expect(sampleOf([1, 2, 3], 4)).toBe('[1,2');
    expect(sampleOf(undefined)).toBe('undefined');
  });

  it('never throws: too deep, a BigInt, a cycle', () => {
    expect(sampleOf(nested(5000))).toBe('(nested more than 32 levels deep)');
    expect(sampleOf({ n: 10n })).toBe('(cannot be shown: Do not know how to serialize a BigInt)');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    // A cycle is deeper than any depth.
    expect(sampleOf(cycle)).toBe('(nested more than 32 levels deep)');
  });
});

describe('parseInbound and interpretInbound', () => {
  it('ignores a reply only in the shape the supervisor publishes, ending with scope "bot"', () => {
    expect(parseInbound(goJson(replyMessage('c', 'ok')))).toEqual({ kind: 'ignored' });
    // Shaped like a reply, but for the supervisor: read.
    expect(parseInbound('{"action":"","command_id":"c","scope":"launcher"}')).toMatchObject({ kind: 'invalid', commandId: 'c' });
  });

  it('refuses what is not a JSON object, or nested too deep, off an IPC channel too', () => {
    for (const json of [null, 'text', 3, [1]]) expect(interpretInbound(json)).toEqual({ kind: 'invalid', reason: 'not a JSON object' });
    expect(interpretInbound({ scope: 'launcher', action: 'statuses', deep: nested(40) })).toEqual({
      kind: 'invalid',
      reason: 'nested more than 32 levels deep',
    });
  });

  it('ignores messages with another scope, or none', () => {
    expect(interpretInbound({ scope: 'bot', action: 'statuses' })).toEqual({ kind: 'ignored' });
    expect(interpretInbound({ action: 'statuses' })).toEqual({ kind: 'ignored' });
  });

  it.each([
    'rollingrestart',
    'rollingrestart_pause',
    'rollingrestart_resume',
    'rollingrestart_cancel',
    'statuses',
    'num_processes',
    'shutdown',
    'restartproc',
  ])('reads %s, with a number command_id too', (action) => {
    expect(interpretInbound({ scope: 'launcher', action })).toEqual({ kind: 'command', action });
    expect(interpretInbound({ scope: 'launcher', action, command_id: 42 })).toEqual({ kind: 'command', action, commandId: 42 });
    expect(interpretInbound({ scope: 'launcher', action, command_id: 'c' })).toEqual({ kind: 'command', action, commandId: 'c' });
  });

  it.each(['start', 'stop', 'restart'])('reads %s with the cluster id', (action) => {
    expect(interpretInbound({ scope: 'launcher', action, args: { id: 0 }, command_id: 'c' })).toEqual({
      kind: 'command',
      action,
      id: 0,
      commandId: 'c',
    });
    expect(interpretInbound({ scope: 'launcher', action, args: { id: 12 } })).toEqual({ kind: 'command', action, id: 12 });
  });

  it('reads launch_next with the cluster id, and one without as for the cluster holding the launch slot', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'launch_next', args: { id: 4 }, command_id: 'x' })).toEqual({
      kind: 'launch_next',
      id: 4,
      commandId: 'x',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'launch_next', command_id: 'x' })).toStrictEqual({
      kind: 'launch_next',
      id: undefined,
      commandId: 'x',
    });
  });

  it.each([
    ['a whole number', 3, 3],
    ['0', 0, 0],
    ['a fraction, truncated as Go converts a float64 to int', 3.7, 3],
    ['a numeric string', '3', 3],
    ['a numeric string with a fraction', '3.5', 3],
  ])('reads a launch_next id given as %s', (_name, id, expected) => {
    expect(interpretInbound({ scope: 'launcher', action: 'launch_next', args: { id } })).toEqual({ kind: 'launch_next', id: expected });
  });

  it.each([
    ['absent', {}],
    ['null', { id: null }],
    ['a negative number', { id: -2 }],
    ['a negative fraction', { id: -0.5 }],
    ['a negative numeric string', { id: '-3' }],
    ['a string that is no number', { id: 'x' }],
    ['an empty string', { id: '' }],
    ['a boolean', { id: true }],
    ['a list', { id: [3] }],
    ['an object', { id: { n: 3 } }],
    ['past the largest safe integer', { id: 1e20 }],
  ])('never refuses a launch_next whose id is %s: it is for the cluster holding the launch slot', (_name, args) => {
    expect(interpretInbound({ scope: 'launcher', action: 'launch_next', args, command_id: 'c' })).toStrictEqual({
      kind: 'launch_next',
      id: undefined,
      commandId: 'c',
    });
  });

  it.each(['launch_next', 'stop', 'statuses', 'diag'])('refuses args that are a list, as Go refuses them for a map (%s)', (action) => {
    expect(interpretInbound({ scope: 'launcher', action, args: [1], command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: 'args must be an object',
      commandId: 'c',
    });
    expect(interpretInbound({ scope: 'launcher', action, args: [], command_id: 'c' })).toMatchObject({
      kind: 'invalid',
      reason: 'args must be an object',
    });
  });

  it('reads the keys of a message whatever their case, as Go reads them into its struct', () => {
    expect(interpretInbound({ SCOPE: 'launcher', Action: 'restart', ARGS: { id: 2 }, Command_ID: 'c' })).toEqual({
      kind: 'command',
      action: 'restart',
      id: 2,
      commandId: 'c',
    });
    expect(interpretInbound({ Scope: 'launcher', Action: 'action_logs', Data: { event: 'deploy' } })).toEqual({
      kind: 'action_log',
      data: { event: 'deploy' },
    });
    expect(interpretInbound({ Scope: 'bot', Action: 'statuses' })).toEqual({ kind: 'ignored' });
    // The case of a value counts: only the keys are matched whatever their case.
    expect(interpretInbound({ scope: 'Launcher', action: 'statuses' })).toEqual({ kind: 'ignored' });
    expect(interpretInbound({ scope: 'launcher', action: 'Statuses', command_id: 'c' })).toMatchObject({ kind: 'invalid', commandId: 'c' });
  });

  it('takes a key spelled exactly as the field over one that differs only by case', () => {
    expect(interpretInbound({ Scope: 'launcher', scope: 'bot', action: 'statuses' })).toEqual({ kind: 'ignored' });
    expect(interpretInbound({ scope: 'launcher', Action: 'shutdown', action: 'statuses' })).toEqual({
      kind: 'command',
      action: 'statuses',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'statuses', COMMAND_ID: 'upper', command_id: 'exact' })).toEqual({
      kind: 'command',
      action: 'statuses',
      commandId: 'exact',
    });
  });

  it('refuses a command without an id, with the reason and the command_id', () => {
    for (const args of [undefined, null, [1], {}]) {
      expect(interpretInbound({ scope: 'launcher', action: 'stop', args, command_id: 'c' })).toMatchObject({
        kind: 'invalid',
        commandId: 'c',
      });
    }
    expect(interpretInbound({ scope: 'launcher', action: 'stop', args: {}, command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: 'args.id must be a cluster id (a non-negative integer), got nothing',
      commandId: 'c',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'start', args: { id: 'x'.repeat(60) } })).toEqual({
      kind: 'invalid',
      reason: `args.id must be a cluster id (a non-negative integer), got "${'x'.repeat(39)}...`,
    });
  });

  it('refuses a malformed envelope with the first problem', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'stop', args: 'x', command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: 'args must be an object',
      commandId: 'c',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'stop', args: { id: 1 }, command_id: {} })).toEqual({
      kind: 'invalid',
      reason: 'command_id must be a string',
    });
    expect(interpretInbound({ scope: 'launcher' })).toEqual({
      kind: 'invalid',
      reason: 'Invalid key: Expected "action" but received undefined',
    });
    // A null command_id is none.
    expect(interpretInbound({ scope: 'launcher', action: 'stop', args: { id: 1 }, command_id: null })).toEqual({
      kind: 'command',
      action: 'stop',
      id: 1,
    });
  });

  it('reads identify_wait and identified (identify turns), each with the cluster id it needs', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'identify_wait', args: { id: 3 } })).toEqual({
      kind: 'identify',
      step: 'wait',
      id: 3,
    });
    expect(interpretInbound({ scope: 'launcher', action: 'identified', args: { id: 0 } })).toEqual({
      kind: 'identify',
      step: 'done',
      id: 0,
    });
    expect(interpretInbound({ scope: 'launcher', action: 'identified', args: { id: '3' }, command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: 'args.id must be a cluster id (a non-negative integer), got "3"',
      commandId: 'c',
    });
    expect(identifyWaitMessage(3)).toEqual({ scope: 'launcher', action: 'identify_wait', args: { id: 3 } });
    expect(identifiedMessage(3)).toEqual({ scope: 'launcher', action: 'identified', args: { id: 3 } });
  });

  it('names every known action when it refuses an unknown one, and cuts a long name', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'x'.repeat(60), command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: `unknown action "${'x'.repeat(39)}...; known actions: ${LAUNCHER_ACTIONS.join(', ')}`,
      commandId: 'c',
    });
    expect(LAUNCHER_ACTIONS.join(', ')).toBe(
      'launch_next, identify_wait, identified, rollingrestart, rollingrestart_pause, rollingrestart_resume, rollingrestart_cancel, start, stop, restart, statuses, num_processes, shutdown, restartproc, action_logs, diag, reshard',
    );
  });

  it('reads an action log entry of a cluster, and refuses data that is not an object', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'action_logs', data: { event: 'deploy' }, command_id: 'c' })).toEqual({
      kind: 'action_log',
      data: { event: 'deploy' },
      commandId: 'c',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'action_logs', data: [1], command_id: 3 })).toEqual({
      kind: 'invalid',
      reason: 'action_logs needs data, an object; got [1]',
      commandId: 3,
    });
    expect(interpretInbound({ scope: 'launcher', action: 'action_logs', data: null })).toEqual({
      kind: 'invalid',
      reason: 'action_logs needs data, an object; got null',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'action_logs', data: 'x' })).toMatchObject({ kind: 'invalid' });
  });

  it('refuses reshard with what to do instead', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'reshard', command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: 'reshard is not supported: change the shard count in the config and restart the supervisor',
      commandId: 'c',
    });
  });
});

describe('diagnostic answers', () => {
  const diag = (output: unknown, extra: Record<string, unknown> = {}) =>
    interpretInbound({ scope: 'launcher', action: 'diag', output, ...extra });

  it('reads an answer as an object or as a JSON string, whatever the case of Nonce and Data', () => {
    const health = [{ shard_id: 3, up: true, latency: 2, guilds: 5, users: 9 }];
    expect(diag({ Nonce: 'n', Data: health })).toEqual({ kind: 'diag', nonce: 'n', health });
    expect(diag(JSON.stringify({ nonce: 'n', data: health }))).toEqual({ kind: 'diag', nonce: 'n', health });
    expect(diag({ NONCE: 'n', DATA: health })).toEqual({ kind: 'diag', nonce: 'n', health });
    expect(diag(JSON.stringify({ nOnCe: 'n', Data: health }))).toEqual({ kind: 'diag', nonce: 'n', health });
  });

  it('reads the envelope keys of a diag answer whatever their case', () => {
    const health = [{ shard_id: 0, up: true, latency: 1, guilds: 2, users: 3 }];
    expect(interpretInbound({ Scope: 'launcher', Action: 'diag', Output: { Nonce: 'n', Data: health } })).toEqual({
      kind: 'diag',
      nonce: 'n',
      health,
    });
    expect(interpretInbound({ SCOPE: 'launcher', ACTION: 'diag', OUTPUT: JSON.stringify({ Nonce: 'n', Data: health }) })).toEqual({
      kind: 'diag',
      nonce: 'n',
      health,
    });
  });

  it('takes Nonce and Data spelled exactly over a case variant', () => {
    expect(diag({ nonce: 'variant', Nonce: 'exact' })).toEqual({ kind: 'diag', nonce: 'exact', health: [] });
    // Data spelled exactly, null: no entries, whatever a case variant holds.
    expect(diag({ Nonce: 'n', Data: null, data: [{ id: 1, up: true, latency: 1 }] })).toEqual({ kind: 'diag', nonce: 'n', health: [] });
  });

  it('reads the keys of each shard entry whatever their case, and takes id for shard_id', () => {
    expect(diag({ Nonce: 'n', Data: [{ SHARD_ID: 4, Up: true, LATENCY: 3, Guilds: 2, USERS: 9 }] })).toEqual({
      kind: 'diag',
      nonce: 'n',
      health: [{ shard_id: 4, up: true, latency: 3, guilds: 2, users: 9 }],
    });
    expect(
      diag({
        Nonce: 'n',
        Data: [
          { ID: 5, up: true },
          { id: 6, up: false },
        ],
      }),
    ).toEqual({
      kind: 'diag',
      nonce: 'n',
      health: [
        { shard_id: 5, up: true, latency: null, guilds: null, users: null },
        { shard_id: 6, up: false, latency: null, guilds: null, users: null },
      ],
    });
    // shard_id wins over id, and a null shard_id is none.
    expect(
      diag({
        Nonce: 'n',
        Data: [
          { shard_id: 1, id: 2, up: true },
          { shard_id: null, id: 7, up: true },
        ],
      }),
    ).toMatchObject({
      health: [{ shard_id: 1 }, { shard_id: 7 }],
    });
  });

  it('takes figures a cluster did not give as unknown (null), never 0, a missing up as down, and no data as none', () => {
    expect(diag({ nonce: 'n', data: [{ id: 3, up: false, latency: -1 }] })).toEqual({
      kind: 'diag',
      nonce: 'n',
      health: [{ shard_id: 3, up: false, latency: -1, guilds: null, users: null }],
    });
    expect(diag({ Nonce: 'n', Data: [{ shard_id: 8 }, { shard_id: 9, latency: null, guilds: null, users: null }] })).toEqual({
      kind: 'diag',
      nonce: 'n',
      health: [
        { shard_id: 8, up: false, latency: null, guilds: null, users: null },
        { shard_id: 9, up: false, latency: null, guilds: null, users: null },
      ],
    });
    expect(diag({ Nonce: 'n', Data: [{ shard_id: 0, up: true, latency: 0, guilds: 0, users: 0 }] })).toEqual({
      kind: 'diag',
      nonce: 'n',
      health: [{ shard_id: 0, up: true, latency: 0, guilds: 0, users: 0 }],
    });
    expect(diag({ nonce: 'n', data: null })).toEqual({ kind: 'diag', nonce: 'n', health: [] });
    expect(diag({ Nonce: 'n' })).toEqual({ kind: 'diag', nonce: 'n', health: [] });
    expect(diag({ Nonce: 'n', Data: [] })).toEqual({ kind: 'diag', nonce: 'n', health: [] });
  });

  it('passes on the proof of an answer that has one', () => {
    expect(diag({ Nonce: 'n', Data: [] }, { proof: 'abc' })).toEqual({ kind: 'diag', nonce: 'n', health: [], proof: 'abc' });
    expect(diag({ Nonce: 'n', Data: [] }, { proof: 7 })).toEqual({ kind: 'diag', nonce: 'n', health: [] });
  });

  it('leaves out the entries it cannot read and keeps the answer: the cluster did answer', () => {
    const good = { shard_id: 2, up: true, latency: 5, guilds: 1, users: 2 };
    const unreadable = [
      7,
      null,
      'shard',
      [good],
      { up: true, latency: 1 },
      { shard_id: null, id: null, up: true },
      { shard_id: 1, up: 'x', latency: 1 },
      { shard_id: -1, up: true, latency: 1 },
      { shard_id: 1.5, up: true, latency: 1 },
      { shard_id: '1', up: true },
      { shard_id: 1, up: true, latency: 'fast' },
      { shard_id: 1, up: true, guilds: '12' },
      { shard_id: 1, up: true, users: true },
    ];
    expect(diag({ Nonce: 'n', Data: [...unreadable, good] })).toEqual({ kind: 'diag', nonce: 'n', health: [good] });
    expect(diag({ Nonce: 'n', Data: unreadable })).toEqual({ kind: 'diag', nonce: 'n', health: [] });
    expect(diag({ Nonce: 'n', Data: [{ up: true }] }, { proof: 'p' })).toEqual({ kind: 'diag', nonce: 'n', health: [], proof: 'p' });
  });

  it('refuses an answer without a Nonce string, or whose Data is not a list, saying why', () => {
    expect(diag({ Data: [] })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^diag: .*Nonce/) });
    expect(diag({ Nonce: null, Data: [] })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^diag: .*Nonce/) });
    expect(diag({ Nonce: 5, Data: [] })).toEqual({ kind: 'invalid', reason: 'diag: a diagnostic answer needs Nonce, a string; got 5' });
    expect(diag({ Nonce: 'n', Data: { shard_id: 1, up: true } })).toEqual({
      kind: 'invalid',
      reason: 'diag: Data must be a list of shard health entries',
    });
    expect(diag({ Nonce: 'n', Data: 'x' })).toEqual({ kind: 'invalid', reason: 'diag: Data must be a list of shard health entries' });
  });

  it('refuses an answer that is not an object, or a JSON string of one', () => {
    expect(diag('{oops')).toEqual({ kind: 'invalid', reason: 'diag: the output is a string that is not JSON' });
    for (const output of [7, null, undefined, true, [], [{ Nonce: 'n' }], '7', '"n"', '[]', 'null']) {
      expect(diag(output)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^diag: the answer must be an object/) });
    }
    expect(diag([1])).toEqual({ kind: 'invalid', reason: 'diag: the answer must be an object with Nonce and Data, got [1]' });
  });
});

describe('what the supervisor sends', () => {
  it('a reply to nothing in particular carries an empty command_id and null output', () => {
    expect(goJson(replyMessage(undefined, undefined))).toBe('{"action":"","command_id":"","output":null,"scope":"bot"}');
    expect(goJson(replyMessage(7, 0))).toBe('{"action":"","command_id":7,"output":0,"scope":"bot"}');
  });

  it('a broadcast with or without output', () => {
    expect(goJson(broadcastMessage('hello', 'id1', { a: 1 }))).toBe('{"action":"hello","command_id":"id1","output":{"a":1},"scope":"bot"}');
  });

  it('random letters from a-z and A-Z, as many as asked', () => {
    expect(randomLetters(0)).toBe('');
    expect(randomLetters(32)).toMatch(/^[a-zA-Z]{32}$/);
    // Each letter of the alphabet in turn, from a random source that walks it.
    let i = 0;
    expect(randomLetters(52, () => (i++ + 0.5) / 52)).toBe('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
    expect(randomLetters(3, () => 0.999_999)).toBe('ZZZ');
  });

  it("Go's zero time, in unix seconds", () => {
    expect(new Date(GO_ZERO_TIME * 1000).toISOString()).toBe('0001-01-01T00:00:00.000Z');
  });

  it('the direct channels', () => {
    expect(launcherChannel('mewld')).toBe('mewld/launcher');
    expect(clusterChannel('mewld', 3)).toBe('mewld/3');
  });
});

describe('what a cluster sends', () => {
  it('launch_next, commands and messages to the other clusters', () => {
    expect(launchNextMessage(2)).toEqual({ scope: 'launcher', action: 'launch_next', args: { id: 2 } });
    expect(interpretInbound(launchNextMessage(2))).toEqual({ kind: 'launch_next', id: 2 });
    expect(commandMessage('statuses', undefined, 'c')).toEqual({ scope: 'launcher', action: 'statuses', command_id: 'c' });
    expect(Object.keys(commandMessage('statuses', undefined, 'c'))).not.toContain('args');
    expect(commandMessage('stop', { id: 1 }, 'c')).toEqual({ scope: 'launcher', action: 'stop', args: { id: 1 }, command_id: 'c' });
    expect(botMessage('hello', { a: 1 }, 3)).toEqual({ scope: 'bot', action: 'hello', data: { a: 1 }, from: 3 });
  });

  it('a diagnostic answer with the proof of its key, which the supervisor reads back', () => {
    const health = [{ shard_id: 0, up: true, latency: 5, guilds: 1, users: 2 }];
    const message = diagAnswerMessage('nonce1', health, 'key');
    expect(message).toEqual({
      scope: 'launcher',
      action: 'diag',
      output: JSON.stringify({ Nonce: 'nonce1', Data: health }),
      proof: diagProof('key', 'nonce1'),
    });
    expect(interpretInbound(message)).toEqual({ kind: 'diag', nonce: 'nonce1', health, proof: diagProof('key', 'nonce1') });
    expect('proof' in diagAnswerMessage('nonce1', health)).toBe(false);
  });
});

describe('diagnostic proofs', () => {
  it('are the first 32 hex digits of the HMAC-SHA256 of the nonce under the key (RFC 4231, test case 2)', () => {
    expect(diagProof('Jefe', 'what do ya want for nothing?')).toBe('5bdcc146bf60754e6a042426089575c7');
  });

  it("each cluster's key is the HMAC-SHA256 of cluster:<id> under the run's secret", () => {
    expect(clusterKey('secret', 3)).toBe(createHmac('sha256', 'secret').update('cluster:3').digest('hex'));
    expect(clusterKey('secret', 3)).toMatch(/^[0-9a-f]{64}$/);
    expect(clusterKey('secret', 4)).not.toBe(clusterKey('secret', 3));
    expect(clusterKey('other', 3)).not.toBe(clusterKey('secret', 3));
  });
});

describe('what a cluster reads', () => {
  it('a diagnostic request needs diag true, a number id and a string nonce', () => {
    expect(interpretForCluster({ id: 0, nonce: 'n', diag: true })).toEqual({ kind: 'diag', id: 0, nonce: 'n' });
    expect(interpretForCluster({ id: '0', nonce: 'n', diag: true })).toEqual({ kind: 'other' });
    expect(interpretForCluster({ id: 0, nonce: 5, diag: true })).toEqual({ kind: 'other' });
    expect(interpretForCluster({ id: 0, nonce: 'n', diag: 'yes' })).toEqual({ kind: 'other' });
  });

  it('an identify turn is for the cluster it names in to', () => {
    expect(interpretForCluster(identifyTurnMessage(4))).toEqual({ kind: 'identify_turn', id: 4 });
    expect(interpretForCluster({ scope: 'bot', action: 'identify_turn' })).toEqual(
      expect.objectContaining({ kind: 'bot', action: 'identify_turn' }),
    );
  });

  it('a reply needs a command_id; scope bot and a string action are needed for anything', () => {
    expect(interpretForCluster({ scope: 'bot', action: '', command_id: '', output: 1 })).toEqual({ kind: 'other' });
    expect(interpretForCluster({ scope: 'bot', action: '' })).toEqual({ kind: 'other' });
    expect(interpretForCluster({ scope: 'bot', action: '', command_id: 0, output: 1 })).toEqual({ kind: 'reply', commandId: 0, output: 1 });
    expect(interpretForCluster({ scope: 'bot', action: 5 })).toEqual({ kind: 'other' });
    expect(interpretForCluster({ scope: 'other', action: 'hello' })).toEqual({ kind: 'other' });
    expect(interpretForCluster(null)).toEqual({ kind: 'other' });
    expect(interpretForCluster([{ scope: 'bot', action: 'hello' }])).toEqual({ kind: 'other' });
  });

  it('a message from another cluster, with the sender when it says a number', () => {
    const message = { scope: 'bot', action: 'hello', data: 1, from: 'x' };
    expect(interpretForCluster(message)).toEqual({ kind: 'bot', action: 'hello', data: 1, from: undefined, message });
  });

  it("reads a reply's command_id only up to its closing quote", () => {
    expect(replyCommandId('{"action":"","command_id":"abc","output":1,"scope":"bot"}')).toBe('abc');
    expect(replyCommandId('{"action":"","command_id":"","output":1,"scope":"bot"}')).toBe('');
    expect(replyCommandId('{"action":"","command_id":"unterminated')).toBeUndefined();
  });
});
