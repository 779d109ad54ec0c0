/**
 * JSON as the Go mewld writes it, byte for byte (docs/protocol.md): what the
 * supervisor publishes must compare equal to what the Go version published.
 */

/**
 * JSON as Go's encoding/json writes it: maps (a JS `Map`) with their keys
 * sorted as strings, structs (plain objects) in field order, and the same
 * escapes of <, >, & and the line separators, so that byte-for-byte
 * comparisons with the Go mewld hold.
 */
export function goJson(value: unknown): string {
  if (value instanceof Encoded) return value.json;
  // Without a Map inside, Go's encoding is JSON.stringify's (which is native and far faster).
  if (!hasMap(value)) return goStringify(value);
  if (value instanceof Map) {
    const keys = [...value.keys()].map(String).sort();
    return members(keys, (k) => value.get(k) ?? value.get(Number(k)));
  }
  if (Array.isArray(value)) {
    let json = '[';
    value.forEach((item, i) => (json += (i > 0 ? ',' : '') + goJson(item)));
    return json + ']';
  }
  // A struct with a map somewhere inside: its fields in order, undefined ones left out (as JSON.stringify does).
  const struct = value as Record<string, unknown>;
  return members(
    Object.keys(struct).filter((k) => struct[k] !== undefined),
    (k) => struct[k],
  );
}

/**
 * A value whose Go JSON is worked out once, for the parts of a payload that
 * are sent again and again unchanged (a cluster's line in `statuses`). Its
 * plain form, for the IPC bus, is worked out once too, on first use.
 */
export class Encoded {
  readonly json: string;
  #plain: { value: unknown } | undefined;
  constructor(readonly value: unknown) {
    this.json = goJson(value);
  }
  get plain(): unknown {
    return (this.#plain ??= { value: plain(this.value) }).value;
  }
}

const GO_ESCAPED = /[<>&\u2028\u2029]/g;
/** JSON.stringify's output with Go's escapes; those characters only occur inside JSON strings, so escaping each piece is escaping the whole. */
const goStringify = (value: unknown) =>
  (JSON.stringify(value) ?? 'null').replace(GO_ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// Pieces are joined with +, not Array#join: V8 links them instead of copying, so a
// large part encoded ahead of time (a statuses payload) is copied once, when it is written.
function members(keys: readonly string[], valueOf: (key: string) => unknown): string {
  let json = '{';
  keys.forEach((k, i) => (json += (i > 0 ? ',' : '') + goStringify(k) + ':' + goJson(valueOf(k))));
  return json + '}';
}

function hasMap(value: unknown): boolean {
  if (value instanceof Map || value instanceof Encoded) return true;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasMap);
  for (const key in value) if (hasMap((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** A Go map[string]any: encoded with sorted keys. */
export const goMap = (entries: Record<string, unknown>) => new Map(Object.entries(entries));

/** The same value with Maps turned into plain objects, for transports that serialize by themselves (IPC). */
export function plain(value: unknown): unknown {
  if (!hasMap(value)) return value;
  if (value instanceof Encoded) return value.plain;
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/**
 * An object's fields as Go's json.Unmarshal reads them into a struct: a key
 * spelled as the field's tag is taken first, otherwise one equal to it but for
 * case ("Nonce", "NONCE" and "nonce" fill the same field). Keys of no field are
 * left out. Clusters written for the Go version rely on this: Rust's serde
 * renames, a C# serializer's PascalCase.
 */
export function goFields<K extends string>(object: Record<string, unknown>, fields: readonly K[]): Partial<Record<K, unknown>> {
  const out: Partial<Record<K, unknown>> = {};
  const keys = Object.keys(object);
  for (const field of fields) {
    if (Object.hasOwn(object, field)) {
      out[field] = object[field];
      continue;
    }
    const lower = field.toLowerCase();
    const key = keys.find((k) => k.toLowerCase() === lower);
    if (key !== undefined) out[field] = object[key];
  }
  return out;
}
