import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, withinDepth } from './depth.js';

/** `levels` arrays, one inside the other. */
const arrays = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};
/** `levels` objects, one inside the other. */
const objects = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};
/** `levels` Maps, one inside the other. */
const maps = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = new Map([['a', value]]);
  return value;
};

describe('withinDepth', () => {
  it('what is not an array or object is within any depth', () => {
    for (const value of [null, undefined, 0, 'x', true, 10n]) expect(withinDepth(value, 0)).toBe(true);
  });

  it('the supervisor reads up to MAX_DEPTH (32) levels', () => {
    expect(MAX_DEPTH).toBe(32);
    expect(withinDepth(arrays(32))).toBe(true);
    expect(withinDepth(arrays(33))).toBe(false);
  });

  it('counts arrays, objects and Maps alike, mixed too', () => {
    for (const nest of [arrays, objects, maps]) {
      expect(withinDepth(nest(3), 3)).toBe(true);
      expect(withinDepth(nest(4), 3)).toBe(false);
    }
    expect(withinDepth({ a: [new Map([['k', { b: 1 }]])] }, 4)).toBe(true);
    expect(withinDepth({ a: [new Map([['k', { b: [] }]])] }, 4)).toBe(false);
  });

  it('an empty array or object is one level', () => {
    expect(withinDepth([], 1)).toBe(true);
    expect(withinDepth({}, 1)).toBe(true);
    expect(withinDepth([[]], 1)).toBe(false);
    expect(withinDepth({ a: {} }, 1)).toBe(false);
    expect(withinDepth(new Map([['a', new Map()]]), 1)).toBe(false);
  });

  it('finds the deep branch wherever it is among shallow ones', () => {
    expect(withinDepth([1, [2], arrays(5), 'x'], 5)).toBe(false);
    expect(withinDepth([arrays(5), 1, [2]], 5)).toBe(false);
    expect(withinDepth({ a: 1, b: { c: 2 }, d: objects(5) }, 5)).toBe(false);
    expect(
      withinDepth(
        new Map<string, unknown>([
          ['a', 1],
          ['b', maps(5)],
        ]),
        5,
      ),
    ).toBe(false);
    expect(withinDepth({ a: 1, b: { c: 2 }, d: objects(4) }, 5)).toBe(true);
  });

  it('null members do not count as levels', () => {
    expect(withinDepth([null, [null]], 2)).toBe(true);
    expect(withinDepth({ a: null, b: { c: null } }, 2)).toBe(true);
    expect(withinDepth(new Map([['a', null]]), 1)).toBe(true);
  });

  it('takes 100,000 levels without overflowing the stack', () => {
    expect(withinDepth(arrays(100_000))).toBe(false);
    expect(withinDepth(objects(100_000))).toBe(false);
    expect(withinDepth(arrays(100_000), 100_000)).toBe(true);
  });
});
