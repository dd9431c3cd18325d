/** Characters JSON.stringify leaves as they are but a terminal or a reader may act on: C1 controls, bidi overrides. */
const INVISIBLE = /[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu;

/**
 * A value quoted for a message: escaped like JSON, with C1 controls and bidi marks shown as `\uXXXX`, and at most
 * `max` characters of it, so a 1 MB bad value costs its reader a line, not a megabyte.
 */
export function quoted(value: string, max = 80): string {
  const characters = Array.from(value);
  const shown = characters.length > max ? characters.slice(0, max).join('') : value;
  const escaped = JSON.stringify(shown).replace(
    INVISIBLE,
    (character) => `\\u${character.codePointAt(0)?.toString(16).padStart(4, '0')}`,
  );
  return characters.length > max ? `${escaped}… (${characters.length} characters)` : escaped;
}

/**
 * One argument for a POSIX shell command line that a next step suggests: left bare when it holds only characters no
 * shell treats specially, otherwise single-quoted (a `'` inside becomes `'\''`), so pasting it never runs anything.
 */
export function shellQuote(argument: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** A command line of shell-quoted arguments. */
export function shellLine(...words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
