/**
 * Buildspec parsing for the emulator: JSON, or the block-style YAML subset buildspecs use
 * (mappings, `- ` sequences, plain/'single'/"double" quoted scalars, `|`/`>` block scalars with `-`/`+` chomping,
 * simple one-line flow `[a, b]`/`{a: b}` collections, `#` comments). Anchors, tags and multi-document streams are
 * refused rather than misread.
 */

export class YamlError extends Error {
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

interface Line {
  indent: number;
  text: string; // without indentation; comments not yet stripped
  number: number; // 1-based
}

function isBlank(text: string): boolean {
  const t = text.trim();
  return t === '' || t.startsWith('#');
}

/** Removes a trailing ` # comment` outside quotes. */
function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== undefined) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") {
      // A quote opens a quoted scalar only where a scalar starts; elsewhere (`echo "a`) it is a literal character,
      // as in YAML, so ` #` after it still starts a comment.
      const before = text.slice(0, i).trimEnd();
      if (before === '' || before === '-' || /(:|[[{,])$/.test(before)) quote = ch;
      continue;
    }
    if (ch === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** Index of the `:` that ends a mapping key (followed by space or end of line), outside quotes; -1 if none. */
function keySeparator(text: string): number {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== undefined) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if ((ch === '"' || ch === "'") && i === 0) {
      quote = ch;
      continue;
    }
    if (ch === '#' && i > 0 && /\s/.test(text[i - 1] ?? '')) return -1;
    if (ch === ':' && (i + 1 === text.length || text[i + 1] === ' ' || text[i + 1] === '\t')) return i;
  }
  return -1;
}

function parseDoubleQuoted(body: string, line: number): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = body[++i];
    switch (next) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case '"':
      case '\\':
      case '/':
        out += next;
        break;
      case 'u': {
        const hex = body.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new YamlError('bad \\u escape', line);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        throw new YamlError(`unsupported escape \\${next ?? ''}`, line);
    }
  }
  return out;
}

function splitFlow(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] ?? '';
    if (quote !== undefined) {
      current += ch;
      if (ch === '\\' && quote === '"') current += body[++i] ?? '';
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    if (ch === '[' || ch === '{') depth++;
    if (ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

/** A scalar or one-line flow collection. Plain scalars stay strings except `null`/`~`, which become null. */
export function parseScalar(raw: string, line = 0): unknown {
  const text = stripComment(raw).trim();
  if (text === '' || text === '~' || text === 'null') return null;
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new YamlError('unterminated double-quoted string', line);
    return parseDoubleQuoted(text.slice(1, -1), line);
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new YamlError('unterminated single-quoted string', line);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) throw new YamlError('unterminated flow sequence', line);
    return splitFlow(text.slice(1, -1)).map((part) => parseScalar(part, line));
  }
  if (text.startsWith('{')) {
    if (!text.endsWith('}')) throw new YamlError('unterminated flow mapping', line);
    const out: Record<string, unknown> = {};
    for (const part of splitFlow(text.slice(1, -1))) {
      const sep = keySeparator(part);
      if (sep < 0) throw new YamlError(`flow mapping entry without ':' (${part})`, line);
      out[String(parseScalar(part.slice(0, sep), line))] = parseScalar(part.slice(sep + 1), line);
    }
    return out;
  }
  if (/^[&*!]/.test(text)) throw new YamlError(`anchors, aliases and tags are not supported (${text})`, line);
  return text;
}

