import { mstr, NO_SOURCE, UNRESOLVED, type MStr } from './text.js';

/**
 * A small POSIX-shell reader, enough to find package installs in RUN lines: quoting, escapes, parameter expansion
 * (with the positions of every character kept), &&/||/; chains, pipelines, if/case/for/while, heredocs, redirections,
 * `bash -c` strings and scripts the build runs. Tests (`[ ... ]`) with known values are evaluated, so
 * `[ ${#X} -gt 0 ] && V=a || V=b` takes the branch Docker would take. Anything it cannot know is "unresolved", never
 * guessed.
 */

export type Quote = 0 | 1 | 2;

export type WordPart =
  | { t: 'lit'; v: MStr; q: Quote }
  | { t: 'param'; name: string; op: string; arg: WordPart[] | null; q: Quote }
  | { t: 'len'; name: string; q: Quote }
  | { t: 'sub'; q: Quote };

export interface Word {
  parts: WordPart[];
  /** Index of the first and after-last character in the script. */
  start: number;
  end: number;
}

type Token = { k: 'w'; w: Word } | { k: 'op'; op: string; pos: number } | { k: 'nl'; pos: number };

const OPERATORS = [
  '&&',
  '||',
  ';;&',
  ';;',
  ';&',
  '|&',
  '<<<',
  '<<-',
  '<<',
  '>>',
  '>&',
  '<&',
  '>|',
  '<>',
  '&>',
  ';',
  '&',
  '|',
  '(',
  ')',
  '<',
  '>',
];
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const SPECIAL_PARAMS = '@*#?$!-0123456789';

class Builder {
  text = '';
  src: number[] = [];
  push(char: string, src: number): void {
    this.text += char;
    this.src.push(src);
  }
  take(): MStr {
    const value = { text: this.text, src: this.src };
    this.text = '';
    this.src = [];
    return value;
  }
  get length(): number {
    return this.text.length;
  }
}

/** One pass of the lexer over a script: the position and pending here-documents, one method per kind of text. */
class Lexer {
  private readonly s: string;
  private readonly tokens: Token[] = [];
  private index = 0;
  private readonly pendingHeredocs: Array<{ delimiter: string; strip: boolean }> = [];
  private heredocOperator: string | null = null;

  constructor(private readonly script: MStr) {
    this.s = script.text;
  }

  readWord(stopAtRightBrace = false): Word {
    const start = this.index;
    const parts: WordPart[] = [];
    const literal = new Builder();
    const flush = (q: Quote) => {
      if (literal.length > 0) parts.push({ t: 'lit', v: literal.take(), q });
    };
    while (this.index < this.s.length) {
      const char = this.s[this.index]!;
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r') break;
      if (stopAtRightBrace && char === '}') break;
      if (';&|()<>'.includes(char)) break;
      if (char === '\\') {
        const next = this.s[this.index + 1];
        if (next === '\n') {
          this.index += 2;
          continue;
        }
        if (next !== undefined) literal.push(next, this.script.src[this.index + 1] ?? NO_SOURCE);
        this.index += 2;
        continue;
      }
      if (char === "'") {
        flush(0);
        const close = this.s.indexOf("'", this.index + 1);
        const end = close === -1 ? this.s.length : close;
        parts.push({ t: 'lit', v: mstr.slice(this.script, this.index + 1, end), q: 1 });
        this.index = end + 1;
        continue;
      }
      if (char === '"') {
        flush(0);
        this.index++;
        this.readDoubleQuoted(parts);
        continue;
      }
      if (char === '$' || char === '`') {
        flush(0);
        this.readDollar(parts, 0);
        continue;
      }
      literal.push(char, this.script.src[this.index] ?? NO_SOURCE);
      this.index++;
    }
    flush(0);
    return { parts, start, end: this.index };
  }

  readDoubleQuoted(parts: WordPart[]): void {
    const literal = new Builder();
    const flush = () => {
      if (literal.length > 0) parts.push({ t: 'lit', v: literal.take(), q: 2 });
    };
    // An empty "" still makes a (possibly empty) word.
    parts.push({ t: 'lit', v: mstr.empty(), q: 2 });
    while (this.index < this.s.length && this.s[this.index] !== '"') {
      const char = this.s[this.index]!;
      if (char === '\\' && this.index + 1 < this.s.length && '$`"\\\n'.includes(this.s[this.index + 1]!)) {
        if (this.s[this.index + 1] !== '\n')
          literal.push(this.s[this.index + 1]!, this.script.src[this.index + 1] ?? NO_SOURCE);
        this.index += 2;
        continue;
      }
      if (char === '$' || char === '`') {
        flush();
        this.readDollar(parts, 2);
        continue;
      }
      literal.push(char, this.script.src[this.index] ?? NO_SOURCE);
      this.index++;
    }
    flush();
    this.index++; // closing quote
  }

