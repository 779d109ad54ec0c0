import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeMessage, goJson, interpretForCluster, interpretInbound, LAUNCHER_ACTIONS, parseInbound, replyMessage } from './index.js';

/** Edges of the bus protocol that index.test.ts and messages.test.ts leave unchecked. */

afterEach(() => void vi.restoreAllMocks());

const launchNext = (id: unknown) => interpretInbound({ scope: 'launcher', action: 'launch_next', args: { id } });

describe('launch_next ids given as strings', () => {
  it.each([
    ['12', 12],
    [' 5 ', 5],
    ['\t7', 7],
    ['5 ', 5],
    ['2.75', 2],
    ['3.', 3],
    ['0.5', 0],
  ])('reads %j as cluster %i, as a number would be read', (raw, id) => {
    expect(launchNext(raw)).toEqual({ kind: 'launch_next', id });
  });

  it.each(['+5', '-5', '1e3', '0x10', '5x', 'x5', '.5', '', ' ', 'Infinity'])(
    'reads %j as naming no cluster: it is not a plain decimal number',
    (raw) => {
      expect(launchNext(raw)).toEqual({ kind: 'launch_next', id: undefined });
    },
  );
});

describe('launch_next ids at the edge of the safe integers', () => {
  it('takes exactly Number.MAX_SAFE_INTEGER, as a number or a string', () => {
    expect(launchNext(Number.MAX_SAFE_INTEGER)).toEqual({ kind: 'launch_next', id: Number.MAX_SAFE_INTEGER });
    expect(launchNext(String(Number.MAX_SAFE_INTEGER))).toEqual({ kind: 'launch_next', id: Number.MAX_SAFE_INTEGER });
  });

  it('takes one past it as naming no cluster', () => {
    expect(launchNext(Number.MAX_SAFE_INTEGER + 1)).toEqual({ kind: 'launch_next', id: undefined });
    expect(launchNext('9007199254740992')).toEqual({ kind: 'launch_next', id: undefined });
  });
});

describe('a value shown in a refusal', () => {
  const refusal = (action: string) => `unknown action ${action}; known actions: ${LAUNCHER_ACTIONS.join(', ')}`;

  it('is shown whole when its JSON is exactly 40 characters', () => {
    const name = 'a'.repeat(38);
    expect(JSON.stringify(name)).toHaveLength(40);
    expect(interpretInbound({ scope: 'launcher', action: name })).toEqual({ kind: 'invalid', reason: refusal(`"${name}"`) });
  });

  it('is cut to 40 characters when its JSON is 41', () => {
    const name = 'a'.repeat(39);
    expect(interpretInbound({ scope: 'launcher', action: name })).toEqual({ kind: 'invalid', reason: refusal(`"${name}...`) });
  });
});

describe('args must be an object', () => {
  it('refuses args that are a list, which a map cannot hold', () => {
    expect(interpretInbound({ scope: 'launcher', action: 'statuses', args: [1], command_id: 'c' })).toEqual({
      kind: 'invalid',
      reason: 'args must be an object',
      commandId: 'c',
    });
    expect(interpretInbound({ scope: 'launcher', action: 'launch_next', args: [] })).toEqual({
      kind: 'invalid',
      reason: 'args must be an object',
    });
  });
});

describe("replies on the bus (the supervisor's own, scope bot)", () => {
  const reply = goJson(replyMessage('c1', 'ok'));

  it('are ignored without being read: even one over the size limit, or not JSON past its command_id', () => {
    expect(reply.endsWith('"scope":"bot"}')).toBe(true);
    expect(parseInbound(reply, 10)).toEqual({ kind: 'ignored' });
    expect(parseInbound('{"action":"","command_id":"c1",oops,"scope":"bot"}')).toEqual({ kind: 'ignored' });
  });

  it('are never parsed as JSON', () => {
    const parse = vi.spyOn(JSON, 'parse');
    expect(parseInbound(reply)).toEqual({ kind: 'ignored' });
    expect(parse).not.toHaveBeenCalled();
  });

  it('a message that only ends like a reply is read as usual', () => {
    expect(parseInbound('not JSON, "scope":"bot"}')).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^not JSON: /) });
    expect(parseInbound('{"action":"x","scope":"bot"}', 10)).toEqual({
      kind: 'invalid',
      reason: 'message of 28 bytes exceeds the limit of 10',
    });
  });
});

describe('the size of a message near the limit', () => {
  it('a message of three-byte characters exactly at the limit is read; one character more is not', () => {
    // 2 quotes and 4 characters of 3 bytes: 14 bytes.
    const at = JSON.stringify('€'.repeat(4));
    expect(decodeMessage(at, 14)).toEqual({ ok: true, json: '€€€€' });
    expect(decodeMessage(JSON.stringify('€'.repeat(5)), 16)).toEqual({ ok: false, reason: 'message of 17 bytes exceeds the limit of 16' });
  });

  it('is not counted byte by byte when even three bytes a character fit the limit', () => {
    const count = vi.spyOn(Buffer, 'byteLength');
    // 5 characters: at most 15 bytes.
    expect(decodeMessage('"€€€"', 15)).toEqual({ ok: true, json: '€€€' });
    expect(count).not.toHaveBeenCalled();
    expect(decodeMessage('"€€€"', 14)).toEqual({ ok: true, json: '€€€' });
    expect(count).toHaveBeenCalledTimes(1);
  });
});

describe('interpretForCluster', () => {
  it('takes null, a list or a scalar as nothing for the cluster', () => {
    for (const json of [null, [], [{ scope: 'bot', action: 'x' }], 'text', 3, undefined])
      expect(interpretForCluster(json)).toEqual({ kind: 'other' });
  });
});