class YamlParser {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): unknown {
    this.skipBlank();
    if (this.i >= this.lines.length) return null;
    const first = this.peek();
    const value = this.parseNode(first?.indent ?? 0);
    this.skipBlank();
    const rest = this.peek();
    if (rest !== undefined) throw new YamlError(`unexpected content "${rest.text.trim()}"`, rest.number);
    return value;
  }

  private peek(): Line | undefined {
    return this.lines[this.i];
  }

  private skipBlank(): void {
    while (this.i < this.lines.length && isBlank(this.lines[this.i]?.text ?? '')) this.i++;
  }

  /** Parses the block node that starts at the next non-blank line, which must be indented at least `minIndent`. */
  private parseNode(minIndent: number): unknown {
    this.skipBlank();
    const line = this.peek();
    if (line === undefined || line.indent < minIndent) return null;
    const text = stripComment(line.text);
    if (text === '-' || text.startsWith('- ')) return this.parseSequence(line.indent);
    if (keySeparator(text) >= 0) return this.parseMapping(line.indent);
    this.i++;
    return parseScalar(text, line.number);
  }

  private parseMapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skipBlank();
      const line = this.peek();
      if (line === undefined || line.indent < indent) return out;
      if (line.indent > indent) throw new YamlError('bad indentation', line.number);
      const text = stripComment(line.text);
      const sep = keySeparator(text);
      if (sep < 0) {
        if (text === '-' || text.startsWith('- ')) return out; // a sequence at the parent's indentation
        throw new YamlError(`expected "key: value", got "${text}"`, line.number);
      }
      const key = String(parseScalar(text.slice(0, sep), line.number));
      if (key === '<<') throw new YamlError('merge keys are not supported', line.number);
      const rest = text.slice(sep + 1).trim();
      this.i++;
      out[key] = this.parseValueAfterIndicator(rest, indent, line.number, true);
    }
  }

  private parseSequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      this.skipBlank();
      const line = this.peek();
      if (line === undefined || line.indent < indent) return out;
      if (line.indent > indent) throw new YamlError('bad indentation', line.number);
      const text = stripComment(line.text);
      if (!(text === '-' || text.startsWith('- '))) return out;
      const rest = text.slice(1).trim();
      if (rest !== '' && !/^[|>]/.test(rest) && keySeparator(rest) >= 0 && !/^["'[{]/.test(rest)) {
        // "- key: value": a mapping whose first line shares the dash's line; its column is the content's.
        const offset = line.text.indexOf(rest);
        this.lines[this.i] = { indent: line.indent + offset, text: line.text.slice(offset), number: line.number };
        out.push(this.parseMapping(line.indent + offset));
        continue;
      }
      this.i++;
      out.push(this.parseValueAfterIndicator(rest, indent, line.number, false));
    }
  }

  /** The value after `key:` or `-`: inline scalar, block scalar, or a nested block on the following lines. */
  private parseValueAfterIndicator(rest: string, indent: number, lineNumber: number, inMapping: boolean): unknown {
    if (/^[|>][-+]?\d*$/.test(rest)) return this.parseBlockScalar(rest, indent);
    if (rest !== '') return parseScalar(rest, lineNumber);
    this.skipBlank();
    const next = this.peek();
    if (next === undefined) return null;
    if (next.indent > indent) return this.parseNode(indent + 1);
    // YAML allows "key:\n- item" with the dash at the key's own indentation.
    const nextText = stripComment(next.text);
    if (inMapping && next.indent === indent && (nextText === '-' || nextText.startsWith('- '))) {
      return this.parseSequence(indent);
    }
    return null;
  }

  private parseBlockScalar(header: string, parentIndent: number): string {
    const folded = header.startsWith('>');
    const chomp = header.includes('-') ? 'strip' : header.includes('+') ? 'keep' : 'clip';
    const explicit = /\d/.exec(header);
    const raw: { indent: number; text: string }[] = [];
    let contentIndent = explicit ? parentIndent + Number(explicit[0]) : -1;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line === undefined) break;
      const blank = line.text.trim() === '';
      if (!blank) {
        if (contentIndent < 0) {
          if (line.indent <= parentIndent) break;
          contentIndent = line.indent;
        }
        if (line.indent < contentIndent) break;
      }
      raw.push({ indent: line.indent, text: line.text });
      this.i++;
    }
    const contentLines = raw.map((l) =>
      l.text.trim() === '' ? '' : ' '.repeat(Math.max(0, l.indent - contentIndent)) + l.text,
    );
    let trailing = 0;
    while (contentLines.length > 0 && contentLines[contentLines.length - 1] === '') {
      contentLines.pop();
      trailing++;
    }
    let body: string;
    if (folded) {
      // Folding: a line break between two text lines becomes a space; each empty line is one newline; lines
      // indented more than the block keep their line breaks.
      body = '';
      let previous: 'none' | 'text' | 'empty' | 'more' = 'none';
      for (const current of contentLines) {
        if (current === '') {
          body += '\n';
          previous = 'empty';
          continue;
        }
        const more = current.startsWith(' ');
        if (previous === 'text' && !more) body += ' ';
        else if (previous === 'more' || (previous === 'text' && more)) body += '\n';
        body += current;
        previous = more ? 'more' : 'text';
      }
    } else {
      body = contentLines.join('\n');
    }
    if (contentLines.length === 0) return chomp === 'keep' ? '\n'.repeat(trailing) : '';
    if (chomp === 'strip') return body;
    if (chomp === 'keep') return body + '\n' + '\n'.repeat(trailing);
    return body + '\n';
  }
}

