/** Small readers of values off the wire, for the protocol's modules. */

/** A value as a log line or a refusal quotes it: its JSON, cut at 40 characters. */
export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? 'nothing' : text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** A JSON object (not null, not a list). */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