  /** Skips a balanced (...) or `...` region starting at this.index (which points at the opening char). */
  skipBalanced(open: string, close: string): void {
    let depth = 0;
    while (this.index < this.s.length) {
      const char = this.s[this.index]!;
      if (char === '\\') {
        this.index += 2;
        continue;
      }
      if (char === "'" && open !== '`') {
        const end = this.s.indexOf("'", this.index + 1);
        this.index = end === -1 ? this.s.length : end + 1;
        continue;
      }
      if (char === open && open !== close) depth++;
      else if (char === close) {
        if (open === close) {
          if (depth === 0) {
            depth = 1;
          } else {
            this.index++;
            return;
          }
        } else {
          depth--;
          if (depth === 0) {
            this.index++;
            return;
          }
        }
      }
      this.index++;
    }
  }

  readDollar(parts: WordPart[], q: Quote): void {
    const char = this.s[this.index]!;
    if (char === '`') {
      this.skipBalanced('`', '`');
      parts.push({ t: 'sub', q });
      return;
    }
    const next = this.s[this.index + 1];
    if (next === '(') {
      this.index++;
      this.skipBalanced('(', ')');
      parts.push({ t: 'sub', q });
      return;
    }
    if (next === '{') {
      this.index += 2;
      this.readBraceParam(parts, q);
      return;
    }
    if (next !== undefined && NAME_START.test(next)) {
      let end = this.index + 2;
      while (end < this.s.length && NAME_CHAR.test(this.s[end]!)) end++;
      parts.push({ t: 'param', name: this.s.slice(this.index + 1, end), op: '', arg: null, q });
      this.index = end;
      return;
    }
    if (next !== undefined && SPECIAL_PARAMS.includes(next)) {
      parts.push({ t: 'param', name: next, op: '', arg: null, q });
      this.index += 2;
      return;
    }
    parts.push({ t: 'lit', v: mstr.slice(this.script, this.index, this.index + 1), q });
    this.index++;
  }