/** Parses JSON or the YAML subset described above. */
export function parseYamlSubset(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      // fall through: a YAML flow collection
    }
  }
  const lines: Line[] = [];
  const raw = text.replace(/\r\n?/g, '\n').split('\n');
  raw.forEach((lineText, index) => {
    if (lineText.includes('\t') && /^\s*\t/.test(lineText)) {
      throw new YamlError('tabs are not allowed for indentation', index + 1);
    }
    const content = lineText.replace(/^ +/, '');
    if (content === '---' || content === '...') {
      if (index === 0 || content === '...') return;
      throw new YamlError('multiple documents are not supported', index + 1);
    }
    lines.push({ indent: lineText.length - content.length, text: content, number: index + 1 });
  });
  return new YamlParser(lines).parseDocument();
}

export const PHASE_KEYS = ['install', 'pre_build', 'build', 'post_build'] as const;
export type PhaseKey = (typeof PHASE_KEYS)[number];

export interface BuildspecPhase {
  commands: string[];
  finally: string[];
  onFailure: 'ABORT' | 'CONTINUE';
}

export interface Buildspec {
  version: string;
  variables: Record<string, string>;
  shell: string;
  phases: Partial<Record<PhaseKey, BuildspecPhase>>;
}

function stringList(value: unknown, where: string): string[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new YamlError(`${where} must be a list`);
  return value.map((item, index) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw new YamlError(`${where}[${index}] must be a string`);
  });
}

/** Parses and validates a buildspec (version 0.1/0.2). Throws YamlError with a CodeBuild-like message. */
export function parseBuildspec(text: string): Buildspec {
  const doc = parseYamlSubset(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new YamlError('buildspec must be a mapping');
  }
  const root = doc as Record<string, unknown>;
  const version = root['version'] === undefined ? undefined : String(root['version']);
  if (version !== '0.1' && version !== '0.2') {
    throw new YamlError(`invalid buildspec version: ${version ?? 'missing'} (expected 0.1 or 0.2)`);
  }
  const env = (root['env'] ?? {}) as Record<string, unknown>;
  for (const unsupported of ['parameter-store', 'secrets-manager']) {
    if (env[unsupported] !== undefined) throw new YamlError(`env.${unsupported} is not supported by the emulator`);
  }
  const variables: Record<string, string> = {};
  const rawVariables = env['variables'] ?? {};
  if (typeof rawVariables !== 'object' || rawVariables === null || Array.isArray(rawVariables)) {
    throw new YamlError('env.variables must be a mapping');
  }
  for (const [name, value] of Object.entries(rawVariables)) {
    variables[name] = value === null ? '' : String(value);
  }
  const shell = typeof env['shell'] === 'string' ? env['shell'] : 'bash';
  const phases: Partial<Record<PhaseKey, BuildspecPhase>> = {};
  const rawPhases = (root['phases'] ?? {}) as Record<string, unknown>;
  if (typeof rawPhases !== 'object' || Array.isArray(rawPhases)) throw new YamlError('phases must be a mapping');
  for (const key of Object.keys(rawPhases)) {
    if (!(PHASE_KEYS as readonly string[]).includes(key)) throw new YamlError(`unknown phase "${key}"`);
  }
  for (const key of PHASE_KEYS) {
    const raw = rawPhases[key];
    if (raw === undefined || raw === null) continue;
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new YamlError(`phases.${key} must be a mapping`);
    const phase = raw as Record<string, unknown>;
    const onFailure = phase['on-failure'] === undefined ? 'ABORT' : String(phase['on-failure']);
    if (onFailure !== 'ABORT' && onFailure !== 'CONTINUE') {
      throw new YamlError(`phases.${key}.on-failure must be ABORT or CONTINUE`);
    }
    phases[key] = {
      commands: stringList(phase['commands'], `phases.${key}.commands`),
      finally: stringList(phase['finally'], `phases.${key}.finally`),
      onFailure,
    };
  }
  return { version, variables, shell, phases };
}
