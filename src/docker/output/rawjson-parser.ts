import type { BuildEvent } from '../../build-model/events.js';
import { BuildKitOutputParser } from './buildkit-parser.js';
import type { BuildOutputParser, BuildOutputSummary, OutputStream, ParserOptions } from './parser-common.js';

/** One BuildKit `SolveStatus` as buildx prints it with `--progress=rawjson` (moby/buildkit `client.SolveStatus`). */
interface RawVertex {
  digest?: string;
  name?: string;
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
}
interface RawVertexStatus {
  id?: string;
  vertex?: string;
  completed?: string;
}
interface RawVertexLog {
  vertex?: string;
  stream?: number;
  /** Base64 of the bytes the step wrote; a chunk may end in the middle of a line. */
  data?: string;
  timestamp?: string;
}
interface RawVertexWarning {
  vertex?: string;
  /** Base64, like log data. */
  short?: string;
}
interface RawSolveStatus {
  vertexes?: RawVertex[];
  statuses?: RawVertexStatus[];
  logs?: RawVertexLog[];
  warnings?: RawVertexWarning[];
}

/** What the plain progress printer knows about one vertex, to print the same lines from JSON. */
interface VertexState {
  /** `#N`: 0 until the vertex's header is printed. */
  number: number;
  name: string;
  headerPrinted: boolean;
  /** started → completed (undefined while running), in order: a vertex can run more than once. */
  intervals: Map<string, string | undefined>;
  doneFor?: string;
  cached: boolean;
  error?: string;
  /** The unfinished last line of each output stream. */
  partial: Map<number, string>;
  /** The last output lines, with their timestamps, for the error summary (`------` block). */
  tail: string[];
  lastOutputAt?: string;
}

/** BuildKit's plain printer keeps this many of a failed step's last lines for its error summary. */
const TAIL_LINES = 10;
/** A JSON value larger than this is not buildx progress: its lines are passed on as text. */
const MAX_VALUE_CHARS = 16 * 1024 * 1024;

/** Milliseconds since the epoch, keeping the sub-millisecond part of BuildKit's nanosecond timestamps. */
export function preciseTime(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!match) return undefined;
  const whole = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(whole)) return undefined;
  return whole + (match[2] ? Number(`0${match[2]}`) * 1000 : 0);
}

/**
 * Splits a stream of lines into top-level JSON values (buildx 0.13 indents each SolveStatus over many lines; others
 * print one a line) and the plain lines between them (buildx's error summary after the JSON).
 */
class JsonValueSplitter {
  private lines: string[] = [];
  private chars = 0;
  private depth = 0;
  private inString = false;

  /** The line's outcome: text outside any value, a completed value's text, or undefined while a value is open. */
  push(line: string): { text: string } | { json: string; lines: string[] } | undefined {
    if (this.lines.length === 0 && !line.trimStart().startsWith('{')) return { text: line };
    this.lines.push(line);
    this.chars += line.length + 1;
    for (let i = 0; i < line.length; i++) {
      const char = line[i];
      if (this.inString) {
        if (char === '\\') i++;
        else if (char === '"') this.inString = false;
      } else if (char === '"') this.inString = true;
      else if (char === '{' || char === '[') this.depth++;
      else if (char === '}' || char === ']') this.depth--;
    }
    if (this.depth > 0 && this.chars < MAX_VALUE_CHARS) return undefined;
    const lines = this.lines;
    this.lines = [];
    this.chars = 0;
    this.depth = 0;
    this.inString = false;
    return { json: lines.join('\n'), lines };
  }

  /** Lines of a value the stream never closed. */
  drain(): string[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }
}

function solveStatusOf(json: string): RawSolveStatus | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const status = value as RawSolveStatus;
    const isStatus = ['vertexes', 'statuses', 'logs', 'warnings'].some((key) =>
      Array.isArray((status as Record<string, unknown>)[key]),
    );
    return isStatus ? status : undefined;
  } catch {
    return undefined;
  }
}

function decode(data: string | undefined): string {
  return data === undefined ? '' : Buffer.from(data, 'base64').toString('utf8');
}

/**
 * Reads `--progress=rawjson` (the JSON SolveStatus stream buildx prints on stderr) by rewriting it into the lines
 * BuildKit's plain printer would have printed (`#5 [2/4] RUN ...`, `#5 0.624 output`, `#5 CACHED`,
 * `#5 DONE 1.234s`, `#5 ERROR: ...`, the `------` block of a failed step) and handing those to the plain parser:
 * the events are the same, the saved log stays readable, and durations are exact (from the vertex's
 * started/completed, printed to the millisecond instead of plain's tenth of a second).
 */
