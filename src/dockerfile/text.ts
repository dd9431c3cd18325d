/**
 * Mapped strings: text plus, for every character, where it came from (file and offset), so a finding can point at a
 * line and a fix can replace exactly the characters that spelled a version, even after variable expansion, quote
 * removal and line continuations.
 */

const FILE_STRIDE = 1 << 26;
/** Marks a character that does not come from any file (an expansion we could not resolve, a literal we made up). */
export const NO_SOURCE = -1;
/** Stands for text we could not resolve (an unset ARG, $(...), a base-image ENV): a private-use character. */
export const UNRESOLVED = '\uE000';

export interface SourceFile {
  /** Path relative to the build context, with forward slashes. */
  path: string;
  text: string;
  lineStarts: number[];
}

export interface Position {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

export class SourceSet {
  readonly files: SourceFile[] = [];
  private readonly byPath = new Map<string, number>();

  add(path: string, text: string): number {
    const existing = this.byPath.get(path);
    if (existing !== undefined) return existing;
    const lineStarts = [0];
    for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1))
      lineStarts.push(index + 1);
    this.files.push({ path, text, lineStarts });
    this.byPath.set(path, this.files.length - 1);
    return this.files.length - 1;
  }

  indexOf(path: string): number | undefined {
    return this.byPath.get(path);
  }

  file(index: number): SourceFile {
    const file = this.files[index];
    if (!file) throw new RangeError(`no source file #${index}`);
    return file;
  }

  /** Encodes (file, offset) as one number. */
  static encode(fileIndex: number, offset: number): number {
    return fileIndex * FILE_STRIDE + offset;
  }

  static fileOf(src: number): number {
    return Math.floor(src / FILE_STRIDE);
  }

  static offsetOf(src: number): number {
    return src % FILE_STRIDE;
  }

  position(src: number): Position {
    const file = this.file(SourceSet.fileOf(src));
    const offset = SourceSet.offsetOf(src);
    return { file: file.path, ...lineColumn(file.lineStarts, offset) };
  }

  /** 1-based line/column of an offset in a file. */
  lineColumnOf(fileIndex: number, offset: number): { line: number; column: number } {
    return lineColumn(this.file(fileIndex).lineStarts, offset);
  }

  lineText(fileIndex: number, line: number): string {
    const file = this.file(fileIndex);
    const start = file.lineStarts[line - 1] ?? file.text.length;
    const next = file.lineStarts[line];
    return file.text.slice(start, next === undefined ? file.text.length : next - 1).replace(/\r$/, '');
  }
}

function lineColumn(lineStarts: number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((lineStarts[middle] ?? 0) <= offset) low = middle;
    else high = middle - 1;
  }
  return { line: low + 1, column: offset - (lineStarts[low] ?? 0) + 1 };
}

/** A string with a source position for every character. */
export interface MStr {
  text: string;
  src: number[];
}

export const mstr = {
  empty(): MStr {
    return { text: '', src: [] };
  },
  literal(text: string): MStr {
    return { text, src: new Array<number>(text.length).fill(NO_SOURCE) };
  },
  /** Characters [start, end) of a file. */
  fromFile(fileIndex: number, text: string, start: number, end: number): MStr {
    const src = new Array<number>(end - start);
    const base = SourceSet.encode(fileIndex, 0);
    for (let index = start; index < end; index++) src[index - start] = base + index;
    return { text: text.slice(start, end), src };
  },
  concat(parts: readonly MStr[]): MStr {
    let text = '';
    const src: number[] = [];
    for (const part of parts) {
      text += part.text;
      for (const value of part.src) src.push(value);
    }
    return { text, src };
  },
  slice(value: MStr, start: number, end = value.text.length): MStr {
    return { text: value.text.slice(start, end), src: value.src.slice(start, end) };
  },
  trim(value: MStr): MStr {
    const start = value.text.length - value.text.trimStart().length;
    const end = value.text.trimEnd().length;
    return start >= end ? mstr.empty() : mstr.slice(value, start, end);
  },
  unresolved(): MStr {
    return { text: UNRESOLVED, src: [NO_SOURCE] };
  },
};

/** A contiguous range of one file that an edit can replace. */
export interface Span {
  file: number;
  start: number;
  end: number;
}

/**
 * The file range that produced characters [start, end) of a mapped string, when they are contiguous in one file
 * (so replacing the range changes exactly those characters). For an empty range, pass `anchor` to get an insertion
 * point right after character start-1 (or before character start).
 */
export function spanOf(value: MStr, start: number, end: number): Span | null {
  if (start >= end) {
    const before = start > 0 ? value.src[start - 1] : undefined;
    if (before !== undefined && before !== NO_SOURCE) {
      return {
        file: SourceSet.fileOf(before),
        start: SourceSet.offsetOf(before) + 1,
        end: SourceSet.offsetOf(before) + 1,
      };
    }
    const after = value.src[start];
    if (after !== undefined && after !== NO_SOURCE) {
      return { file: SourceSet.fileOf(after), start: SourceSet.offsetOf(after), end: SourceSet.offsetOf(after) };
    }
    return null;
  }
  const first = value.src[start];
  if (first === undefined || first === NO_SOURCE) return null;
  for (let index = start + 1; index < end; index++) {
    if (value.src[index] !== first + (index - start)) return null;
  }
  return {
    file: SourceSet.fileOf(first),
    start: SourceSet.offsetOf(first),
    end: SourceSet.offsetOf(first) + end - start,
  };
}

/** First mapped source position in the value, for pointing a finding at a line. */
export function firstSource(value: MStr): number | undefined {
  return value.src.find((src) => src !== NO_SOURCE);
}
