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