  readBraceParam(parts: WordPart[], q: Quote): void {
    // this.index points just after '${'
    if (this.s[this.index] === '#' && this.index + 1 < this.s.length && NAME_START.test(this.s[this.index + 1]!)) {
      let end = this.index + 1;
      while (end < this.s.length && NAME_CHAR.test(this.s[end]!)) end++;
      if (this.s[end] === '}') {
        parts.push({ t: 'len', name: this.s.slice(this.index + 1, end), q });
        this.index = end + 1;
        return;
      }
    }
    let end = this.index;
    if (end < this.s.length && NAME_START.test(this.s[end]!))
      while (end < this.s.length && NAME_CHAR.test(this.s[end]!)) end++;
    else if (end < this.s.length && SPECIAL_PARAMS.includes(this.s[end]!)) end++;
    const name = this.s.slice(this.index, end);
    this.index = end;
    const opMatch = /^(:-|:=|:\+|:\?|##|%%|\/\/|\^\^|,,|[-=+?#%/:^,])/.exec(this.s.slice(this.index, this.index + 2));
    const op = opMatch ? opMatch[0] : '';
    this.index += op.length;
    // find the matching }
    const argStart = this.index;
    let depth = 1;
    while (this.index < this.s.length) {
      const char = this.s[this.index]!;
      if (char === '\\') {
        this.index += 2;
        continue;
      }
      if (char === "'" && q !== 2) {
        const close = this.s.indexOf("'", this.index + 1);
        this.index = close === -1 ? this.s.length : close + 1;
        continue;
      }
      if (char === '$' && this.s[this.index + 1] === '{') {
        depth++;
        this.index += 2;
        continue;
      }
      if (char === '}') {
        depth--;
        if (depth === 0) break;
      }
      this.index++;
    }
    const argEnd = this.index;
    this.index++; // skip }
    let arg: WordPart[] | null = null;
    if (op !== '') {
      const inner = lexWordParts(mstr.slice(this.script, argStart, argEnd), q);
      arg = inner;
    }
    if (name === '') {
      parts.push({ t: 'sub', q });
      return;
    }
    parts.push({ t: 'param', name, op, arg, q });
  }

  skipHeredocBodies(): void {
    while (this.pendingHeredocs.length > 0) {
      const { delimiter, strip } = this.pendingHeredocs.shift()!;
      while (this.index < this.s.length) {
        let lineEnd = this.s.indexOf('\n', this.index);
        if (lineEnd === -1) lineEnd = this.s.length;
        let line = this.s.slice(this.index, lineEnd).replace(/\r$/, '');
        if (strip) line = line.replace(/^\t+/, '');
        this.index = lineEnd + 1;
        if (line === delimiter) break;
      }
    }
  }

  run(): Token[] {
    while (this.index < this.s.length) {
      const char = this.s[this.index]!;
      if (char === ' ' || char === '\t' || char === '\r') {
        this.index++;
        continue;
      }
      if (char === '\\' && this.s[this.index + 1] === '\n') {
        this.index += 2;
        continue;
      }
      if (char === '\n') {
        this.tokens.push({ k: 'nl', pos: this.index });
        this.index++;
        if (this.pendingHeredocs.length > 0) this.skipHeredocBodies();
        continue;
      }
      if (char === '#') {
        const end = this.s.indexOf('\n', this.index);
        this.index = end === -1 ? this.s.length : end;
        continue;
      }
      const fd = /^\d+(?=[<>])/.exec(this.s.slice(this.index, this.index + 4));
      if (fd) this.index += fd[0].length;
      const operator = OPERATORS.find((candidate) => this.s.startsWith(candidate, this.index));
      if (operator) {
        this.tokens.push({ k: 'op', op: operator, pos: this.index });
        this.index += operator.length;
        if (operator === '<<' || operator === '<<-') this.heredocOperator = operator;
        continue;
      }
      const word = this.readWord();
      if (word.end === word.start) {
        this.index++; // never loop forever on an unexpected character
        continue;
      }
      if (this.heredocOperator) {
        const delimiter = word.parts.map((part) => (part.t === 'lit' ? part.v.text : '')).join('');
        this.pendingHeredocs.push({ delimiter, strip: this.heredocOperator === '<<-' });
        this.heredocOperator = null;
      }
      this.tokens.push({ k: 'w', w: word });
    }
    return this.tokens;
  }
}

/** Splits a script into words and operators. */
export function lex(script: MStr): Token[] {
  return new Lexer(script).run();
}

/** Lexes a string (a ${x:-default} argument) as the parts of one word, keeping the surrounding quoting. */
function lexWordParts(value: MStr, q: Quote): WordPart[] {
  if (q === 2) {
    // inside double quotes: only $ and ` are special
    const wrapped = mstr.concat([mstr.literal('"'), value, mstr.literal('"')]);
    const tokens = lex(wrapped);
    const first = tokens[0];
    return first && first.k === 'w' ? first.w.parts.filter((part) => !(part.t === 'lit' && part.v.text === '')) : [];
  }
  const tokens = lex(value);
  const parts: WordPart[] = [];
  for (const token of tokens) if (token.k === 'w') parts.push(...token.w.parts);
  return parts;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

export type Node =
  | { k: 'simple'; words: Word[]; redirects: Array<{ op: string; target: Word | null }>; pos: number }
  | { k: 'if'; branches: Array<{ cond: Node[]; body: Node[] }>; otherwise: Node[] | null }
  | { k: 'case'; word: Word | null; arms: Array<{ patterns: Word[]; body: Node[] }> }
  | { k: 'loop'; body: Node[] }
  | { k: 'group'; body: Node[] }
  | { k: 'andor'; first: Node; rest: Array<{ op: '&&' | '||'; node: Node }> }
  | { k: 'pipeline'; negate: boolean; commands: Node[] };

const RESERVED = new Set([
  'if',
  'then',
  'elif',
  'else',
  'fi',
  'case',
  'esac',
  'for',
  'while',
  'until',
  'do',
  'done',
  '{',
  '}',
  '!',
  'in',
]);

function plainText(word: Word): string | null {
  if (word.parts.length !== 1) return null;
  const part = word.parts[0]!;
  return part.t === 'lit' && part.q === 0 ? part.v.text : null;
}

/** A recursive-descent parser over the tokens of one script: lists, and-or lists, pipelines, commands. */
class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(script: MStr) {
    this.tokens = lex(script);
  }

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  reservedAt(): string | null {
    const token = this.peek();
    if (!token || token.k !== 'w') return null;
    const text = plainText(token.w);
    return text !== null && RESERVED.has(text) ? text : null;
  }

  skipNewlines() {
    while (this.peek()?.k === 'nl' || (this.peek()?.k === 'op' && (this.peek() as { op: string }).op === ';'))
      this.index++;
  }

  expectWord(text: string) {
    this.skipNewlines();
    if (this.reservedAt() === text) this.index++;
  }

  parseList(terminators: ReadonlySet<string>): Node[] {
    const nodes: Node[] = [];
    let guard = 0;
    while (this.index < this.tokens.length && guard++ < 100000) {
      this.skipNewlines();
      const token = this.peek();
      if (!token) break;
      const reserved = this.reservedAt();
      if (reserved && terminators.has(reserved)) break;
      if (token.k === 'op' && (token.op === ')' || token.op.startsWith(';;') || token.op === ';&')) {
        if (terminators.has(token.op) || terminators.has(')')) break;
        this.index++;
        continue;
      }
      if (token.k === 'op' && token.op === '&') {
        this.index++;
        continue;
      }
      const before = this.index;
      const node = this.parseAndOr(terminators);
      if (node) nodes.push(node);
      if (this.index === before) this.index++;
    }
    return nodes;
  }

  parseAndOr(terminators: ReadonlySet<string>): Node | null {
    const first = this.parsePipeline(terminators);
    if (!first) return null;
    const rest: Array<{ op: '&&' | '||'; node: Node }> = [];
    for (;;) {
      const token = this.peek();
      if (!token || token.k !== 'op' || (token.op !== '&&' && token.op !== '||')) break;
      this.index++;
      while (this.peek()?.k === 'nl') this.index++;
      const node = this.parsePipeline(terminators);
      if (!node) break;
      rest.push({ op: token.op, node });
    }
    return rest.length === 0 ? first : { k: 'andor', first, rest };
  }

  parsePipeline(terminators: ReadonlySet<string>): Node | null {
    let negate = false;
    if (this.reservedAt() === '!') {
      negate = true;
      this.index++;
    }
    const commands: Node[] = [];
    for (;;) {
      const command = this.parseCommand(terminators);
      if (!command) break;
      commands.push(command);
      const token = this.peek();
      if (token && token.k === 'op' && (token.op === '|' || token.op === '|&')) {
        this.index++;
        while (this.peek()?.k === 'nl') this.index++;
        continue;
      }
      break;
    }
    if (commands.length === 0) return null;
    return commands.length === 1 && !negate ? commands[0]! : { k: 'pipeline', negate, commands };
  }

  parseCommand(terminators: ReadonlySet<string>): Node | null {
    const reserved = this.reservedAt();
    if (reserved && terminators.has(reserved)) return null;
    if (reserved === 'if') return this.parseIf();
    if (reserved === 'case') return this.parseCase();
    if (reserved === 'for' || reserved === 'while' || reserved === 'until') return this.parseLoop(reserved);
    if (reserved === '{') {
      this.index++;
      const body = this.parseList(new Set(['}']));
      this.expectWord('}');
      return { k: 'group', body };
    }
    const token = this.peek();
    if (!token) return null;
    if (token.k === 'op' && token.op === '(') {
      this.index++;
      const body = this.parseList(new Set([')']));
      if (this.peek()?.k === 'op' && (this.peek() as { op: string }).op === ')') this.index++;
      return { k: 'group', body };
    }
    return this.parseSimple(token, terminators);
  }

  parseIf(): Node {
    this.index++;
    const branches: Array<{ cond: Node[]; body: Node[] }> = [];
    let otherwise: Node[] | null = null;
    let cond = this.parseList(new Set(['then']));
    this.expectWord('then');
    let body = this.parseList(new Set(['elif', 'else', 'fi']));
    branches.push({ cond, body });
    for (;;) {
      const next = this.reservedAt();
      if (next === 'elif') {
        this.index++;
        cond = this.parseList(new Set(['then']));
        this.expectWord('then');
        body = this.parseList(new Set(['elif', 'else', 'fi']));
        branches.push({ cond, body });
        continue;
      }
      if (next === 'else') {
        this.index++;
        otherwise = this.parseList(new Set(['fi']));
      }
      break;
    }
    this.expectWord('fi');
    return { k: 'if', branches, otherwise };
  }

  parseCase(): Node {
    this.index++;
    const subject = this.peek();
    let word: Word | null = null;
    if (subject && subject.k === 'w') {
      word = subject.w;
      this.index++;
    }
    this.expectWord('in');
    const arms: Array<{ patterns: Word[]; body: Node[] }> = [];
    let guard = 0;
    while (this.index < this.tokens.length && guard++ < 10000) {
      this.skipNewlines();
      if (this.reservedAt() === 'esac') {
        this.index++;
        break;
      }
      const patterns: Word[] = [];
      if (this.peek()?.k === 'op' && (this.peek() as { op: string }).op === '(') this.index++;
      while (this.index < this.tokens.length) {
        const token = this.peek()!;
        if (token.k === 'w') {
          patterns.push(token.w);
          this.index++;
        } else if (token.k === 'op' && token.op === '|') this.index++;
        else break;
      }
      if (this.peek()?.k === 'op' && (this.peek() as { op: string }).op === ')') this.index++;
      const body = this.parseList(new Set([';;', ';&', ';;&', 'esac']));
      const end = this.peek();
      if (end && end.k === 'op' && (end.op === ';;' || end.op === ';&' || end.op === ';;&')) this.index++;
      arms.push({ patterns, body });
      if (patterns.length === 0 && body.length === 0 && this.reservedAt() !== 'esac') this.index++;
    }
    return { k: 'case', word, arms };
  }

  parseLoop(reserved: string): Node {
    this.index++;
    if (reserved === 'for') {
      // for NAME [in words]; do
      while (this.index < this.tokens.length && this.reservedAt() !== 'do') {
        const token = this.peek()!;
        if (token.k === 'nl' || (token.k === 'op' && token.op === ';')) {
          this.index++;
          continue;
        }
        this.index++;
      }
    } else {
      this.parseList(new Set(['do']));
    }
    this.expectWord('do');
    const body = this.parseList(new Set(['done']));
    this.expectWord('done');
    return { k: 'loop', body };
  }

  /** A simple command (words and redirections), or a function definition (its body is not run). */
  parseSimple(token: Token, terminators: ReadonlySet<string>): Node | null {
    const words: Word[] = [];
    const redirects: Array<{ op: string; target: Word | null }> = [];
    const pos = token.k === 'w' ? token.w.start : token.pos;
    while (this.index < this.tokens.length) {
      const current = this.peek()!;
      if (current.k === 'w') {
        words.push(current.w);
        this.index++;
        continue;
      }
      if (
        current.k === 'op' &&
        ['<', '>', '>>', '>&', '<&', '>|', '<>', '&>', '<<', '<<-', '<<<'].includes(current.op)
      ) {
        this.index++;
        const target = this.peek();
        if (target && target.k === 'w') {
          redirects.push({ op: current.op, target: target.w });
          this.index++;
        } else redirects.push({ op: current.op, target: null });
        continue;
      }
      break;
    }
    // function definition: name () compound
    const next = this.peek();
    if (words.length === 1 && next?.k === 'op' && next.op === '(' && this.tokens[this.index + 1]?.k === 'op') {
      this.index += 2;
      this.skipNewlines();
      this.parseCommand(terminators); // body is not executed here
      return { k: 'group', body: [] };
    }
    if (words.length === 0 && redirects.length === 0) return null;
    return { k: 'simple', words, redirects, pos };
  }

  run(): Node[] {
    return this.parseList(new Set());
  }
}

export function parse(script: MStr): Node[] {
  return new Parser(script).run();
}

// ---------------------------------------------------------------------------------------------------------------
// Expansion

/** Variable values: an MStr, or null when the variable exists but its value is not known. Absent = unknown too. */
export type Env = Map<string, MStr | null>;

export interface ExpandOptions {
  env: Env;
}

function isUnresolved(value: MStr): boolean {
  return value.text.includes(UNRESOLVED);
}

function lookup(env: Env, name: string): MStr | null {
  const value = env.get(name);
  return value === undefined ? null : value;
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** Expands parts to a single string (no field splitting); unresolved bits become UNRESOLVED. */
function expandParts(parts: readonly WordPart[], env: Env): { value: MStr; splittable: boolean[] } {
  const pieces: MStr[] = [];
  const splittable: boolean[] = [];
  const push = (value: MStr, split: boolean) => {
    pieces.push(value);
    for (let index = 0; index < value.text.length; index++) splittable.push(split);
  };
  for (const part of parts) {
    if (part.t === 'lit') {
      push(part.v, false);
      continue;
    }
    if (part.t === 'sub') {
      push(mstr.unresolved(), false);
      continue;
    }
    if (part.t === 'len') {
      const value = lookup(env, part.name);
      if (value === null || isUnresolved(value)) push(mstr.unresolved(), false);
      else push(mstr.literal(String(value.text.length)), false);
      continue;
    }
    const value = lookup(env, part.name);
    const split = part.q === 0;
    const known = value !== null && !isUnresolved(value);
    const argValue = () => (part.arg ? expandParts(part.arg, env).value : mstr.empty());
    switch (part.op) {
      case '':
        push(value ?? mstr.unresolved(), split);
        break;
      case ':-':
      case '-':
        // an unset or unknown variable takes the default: that is what the author wrote down for this case
        if (value === null || (part.op === ':-' && value.text === '')) push(argValue(), split);
        else push(value, split);
        break;
      case ':=':
      case '=':
        if (value === null) push(mstr.unresolved(), split);
        else if (part.op === ':=' && value.text === '') {
          const assigned = argValue();
          env.set(part.name, assigned);
          push(assigned, split);
        } else push(value, split);
        break;
      case ':+':
      case '+':
        if (value === null) push(mstr.unresolved(), split);
        else if (part.op === ':+' ? value.text !== '' : true) push(argValue(), split);
        break;
      case '#':
      case '##':
      case '%':
      case '%%': {
        if (!known) {
          push(mstr.unresolved(), split);
          break;
        }
        const pattern = argValue();
        if (isUnresolved(pattern)) {
          push(mstr.unresolved(), split);
          break;
        }
        const regex = globToRegExp(pattern.text);
        const text = value.text;
        let result: MStr = value;
        if (part.op === '#' || part.op === '##') {
          const lengths = [...Array(text.length + 1).keys()];
          if (part.op === '##') lengths.reverse();
          for (const length of lengths) {
            if (regex.test(text.slice(0, length))) {
              result = mstr.slice(value, length);
              break;
            }
          }
        } else {
          const starts = [...Array(text.length + 1).keys()];
          if (part.op === '%') starts.reverse();
          for (const start of starts) {
            if (regex.test(text.slice(start))) {
              result = mstr.slice(value, 0, start);
              break;
            }
          }
        }
        push(result, split);
        break;
      }
      default:
        push(mstr.unresolved(), split);
    }
  }
  return { value: mstr.concat(pieces), splittable };
}

/** Expands a word into fields, splitting unquoted expansions on whitespace like the shell does. */
export function expandWord(word: Word, env: Env): MStr[] {
  const { value, splittable } = expandParts(word.parts, env);
  const quotedAnywhere = word.parts.some((part) => part.q !== 0);
  if (!splittable.includes(true)) {
    return value.text === '' && !quotedAnywhere && word.parts.every((part) => part.t !== 'lit') ? [] : [value];
  }
  const fields: MStr[] = [];
  let start = -1;
  for (let index = 0; index <= value.text.length; index++) {
    const char = value.text[index];
    const separator = char !== undefined && splittable[index] === true && /\s/.test(char);
    if (char === undefined || separator) {
      if (start !== -1) fields.push(mstr.slice(value, start, index));
      start = -1;
    } else if (start === -1) start = index;
  }
  return fields;
}

/** Expands a word without field splitting (assignment values, case subjects, here-strings). */
export function expandWordJoined(word: Word, env: Env): MStr {
  return expandParts(word.parts, env).value;
}

/** Expands a list of word parts (used by the Dockerfile-level word expander). */
export function expandPartsJoined(parts: readonly WordPart[], env: Env): MStr {
  return expandParts(parts, env).value;
}

// ---------------------------------------------------------------------------------------------------------------
// Interpreter

export interface CommandEvent {
  /** Expanded arguments (command name first), after wrappers like sudo/env were removed. */
  argv: MStr[];
  /** Variables visible to the command (including its own VAR=value prefixes). */
  env: Env;
  /** Working directory (absolute) when known. */
  cwd: string | null;
  /** True when the command only runs on some paths we could not decide (an unknown if/case/loop). */
  conditional: boolean;
  /** Expanded redirection targets ('>' and '>>'). */
  writes: MStr[];
  /** Order within the whole RUN, for "later in the same layer" checks. */
  order: number;
}

export interface InterpretHooks {
  onCommand(event: CommandEvent): void;
  /** Returns the text of a script the command runs (`bash x.sh`, `./x.sh`), to be read as shell too. */
  resolveScript?(path: string, cwd: string | null): MStr | undefined;
}

type Status = boolean | undefined;

const WRAPPERS = new Set(['sudo', 'env', 'time', 'nice', 'nohup', 'exec', 'command', 'stdbuf', 'ionice', 'chronic']);
const TEST_COMMANDS = new Set(['grep', 'egrep', 'fgrep', 'which', 'type', 'command', 'compgen']);

export function joinPath(cwd: string | null, path: string): string | null {
  if (path.includes(UNRESOLVED)) return null;
  let base: string;
  if (path.startsWith('/')) base = path;
  else if (cwd === null) return null;
  else base = `${cwd}/${path}`;
  const out: string[] = [];
  for (const segment of base.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

export class Interpreter {
  private order = 0;
  private depth = 0;
  cwd: string | null;

  constructor(
    private readonly hooks: InterpretHooks,
    cwd: string | null,
  ) {
    this.cwd = cwd;
  }

  run(script: MStr, env: Env, conditional = false): void {
    this.runNodes(parse(script), env, conditional);
  }

  private runNodes(nodes: readonly Node[], env: Env, conditional: boolean): Status {
    let status: Status = true;
    for (const node of nodes) status = this.runNode(node, env, conditional);
    return status;
  }

  private runNode(node: Node, env: Env, conditional: boolean): Status {
    switch (node.k) {
      case 'simple':
        return this.runSimple(node, env, conditional);
      case 'andor': {
        let status = this.runNode(node.first, env, conditional);
        let branchConditional = conditional;
        for (const { op, node: next } of node.rest) {
          if (status === undefined) {
            branchConditional = true;
            status = this.runNode(next, env, true);
            status = undefined;
            continue;
          }
          if ((op === '&&' && status) || (op === '||' && !status)) status = this.runNode(next, env, branchConditional);
        }
        return status;
      }
      case 'pipeline': {
        let status: Status = true;
        for (const command of node.commands) status = this.runNode(command, env, conditional);
        if (node.negate && status !== undefined) status = !status;
        return status;
      }
      case 'group':
        return this.runNodes(node.body, env, conditional);
      case 'loop':
        this.runNodes(node.body, env, true);
        return undefined;
      case 'if': {
        let decided = false;
        let unknown = false;
        for (const branch of node.branches) {
          const status = this.runNodes(branch.cond, env, conditional || unknown);
          if (status === undefined) {
            unknown = true;
            this.runNodes(branch.body, env, true);
            continue;
          }
          if (status) {
            this.runNodes(branch.body, env, conditional || unknown);
            decided = true;
            break;
          }
        }
        if (!decided && node.otherwise) this.runNodes(node.otherwise, env, conditional || unknown);
        return unknown ? undefined : true;
      }
      case 'case': {
        const subject = node.word ? expandWordJoined(node.word, env) : mstr.unresolved();
        const known = !isUnresolved(subject);
        for (const arm of node.arms) {
          if (!known) {
            this.runNodes(arm.body, env, true);
            continue;
          }
          const matches = arm.patterns.some((pattern) => {
            const text = expandWordJoined(pattern, env);
            return !isUnresolved(text) && globToRegExp(text.text).test(subject.text);
          });
          if (matches) return this.runNodes(arm.body, env, conditional);
        }
        return known ? true : undefined;
      }
    }
  }

  private runSimple(node: Extract<Node, { k: 'simple' }>, env: Env, conditional: boolean): Status {
    const assignments: Array<[string, MStr]> = [];
    let index = 0;
    for (; index < node.words.length; index++) {
      const word = node.words[index]!;
      const first = word.parts[0];
      if (!first || first.t !== 'lit' || first.q !== 0) break;
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.v.text);
      if (!match) break;
      const name = match[1]!;
      const rest: WordPart[] = [{ ...first, v: mstr.slice(first.v, match[0].length) }, ...word.parts.slice(1)];
      assignments.push([name, expandPartsJoined(rest, env)]);
    }
    const argv: MStr[] = [];
    for (const word of node.words.slice(index)) argv.push(...expandWord(word, env));
    if (argv.length === 0) {
      for (const [name, value] of assignments) env.set(name, conditional ? null : value);
      return true;
    }
    let commandEnv = env;
    if (assignments.length > 0) {
      commandEnv = new Map(env);
      for (const [name, value] of assignments) commandEnv.set(name, value);
    }
    return this.runArgv(argv, commandEnv, env, conditional, node);
  }

  private runArgv(
    argvIn: MStr[],
    commandEnv: Env,
    shellEnv: Env,
    conditional: boolean,
    node: Extract<Node, { k: 'simple' }> | null,
  ): Status {
    let argv = argvIn;
    // strip wrappers: sudo -H, env A=b, time, ...
    for (let guard = 0; guard < 5 && argv.length > 0; guard++) {
      const name = basename(argv[0]!.text);
      if (!WRAPPERS.has(name)) break;
      if (name === 'command' && argv[1]?.text === '-v') return undefined;
      let skip = 1;
      while (skip < argv.length) {
        const text = argv[skip]!.text;
        if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) {
          if (commandEnv === shellEnv) commandEnv = new Map(shellEnv);
          const eq = text.indexOf('=');
          commandEnv.set(text.slice(0, eq), mstr.slice(argv[skip]!, eq + 1));
          skip++;
          continue;
        }
        if (text.startsWith('-')) {
          skip++;
          if ((name === 'sudo' && (text === '-u' || text === '-g')) || (name === 'nice' && text === '-n')) skip++;
          continue;
        }
        break;
      }
      argv = argv.slice(skip);
    }
    if (argv.length === 0) return true;
    const name = basename(argv[0]!.text);
    const args = argv.map((value) => value.text);
    switch (name) {
      case 'true':
      case ':':
        return true;
      case 'false':
        return false;
      case 'cd': {
        const target = args[1];
        this.cwd = target === undefined ? '/root' : joinPath(this.cwd, target);
        return true;
      }
      case 'export':
      case 'declare':
      case 'local':
      case 'readonly':
        for (const arg of argv.slice(1)) {
          const eq = arg.text.indexOf('=');
          if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(arg.text.slice(0, eq))) {
            shellEnv.set(arg.text.slice(0, eq), conditional ? null : mstr.slice(arg, eq + 1));
          }
        }
        return true;
      case 'unset':
        for (const arg of args.slice(1)) shellEnv.set(arg, mstr.empty());
        return true;
      case '[':
      case 'test':
      case '[[':
        return evaluateTest(args.slice(1).filter((arg) => arg !== ']' && arg !== ']]'));
      default:
        break;
    }
    if ((name === 'bash' || name === 'sh' || name === 'dash' || name === 'zsh') && this.depth < 4) {
      const flagC = args.findIndex((arg, position) => position > 0 && /^-[a-z]*c[a-z]*$/.test(arg));
      if (flagC > 0 && argv[flagC + 1]) {
        this.emit(argv, commandEnv, conditional, node);
        this.depth++;
        this.runNodes(parse(argv[flagC + 1]!), new Map(commandEnv), conditional);
        this.depth--;
        return true;
      }
      const scriptArg = args.slice(1).find((arg) => !arg.startsWith('-'));
      if (scriptArg?.endsWith('.sh') && this.hooks.resolveScript) {
        return this.runScript(scriptArg, argv, commandEnv, conditional, node);
      }
    }
    if (name.endsWith('.sh') && this.hooks.resolveScript && this.depth < 4) {
      return this.runScript(argv[0]!.text, argv, commandEnv, conditional, node);
    }
    this.emit(argv, commandEnv, conditional, node);
    if (TEST_COMMANDS.has(name)) return undefined;
    return true;
  }

  private runScript(
    path: string,
    argv: MStr[],
    env: Env,
    conditional: boolean,
    node: Extract<Node, { k: 'simple' }> | null,
  ): Status {
    this.emit(argv, env, conditional, node);
    const text = this.hooks.resolveScript?.(path, this.cwd);
    if (!text) return true;
    const savedCwd = this.cwd;
    this.depth++;
    this.runNodes(parse(text), new Map(env), conditional);
    this.depth--;
    this.cwd = savedCwd;
    return true;
  }

  private emit(argv: MStr[], env: Env, conditional: boolean, node: Extract<Node, { k: 'simple' }> | null): void {
    const writes: MStr[] = [];
    for (const redirect of node?.redirects ?? []) {
      if ((redirect.op === '>' || redirect.op === '>>' || redirect.op === '>|') && redirect.target) {
        writes.push(expandWordJoined(redirect.target, env));
      }
    }
    this.hooks.onCommand({ argv, env, cwd: this.cwd, conditional, writes, order: this.order++ });
  }
}

export function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? path : path.slice(slash + 1);
}

function evaluateTest(args: string[]): Status {
  if (args.some((arg) => arg.includes(UNRESOLVED))) return undefined;
  if (args[0] === '!') {
    const inner = evaluateTest(args.slice(1));
    return inner === undefined ? undefined : !inner;
  }
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2) {
    if (args[0] === '-n') return args[1] !== '';
    if (args[0] === '-z') return args[1] === '';
    return undefined;
  }
  if (args.length === 3) {
    const [left, op, right] = args as [string, string, string];
    switch (op) {
      case '=':
      case '==':
        return left === right;
      case '!=':
        return left !== right;
      case '-eq':
      case '-ne':
      case '-gt':
      case '-ge':
      case '-lt':
      case '-le': {
        if (!/^-?\d+$/.test(left) || !/^-?\d+$/.test(right)) return undefined;
        const a = Number(left);
        const b = Number(right);
        return { '-eq': a === b, '-ne': a !== b, '-gt': a > b, '-ge': a >= b, '-lt': a < b, '-le': a <= b }[op];
      }
      default:
        return undefined;
    }
  }
  return undefined;
}
