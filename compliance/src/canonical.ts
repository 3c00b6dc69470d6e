// Canonical JSON (the RFC 8785 / JCS shape for the values we sign and hash): object keys
// sorted by UTF-16 code units, no whitespace, ECMAScript number and string spelling. Two
// parties that hold the same value produce the same bytes, so a hash or signature over
// them can be recomputed by an auditor with any JCS implementation.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  constructor(
    /** Where in the value, e.g. `details.count` (never the value itself). */
    readonly path: string,
    readonly reason: 'non-finite-number' | 'unsupported-type',
  ) {
    super(`cannot encode ${path} canonically: ${reason}`);
  }
}

function encode(value: unknown, path: string): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(path, 'non-finite-number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).sort();
    const members = keys.map(
      (k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], `${path}.${k}`)}`,
    );
    return `{${members.join(',')}}`;
  }
  // undefined, functions, Dates, Buffers, class instances: their JSON form is ambiguous.
  throw new CanonicalJsonError(path, 'unsupported-type');
}

/** The canonical encoding of a JSON value; throws CanonicalJsonError for anything JSON cannot carry exactly. */
export function canonicalJson(value: unknown, rootName = '$'): string {
  return encode(value, rootName);
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
