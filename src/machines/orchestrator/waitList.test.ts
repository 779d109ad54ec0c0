import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crossOff, nobodyLeft, stillAwaited, waitFor } from './waitList.js';

describe('the wait list of a shutdown', () => {
  it('waits for every id given until each is crossed off, in any order', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 300 })
          .map((clusters) => Array.from({ length: clusters }, (_, id) => id))
          .chain((ids) => fc.tuple(fc.constant(ids), fc.shuffledSubarray(ids, { minLength: ids.length }))),
        ([ids, order]) => {
          let list = waitFor(ids);
          const left = new Set(ids);
          for (const id of order) {
            expect(nobodyLeft(list)).toBe(false);
            list = crossOff(list, id);
            left.delete(id);
            expect(stillAwaited(list)).toEqual([...left]);
          }
          expect(nobodyLeft(list)).toBe(true);
        },
      ),
      { numRuns: 40, seed: 19 },
    );
  });

  it('a second report, or an id that was not waited for, changes nothing', () => {
    const list = crossOff(waitFor([0, 1, 2, 300]), 1);
    for (const id of [1, 3, 299, 301, 1000, -1, 0.5, NaN]) expect(crossOff(list, id)).toBe(list);
    expect(stillAwaited(list)).toEqual([0, 2, 300]);
  });

  it('crossing one off leaves the list it came from as it was', () => {
    const before = waitFor([0, 1, 200]);
    const after = crossOff(before, 200);
    expect(stillAwaited(before)).toEqual([0, 1, 200]);
    expect(stillAwaited(after)).toEqual([0, 1]);
  });

  it('crossing one off copies its own group only: the others are shared with the list it came from', () => {
    const ids = Array.from({ length: 10_000 }, (_, id) => id);
    const before = waitFor(ids);
    const after = crossOff(before, 5000);
    const changed = after.flatMap((group, g) => (group === before[g] ? [] : [g]));
    expect(changed).toHaveLength(1);
  });

  it('nobody to wait for: an empty list', () => {
    expect(nobodyLeft(waitFor([]))).toBe(true);
    expect(stillAwaited(waitFor([]))).toEqual([]);
  });
});
