import { describe, expect, it } from 'vitest';
import { answerMessage, botTarget, callMessage, interpretForCluster, interpretInbound } from './index.js';

describe('the target of a message between clusters (`to`)', () => {
  it('is absent (or null) for every other cluster, or a cluster id', () => {
    expect(botTarget({ scope: 'bot', action: 'x' })).toEqual({ ok: true, to: undefined });
    expect(botTarget({ scope: 'bot', action: 'x', to: null })).toEqual({ ok: true, to: undefined });
    expect(botTarget({ scope: 'bot', action: 'x', to: 0 })).toEqual({ ok: true, to: 0 });
    expect(botTarget({ scope: 'bot', action: 'x', to: 99 })).toEqual({ ok: true, to: 99 });
  });

  it('refuses anything else, saying what it got', () => {
    const reason = (to: unknown) => (botTarget({ to }) as { reason: string }).reason;
    expect(reason('2')).toBe('to must be a cluster id (a non-negative integer), got "2"');
    expect(reason(-1)).toBe('to must be a cluster id (a non-negative integer), got -1');
    expect(reason(1.5)).toBe('to must be a cluster id (a non-negative integer), got 1.5');
    expect(reason(2 ** 60)).toMatch(/^to must be a cluster id/);
    expect(reason([1])).toBe('to must be a cluster id (a non-negative integer), got [1]');
    expect(reason({ id: 'x'.repeat(100) })).toMatch(/got \{"id":"x+\.\.\.$/);
    expect(botTarget({ to: true }).ok).toBe(false);
  });

  it('is only `to`, spelt so: the Go struct never had it, and matched no other case', () => {
    expect(botTarget({ To: 'x', TO: -1 })).toEqual({ ok: true, to: undefined });
  });

  it('leaves the supervisor\'s reading of a scope "bot" message as it was: not its own', () => {
    expect(interpretInbound({ scope: 'bot', action: 'x', to: 'nobody' })).toEqual({ kind: 'ignored' });
  });
});

describe('calls and answers between clusters', () => {
  it('are scope "bot" messages with namespaced actions, `to` only when for one cluster', () => {
    expect(callMessage(0, undefined, 'c1', 'guilds', undefined)).toEqual({
      scope: 'bot',
      action: 'mewld.call',
      from: 0,
      data: { id: 'c1', name: 'guilds', args: null },
    });
    expect('to' in callMessage(0, undefined, 'c1', 'guilds', 1)).toBe(false);
    expect(callMessage(0, 2, 'c1', 'guilds', { a: 1 })).toEqual({
      scope: 'bot',
      action: 'mewld.call',
      from: 0,
      to: 2,
      data: { id: 'c1', name: 'guilds', args: { a: 1 } },
    });
    expect(answerMessage(2, 0, 'c1', { value: 20 })).toEqual({
      scope: 'bot',
      action: 'mewld.answer',
      from: 2,
      to: 0,
      data: { id: 'c1', value: 20 },
    });
    expect(answerMessage(2, 0, 'c1', { error: 'no handler "x"', code: 'no_handler' })).toEqual({
      scope: 'bot',
      action: 'mewld.answer',
      from: 2,
      to: 0,
      data: { id: 'c1', error: 'no handler "x"', code: 'no_handler' },
    });
  });

  it('read back as what they are, with their target, through JSON', () => {
    const wire = (message: unknown) => interpretForCluster(JSON.parse(JSON.stringify(message)));
    expect(wire(callMessage(0, 2, 'c1', 'guilds', [1]))).toEqual({
      kind: 'call',
      call: { id: 'c1', name: 'guilds', args: [1], from: 0 },
      to: 2,
    });
    expect(wire(callMessage(0, undefined, 'c1', 'guilds', undefined))).toEqual({
      kind: 'call',
      call: { id: 'c1', name: 'guilds', args: null, from: 0 },
      to: undefined,
    });
    expect(wire(answerMessage(2, 0, 'c1', { value: { n: 1 } }))).toEqual({
      kind: 'answer',
      answer: { id: 'c1', from: 2, outcome: { value: { n: 1 } } },
      to: 0,
    });
    expect(wire(answerMessage(2, 0, 'c1', { error: 'boom', code: 'failed' }))).toEqual({
      kind: 'answer',
      answer: { id: 'c1', from: 2, outcome: { error: 'boom', code: 'failed' } },
      to: 0,
    });
  });

  it("an answer with no value is null (undefined does not survive JSON); an error code this side does not know is the handler's failure", () => {
    const answer = (data: unknown) => interpretForCluster({ scope: 'bot', action: 'mewld.answer', from: 1, to: 0, data });
    expect(answer({ id: 'c' })).toMatchObject({ answer: { outcome: { value: null } } });
    expect(answer({ id: 'c', value: null, error: null })).toMatchObject({ answer: { outcome: { value: null } } });
    expect(answer({ id: 'c', error: 'x', code: 'teapot' })).toMatchObject({ answer: { outcome: { error: 'x', code: 'failed' } } });
    expect(answer({ id: 'c', error: 42 })).toMatchObject({ answer: { outcome: { error: '42', code: 'failed' } } });
  });

  it('a call or an answer that cannot be one (no id, no name, no cluster to answer, a bad target) is nothing', () => {
    const call = (fields: Record<string, unknown>) =>
      interpretForCluster({ scope: 'bot', action: 'mewld.call', from: 1, data: { id: 'c', name: 'n' }, ...fields });
    expect(call({}).kind).toBe('call');
    expect(call({ from: undefined })).toEqual({ kind: 'other' });
    expect(call({ from: '1' })).toEqual({ kind: 'other' });
    expect(call({ from: -1 })).toEqual({ kind: 'other' });
    expect(call({ data: { id: 'c' } })).toEqual({ kind: 'other' });
    expect(call({ data: { name: 'n' } })).toEqual({ kind: 'other' });
    expect(call({ data: { id: 5, name: 'n' } })).toEqual({ kind: 'other' });
    expect(call({ data: ['c', 'n'] })).toEqual({ kind: 'other' });
    expect(call({ data: null })).toEqual({ kind: 'other' });
    expect(call({ to: 'everyone' })).toEqual({ kind: 'other' });
    const answer = (fields: Record<string, unknown>) =>
      interpretForCluster({ scope: 'bot', action: 'mewld.answer', from: 1, to: 0, data: { id: 'c', value: 1 }, ...fields });
    expect(answer({}).kind).toBe('answer');
    expect(answer({ from: 1.5 })).toEqual({ kind: 'other' });
    expect(answer({ data: { value: 1 } })).toEqual({ kind: 'other' });
    expect(answer({ data: 'c' })).toEqual({ kind: 'other' });
    expect(answer({ to: -3 })).toEqual({ kind: 'other' });
  });

  it("a bot's own message says its target too, and one with a bad target is for no cluster", () => {
    expect(interpretForCluster({ scope: 'bot', action: 'hello', from: 1, to: 2, data: 1 })).toMatchObject({ kind: 'bot', to: 2 });
    expect(interpretForCluster({ scope: 'bot', action: 'hello', from: 1, to: '2', data: 1 })).toEqual({ kind: 'other' });
  });
});
