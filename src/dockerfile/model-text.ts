import type { Instruction, Run } from 'dockerfile-ast';
import type { ImageFacts } from './images.js';
import type { Stage } from './model.js';
import { mstr, NO_SOURCE, UNRESOLVED, type MStr } from './text.js';

/** Helpers of the model builder that read instruction text and paths, with no builder state. */

export function rootFacts(stage: Stage): ImageFacts | null {
  let current: Stage | null = stage;
  while (current?.parent) current = current.parent;
  return current?.facts ?? null;
}

export function splitSpaces(value: MStr): MStr[] {
  const parts: MStr[] = [];
  let start = -1;
  for (let index = 0; index <= value.text.length; index++) {
    const char = value.text[index];
    if (char === undefined || /\s/.test(char)) {
      if (start !== -1) parts.push(mstr.slice(value, start, index));
      start = -1;
    } else if (start === -1) start = index;
  }
  return parts;
}

export function normaliseContextPath(path: string): string | null {
  if (path.includes(UNRESOLVED)) return null;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(segment);
  }
  return out.join('/');
}

export function joinContext(dir: string, rest: string): string {
  const left = normaliseContextPath(dir) ?? '';
  return left === '' ? rest : `${left}/${rest}`;
}

export function argumentValues(
  instruction: Instruction,
  fromRange: (range: ReturnType<Instruction['getRange']>) => MStr,
): MStr[] {
  const args = instruction.getArguments();
  if (args.length > 0 && args[0]!.getValue().startsWith('[')) {
    const json = parseJsonArray(
      fromRange({ start: args[0]!.getRange().start, end: args[args.length - 1]!.getRange().end }),
    );
    if (json) return json;
  }
  return args.map((argument) => fromRange(argument.getRange()));
}

/**
 * Parses the exec (JSON array) form, keeping the source position of every decoded character; escaped characters
 * get no position so an edit never lands inside an escape sequence. Null when it is not a JSON string array.
 */
export function parseJsonArray(raw: MStr): MStr[] | null {
  const text = raw.text;
  let index = 0;
  const skipSpace = () => {
    while (
      index < text.length &&
      (/\s/.test(text[index]!) || (text[index] === '\\' && /^\\[ \t]*\r?\n/.test(text.slice(index))))
    ) {
      if (text[index] === '\\') index = text.indexOf('\n', index) + 1;
      else index++;
    }
  };
  skipSpace();
  if (text[index] !== '[') return null;
  index++;
  const values: MStr[] = [];
  for (;;) {
    skipSpace();
    if (text[index] === ']' && values.length === 0) {
      index++;
      break;
    }
    if (text[index] !== '"') return null;
    index++;
    let value = '';
    const src: number[] = [];
    while (index < text.length && text[index] !== '"') {
      if (text[index] === '\\') {
        const next = text[index + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (next === 'u') {
          value += String.fromCharCode(parseInt(text.slice(index + 2, index + 6), 16));
          index += 6;
        } else if (next !== undefined && simple[next] !== undefined) {
          value += simple[next];
          index += 2;
        } else return null;
        src.push(NO_SOURCE);
        continue;
      }
      value += text[index];
      src.push(raw.src[index] ?? NO_SOURCE);
      index++;
    }
    if (text[index] !== '"') return null;
    index++;
    values.push({ text: value, src });
    skipSpace();
    if (text[index] === ',') {
      index++;
      continue;
    }
    if (text[index] === ']') {
      index++;
      break;
    }
    return null;
  }
  skipSpace();
  return index >= text.length ? values : null;
}

export type RunScript = { kind: 'shell'; text: MStr } | { kind: 'exec'; argv: MStr[] } | { kind: 'none' };

/**
 * The text the shell runs for a RUN: Docker's line continuations removed (comment and empty lines inside a
 * continuation dropped), and for `RUN <<EOF` / `RUN bash <<EOF` the here-document body.
 */
export function runScript(
  run: Run,
  text: string,
  fileIndex: number,
  lineStarts: number[],
  escape: string,
  fromRange: (range: ReturnType<Instruction['getRange']>) => MStr,
): RunScript {
  const args = run.getArguments();
  if (args.length === 0) return { kind: 'none' };
  const argsRange = { start: args[0]!.getRange().start, end: args[args.length - 1]!.getRange().end };
  if (args[0]!.getValue().startsWith('[')) {
    const argv = parseJsonArray(fromRange(argsRange));
    if (argv) return { kind: 'exec', argv };
  }
  const endLine = run.getRange().end.line;
  const heredocs = args.some((arg) => arg.getValue().includes('<<')) ? run.getHeredocs() : [];
  const bodyStart = heredocs.find((heredoc) => heredoc.getContentRange() !== null)?.getContentRange()?.start.line;
  const lastCommandLine = bodyStart !== undefined ? bodyStart - 1 : endLine;
  const continuation = new RegExp(`${escape === '`' ? '`' : '\\\\'}[ \\t]*$`);
  const parts: MStr[] = [];
  let line = argsRange.start.line;
  let offset = (lineStarts[line] ?? text.length) + argsRange.start.character;
  for (;;) {
    const nextStart = lineStarts[line + 1];
    let lineEnd = nextStart === undefined ? text.length : nextStart - 1;
    if (text[lineEnd - 1] === '\r') lineEnd--;
    const segment = text.slice(offset, lineEnd);
    const match = continuation.exec(segment);
    if (match && line < lastCommandLine) {
      parts.push(mstr.fromFile(fileIndex, text, offset, offset + match.index));
      line++;
      while (line < lastCommandLine) {
        const start = lineStarts[line] ?? text.length;
        const end = lineStarts[line + 1] === undefined ? text.length : lineStarts[line + 1]! - 1;
        const content = text.slice(start, end);
        if (content.trim() === '' || /^\s*#/.test(content)) line++;
        else break;
      }
      offset = lineStarts[line] ?? text.length;
      if (offset >= text.length) break;
      continue;
    }
    parts.push(mstr.fromFile(fileIndex, text, offset, lineEnd));
    break;
  }
  const command = mstr.concat(parts);
  const withBody = heredocs.find((heredoc) => heredoc.getContentRange() !== null);
  if (withBody) {
    const range = withBody.getContentRange()!;
    const body = fromRange(range);
    const head = command.text.trim();
    if (
      /^(?:(?:\/usr)?\/bin\/)?(?:ba|da)?sh(?:\s+-[a-z]+)*\s+<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*$/.test(head) ||
      /^<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*$/.test(head)
    ) {
      return { kind: 'shell', text: body };
    }
  }
  return { kind: 'shell', text: command };
}
