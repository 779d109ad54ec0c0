/**
 * The deepest nesting of arrays and objects the supervisor reads. The Go
 * version's messages are three levels deep at most; recursive code (a JSON
 * encoder, a logger) given 5,000 levels overflows the stack, so deeper input is
 * refused where it enters, once, instead of guarded everywhere it goes.
 */
export const MAX_DEPTH = 32;

/**
 * Whether `value` nests arrays and objects at most `max` deep; iterative, so
 * that it cannot overflow the stack itself. Visits each value once, and stops
 * at the first one too deep.
 */
export function withinDepth(value: unknown, max = MAX_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return true;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (depth > max) return false;
    if (Array.isArray(item)) {
      for (const child of item) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    } else if (item instanceof Map) {
      for (const child of item.values()) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    } else {
      for (const key in item as Record<string, unknown>) {
        const child = (item as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
      }
    }
  }
  return true;
}
