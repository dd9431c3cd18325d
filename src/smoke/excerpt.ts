import { OUTPUT_EXCERPT_MAX_CHARS, OUTPUT_EXCERPT_MAX_LINES } from '../build-model/smoke-schema.js';

const CUT_MARK = '…\n';

/** The tail of a command's output, bounded so a check stays small; a leading "…" line says earlier text was cut. */
export function excerpt(
  text: string,
  maxLines = OUTPUT_EXCERPT_MAX_LINES,
  maxChars = OUTPUT_EXCERPT_MAX_CHARS,
): string {
  const all = text.replace(/\r\n?/g, '\n').trimEnd();
  if (!all) return '';
  const lines = all.split('\n');
  let tail = lines.slice(-maxLines).join('\n');
  let cut = lines.length > maxLines;
  if (tail.length > maxChars) {
    tail = tail.slice(-(maxChars - CUT_MARK.length));
    cut = true;
  }
  return cut ? (CUT_MARK + tail).slice(-maxChars) : tail;
}

/** Drops the docker CLI's generic "Run 'docker run --help'" line, which would crowd out the real error. */
export function dockerOutput(stdout: string, stderr: string): string {
  const cleaned = stderr
    .split('\n')
    .filter((line) => !/^Run 'docker [a-z]+ --help' for more information/.test(line.trim()))
    .join('\n')
    .trim();
  return [stdout.trim(), cleaned].filter(Boolean).join('\n');
}

/** The first line that names an error, for one-line details. */
export function firstErrorLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (lines.find((line) => /error|cannot|denied|not found|no such/i.test(line)) ?? lines[0] ?? '').slice(0, 400);
}