export class RawJsonOutputParser implements BuildOutputParser {
  readonly builder = 'buildkit' as const;
  private readonly plain: BuildKitOutputParser;
  private readonly splitters = new Map<OutputStream, JsonValueSplitter>();
  private readonly vertices = new Map<string, VertexState>();
  /** The failed vertex whose `------` block is still to be printed (before buildx's own summary text). */
  private failedVertex: VertexState | undefined;
  private jsonValues = 0;
  private printedVertices = 0;
  /** Status lines (`writing image sha256:... done`) already printed, by vertex and id. */
  private readonly doneStatuses = new Set<string>();

  constructor(options: ParserOptions = {}) {
    this.plain = new BuildKitOutputParser(options);
  }

  /** How many SolveStatus values the stream held so far (none: it was not rawjson). */
  get statusCount(): number {
    return this.jsonValues;
  }

  push(line: string, stream: OutputStream = 'stderr'): BuildEvent[] {
    let splitter = this.splitters.get(stream);
    if (!splitter) this.splitters.set(stream, (splitter = new JsonValueSplitter()));
    const outcome = splitter.push(line);
    if (outcome === undefined) return [];
    if ('text' in outcome) return this.pushPlain([...this.errorBlock(), outcome.text], stream);
    const status = solveStatusOf(outcome.json);
    if (!status) return this.pushPlain(outcome.lines, stream);
    this.jsonValues++;
    return this.pushPlain(this.plainLines(status), stream);
  }

  private pushPlain(lines: readonly string[], stream: OutputStream): BuildEvent[] {
    return lines.flatMap((line) => this.plain.push(line, stream));
  }

  /** The plain lines for one SolveStatus: headers, status lines, output, then what finished. */
  private plainLines(status: RawSolveStatus): string[] {
    const out: string[] = [];
    const updated: VertexState[] = [];
    for (const raw of status.vertexes ?? []) {
      const vertex = this.update(raw);
      if (!vertex) continue;
      if (raw.started !== undefined || raw.cached || raw.completed !== undefined || raw.error !== undefined)
        out.push(...this.header(vertex));
      if (!updated.includes(vertex)) updated.push(vertex);
    }
    for (const item of status.statuses ?? []) {
      const vertex = item.vertex === undefined ? undefined : this.vertices.get(item.vertex);
      const key = `${item.vertex} ${item.id}`;
      if (!vertex || item.id === undefined || item.completed === undefined || this.doneStatuses.has(key)) continue;
      this.doneStatuses.add(key);
      out.push(...this.header(vertex), `#${vertex.number} ${item.id} done`);
    }
    for (const log of status.logs ?? []) out.push(...this.logLines(log));
    for (const warning of status.warnings ?? []) {
      const text = decode(warning.short).trim();
      if (text !== '') out.push(`WARNING: ${text}`);
    }
    for (const vertex of updated) out.push(...this.outcome(vertex));
    return out;
  }

  private update(raw: RawVertex): VertexState | undefined {
    if (raw.digest === undefined) return undefined;
    let vertex = this.vertices.get(raw.digest);
    if (!vertex) {
      vertex = {
        number: 0,
        name: raw.name ?? raw.digest,
        headerPrinted: false,
        intervals: new Map(),
        cached: false,
        partial: new Map(),
        tail: [],
      };
      this.vertices.set(raw.digest, vertex);
    }
    if (raw.started !== undefined) vertex.intervals.set(raw.started, raw.completed);
    if (raw.cached) vertex.cached = true;
    if (raw.error !== undefined && raw.error !== '') vertex.error = raw.error;
    return vertex;
  }

  private header(vertex: VertexState): string[] {
    if (vertex.headerPrinted) return [];
    vertex.headerPrinted = true;
    // Numbered as the plain printer does: in the order vertices first show up in the output.
    vertex.number = ++this.printedVertices;
    return [`#${vertex.number} ${vertex.name}`];
  }

