import { createTwoFilesPatch } from 'diff';

/**
 * A replacement of a range of one file's text. Lines and columns are 1-based; the end column is exclusive,
 * so an edit touches exactly the characters a finding points at and leaves the rest of the line alone.
 */
export interface TextEdit {
  /** Path of the file, relative to the build context. */
  file: string;
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
  newText: string;
}

function offsetOf(lineStarts: number[], text: string, line: number, column: number): number {
  const start = lineStarts[line - 1];
  if (start === undefined) throw new RangeError(`line ${line} is outside the text (${lineStarts.length} lines)`);
  const offset = start + column - 1;
  if (offset > text.length) throw new RangeError(`column ${column} is outside line ${line}`);
  return offset;
}

function lineStartOffsets(text: string): number[] {
  const starts = [0];
  for (let index = 0; index < text.length; index++) if (text[index] === '\n') starts.push(index + 1);
  return starts;
}

/**
 * Applies edits to one file's text. Edits must not overlap; they are applied from the end so earlier offsets stay valid.
 */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  const lineStarts = lineStartOffsets(text);
  const resolved = edits
    .map((edit) => ({
      start: offsetOf(lineStarts, text, edit.startLine, edit.startColumn),
      end: offsetOf(lineStarts, text, edit.endLine, edit.endColumn),
      newText: edit.newText,
    }))
    .sort((a, b) => b.start - a.start);
  for (let index = 1; index < resolved.length; index++) {
    const later = resolved[index - 1]!;
    const earlier = resolved[index]!;
    if (earlier.end > later.start) throw new Error('overlapping text edits');
  }
  let result = text;
  for (const edit of resolved) result = result.slice(0, edit.start) + edit.newText + result.slice(edit.end);
  return result;
}

/** A unified diff of one file, with a/ and b/ prefixes as git prints them. */
export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context: 3 });
}
