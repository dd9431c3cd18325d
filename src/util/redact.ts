/** What a secret value is replaced with in logs, records and replies. */
export const REDACTED = '[redacted]';

/** Values shorter than this are not replaced: they would match ordinary text everywhere and say nothing. */
const MIN_REDACTED_LENGTH = 3;

/**
 * A function that replaces every occurrence of the values in a text (longest first, so a value that contains
 * another is replaced whole). A value with several lines (a secret file) is also replaced line by line, since a
 * build log shows it one line at a time.
 */
export function redactor(values: Iterable<string>): (text: string) => string {
  const parts = new Set<string>();
  for (const value of values) {
    for (const part of [value, value.trim(), ...value.split(/\r?\n/).map((line) => line.trim())]) {
      if (part.length >= MIN_REDACTED_LENGTH) parts.add(part);
    }
  }
  const sorted = [...parts].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (text) => text;
  return (text) => sorted.reduce((current, value) => current.split(value).join(REDACTED), text);
}

/**
 * `value` with `redact` applied to every string in it (objects and arrays copied): for what a parser made of the
 * output, such as rawjson's base64 log data, which a redaction of the raw line cannot see.
 */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, redact)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)])) as T;
  }
  return value;
}