  /** Time the vertex ran, over all its runs (they may overlap, as BuildKit merges them). */
  private durationMs(vertex: VertexState): number | undefined {
    const spans = [...vertex.intervals]
      .map(([started, completed]) => [preciseTime(started), preciseTime(completed)] as const)
      .filter((span): span is readonly [number, number] => span[0] !== undefined && span[1] !== undefined)
      .sort((a, b) => a[0] - b[0]);
    if (spans.length === 0) return undefined;
    let total = 0;
    let end = -Infinity;
    for (const [start, stop] of spans) {
      total += Math.max(0, stop - Math.max(start, end));
      end = Math.max(end, stop);
    }
    return total;
  }

  /** CACHED, ERROR or DONE, once, when the vertex's latest run has finished. */
  private outcome(vertex: VertexState): string[] {
    if (vertex.doneFor !== undefined) return [];
    const running = [...vertex.intervals.values()].some((completed) => completed === undefined);
    if (vertex.cached && !running) {
      vertex.doneFor = 'cached';
      return [...this.header(vertex), `#${vertex.number} CACHED`];
    }
    if (vertex.error !== undefined) {
      vertex.doneFor = 'error';
      this.failedVertex ??= vertex;
      return [...this.header(vertex), ...this.flush(vertex), `#${vertex.number} ERROR: ${vertex.error}`];
    }
    const duration = this.durationMs(vertex);
    if (running || duration === undefined) return [];
    vertex.doneFor = 'done';
    return [...this.header(vertex), ...this.flush(vertex), `#${vertex.number} DONE ${(duration / 1000).toFixed(3)}s`];
  }

  private logLines(log: RawVertexLog): string[] {
    const vertex = log.vertex === undefined ? undefined : this.vertices.get(log.vertex);
    if (!vertex) return [];
    const stream = log.stream ?? 1;
    const text = (vertex.partial.get(stream) ?? '') + decode(log.data);
    const lines = text.split('\n');
    vertex.partial.set(stream, lines.pop() ?? '');
    if (log.timestamp !== undefined) vertex.lastOutputAt = log.timestamp;
    return [...this.header(vertex), ...lines.map((line) => this.outputLine(vertex, line, log.timestamp))];
  }

  /** `#5 0.624 text`: seconds since the vertex started, as the plain printer prefixes a step's output. */
  private outputLine(vertex: VertexState, line: string, timestamp: string | undefined): string {
    const started = preciseTime([...vertex.intervals.keys()][0]);
    const at = preciseTime(timestamp);
    const seconds = started === undefined || at === undefined ? 0 : Math.max(0, (at - started) / 1000);
    const text = `${seconds.toFixed(3)} ${line.replace(/\r$/, '')}`;
    vertex.tail.push(text);
    if (vertex.tail.length > TAIL_LINES) vertex.tail.shift();
    return `#${vertex.number} ${text}`;
  }

  /** A vertex's unfinished output lines, when it ends. */
  private flush(vertex: VertexState): string[] {
    const lines: string[] = [];
    for (const [stream, rest] of vertex.partial) {
      if (rest !== '') lines.push(this.outputLine(vertex, rest, vertex.lastOutputAt));
      vertex.partial.set(stream, '');
    }
    return lines;
  }

  /** The plain printer's summary of the failed step: ` > [2/3] RUN ...:` and its last output lines. */
  private errorBlock(): string[] {
    const vertex = this.failedVertex;
    if (!vertex) return [];
    this.failedVertex = undefined;
    return ['------', ` > ${vertex.name}:`, ...vertex.tail, '------'];
  }

  end(exitCode: number | undefined): BuildEvent[] {
    const events: BuildEvent[] = [];
    for (const [stream, splitter] of this.splitters) events.push(...this.pushPlain(splitter.drain(), stream));
    for (const vertex of this.vertices.values()) events.push(...this.pushPlain(this.flush(vertex), 'stderr'));
    events.push(...this.pushPlain(this.errorBlock(), 'stderr'));
    return [...events, ...this.plain.end(exitCode)];
  }

  summary(): BuildOutputSummary {
    return this.plain.summary();
  }
}

/** The plain lines a rawjson stream stands for, and how many SolveStatus values it held (0: not rawjson). */
export function rawJsonToPlainLines(lines: readonly string[]): { lines: string[]; statuses: number } {
  const parser = new RawJsonOutputParser();
  const events = [...lines.flatMap((line) => parser.push(line)), ...parser.end(undefined)];
  const plain = events.flatMap((event) => (event.type === 'log' ? [event.line] : []));
  return { lines: plain, statuses: parser.statusCount };
}
