import { describe, expect, it } from 'vitest';
import { Encoded, goFields, goJson, goMap, plain } from './goJson.js';

describe('goJson', () => {
  it('without a Map inside, writes what JSON.stringify writes', () => {
    for (const value of [1, 'x', true, null, [1, 'a', null], { b: 1, a: [2, { c: 'd' }] }, { gone: undefined, kept: 0 }, []]) {
      expect(goJson(value)).toBe(JSON.stringify(value));
    }
  });

  it('writes null for nothing at all, as Go writes a nil interface', () => {
    expect(goJson(undefined)).toBe('null');
    expect(goJson(new Map([['a', undefined]]))).toBe('{"a":null}');
  });

  it("escapes <, >, & and the line and paragraph separators as Go's encoding/json does", () => {
    expect(goJson('<>&\u2028\u2029')).toBe('"\\u003c\\u003e\\u0026\\u2028\\u2029"');
    expect(goJson({ html: '<b>&</b>' })).toBe('{"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"}');
    expect(goJson(goMap({ '<k>': 'a&b' }))).toBe('{"\\u003ck\\u003e":"a\\u0026b"}');
    // Other characters as JSON.stringify writes them.
    expect(goJson('é "q" \\ \n')).toBe(JSON.stringify('é "q" \\ \n'));
  });

  it('sorts the keys of a Map as strings, as Go sorts map[string]', () => {
    expect(goJson(goMap({ b: 2, a: 1, c: 3 }))).toBe('{"a":1,"b":2,"c":3}');
    expect(
      goJson(
        new Map([
          ['10', 'x'],
          ['9', 'y'],
          ['1', 'z'],
        ]),
      ),
    ).toBe('{"1":"z","10":"x","9":"y"}');
    expect(goJson(new Map())).toBe('{}');
    expect(goJson(new Map([['only', [1]]]))).toBe('{"only":[1]}');
  });

  it('writes a Map with number keys as Go writes map[int]: keys as strings, sorted as strings', () => {
    expect(
      goJson(
        new Map([
          [10, 'x'],
          [9, 'y'],
          [1, 'z'],
        ]),
      ),
    ).toBe('{"1":"z","10":"x","9":"y"}');
  });

  it('writes arrays holding Maps in order, each member once', () => {
    expect(goJson([goMap({ b: 1, a: 2 }), 3, goMap({})])).toBe('[{"a":2,"b":1},3,{}]');
    expect(goJson([new Map([['k', 'v']])])).toBe('[{"k":"v"}]');
  });

  it('writes a struct (a plain object) holding a Map with its fields in order, undefined ones left out', () => {
    expect(goJson({ z: 1, m: goMap({ y: 1, x: 2 }), a: undefined, b: null })).toBe('{"z":1,"m":{"x":2,"y":1},"b":null}');
    expect(goJson({ deep: { deeper: [{ m: new Map([['k', '<']]) }] }, after: 'x' })).toBe(
      '{"deep":{"deeper":[{"m":{"k":"\\u003c"}}]},"after":"x"}',
    );
  });

  it('finds a Map however deep in arrays and objects it sits', () => {
    expect(
      goJson({
        a: 1,
        b: [
          0,
          {
            c: [
              new Map([
                ['y', 1],
                ['x', 2],
              ]),
            ],
          },
        ],
      }),
    ).toBe('{"a":1,"b":[0,{"c":[{"x":2,"y":1}]}]}');
  });
});

describe('Encoded', () => {
  it('is written as it was encoded once, wherever it sits', () => {
    const part = new Encoded(goMap({ b: '<', a: 1 }));
    expect(part.json).toBe('{"a":1,"b":"\\u003c"}');
    expect(goJson(part)).toBe(part.json);
    expect(goJson({ line: part, n: 1 })).toBe('{"line":{"a":1,"b":"\\u003c"},"n":1}');
    expect(goJson([part, part])).toBe(`[${part.json},${part.json}]`);
  });

  it('gives its value as plain objects for IPC, worked out once', () => {
    const part = new Encoded(goMap({ b: [goMap({ y: 1 })], a: 1 }));
    expect(part.plain).toEqual({ b: [{ y: 1 }], a: 1 });
    expect(part.plain).toBe(part.plain);
    expect(plain({ statuses: new Map([['0', part]]) })).toEqual({ statuses: { 0: { b: [{ y: 1 }], a: 1 } } });
  });

  it('of a value without a Map: the value itself', () => {
    const value = { a: 1 };
    const part = new Encoded(value);
    expect(part.value).toBe(value);
    expect(part.plain).toBe(value);
  });
});

describe('plain', () => {
  it('leaves a value without a Map as it is, the same object', () => {
    const value = { a: [1, { b: 2 }] };
    expect(plain(value)).toBe(value);
    expect(plain(3)).toBe(3);
    expect(plain(null)).toBe(null);
  });

  it('turns Maps into plain objects, with string keys, wherever they sit', () => {
    expect(
      plain(
        new Map<unknown, unknown>([
          [1, 'a'],
          ['b', new Map([['c', 2]])],
        ]),
      ),
    ).toEqual({ 1: 'a', b: { c: 2 } });
    expect(plain([new Map([['k', 1]]), 2])).toEqual([{ k: 1 }, 2]);
    expect(plain({ x: 1, y: new Map([['k', [new Map([['z', null]])]]]) })).toEqual({ x: 1, y: { k: [{ z: null }] } });
  });

  it('leaves the parts without a Map alone', () => {
    const untouched = { n: [1, 2] };
    const result = plain({ m: new Map(), untouched }) as { untouched: unknown };
    expect(result.untouched).toBe(untouched);
  });
});

describe('goFields', () => {
  it('takes a key spelled exactly as the field over one that differs only by case, wherever it sits', () => {
    expect(goFields({ nonce: 'variant', Nonce: 'exact' }, ['Nonce'])).toEqual({ Nonce: 'exact' });
    expect(goFields({ Nonce: 'exact', NONCE: 'variant' }, ['Nonce'])).toEqual({ Nonce: 'exact' });
    // Even when the exact key holds null: the field is null, not the variant's value.
    expect(goFields({ Data: null, data: [1] }, ['Data'])).toEqual({ Data: null });
  });

  it('otherwise takes a key equal to the field but for case', () => {
    expect(goFields({ NONCE: 'n', data: [] }, ['Nonce', 'Data'])).toEqual({ Nonce: 'n', Data: [] });
    expect(goFields({ Shard_Id: 4, UP: true }, ['shard_id', 'up'])).toEqual({ shard_id: 4, up: true });
    // Only case is forgiven: shardid is not shard_id.
    expect(goFields({ shardid: 4, 'shard-id': 5 }, ['shard_id'])).toEqual({});
  });

  it('leaves out keys of no field, and fields of no key', () => {
    const fields = goFields({ scope: 'launcher', extra: 1, proof: 'p' }, ['scope', 'action']);
    expect(fields).toEqual({ scope: 'launcher' });
    expect(Object.keys(fields)).toEqual(['scope']);
    expect(goFields({}, ['scope'])).toEqual({});
  });

  it('keeps a field whose key is present with null as present', () => {
    expect(Object.keys(goFields({ args: null }, ['args']))).toEqual(['args']);
  });

  it("reads only the object's own keys, never what it inherits", () => {
    expect(goFields({}, ['constructor', 'toString'])).toEqual({});
    expect(goFields(Object.create({ scope: 'launcher' }) as Record<string, unknown>, ['scope'])).toEqual({});
  });
});
