import { stripAnsi } from '../docker/output/parser-common.js';

/** The shapes a pasted or stored build/run log comes in. */
export type LogForm =
  | 'buildkit-plain'
  | 'buildkit-error-summary'
  | 'buildx-rawjson'
  | 'legacy'
  | 'compose'
  | 'github-actions'
  | 'codebuild'
  | 'fragment';

export interface NormalizedLog {
  /** Plain lines: no CI/compose prefixes, no ANSI codes, rawjson turned into BuildKit plain lines. */
  text: string;
  /** The outer form first (a CI prefix), then the builder's, e.g. `['github-actions', 'buildkit-plain']`. */
  forms: LogForm[];
}

// `2024-01-01T00:00:00.0000000Z ` (GitHub Actions, also `docker logs -t`).
const ISO_TIMESTAMP = /^\uFEFF?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/;
// `[Container] 2024/01/01 00:00:00.000000 ` (CodeBuild).
const CODEBUILD = /^\[Container\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(?:\.\d+)? ?/;
// `service-1  | `, `web_1 | `, `app  |` (docker compose, both generations).
const COMPOSE = /^[A-Za-z0-9][\w.-]*(?:[-_]\d+)?\s+\|(?: |$)/;
// GitHub Actions workflow commands around the output.
const GHA_COMMAND = /^##\[(?:error|warning|notice|debug|group|endgroup)\]/;

interface JsonVertex {
  digest?: string;
  name?: string;
  error?: string;
  cached?: boolean;
  completed?: string;
}
interface JsonLog {
  vertex?: string;
  data?: string;
  timestamp?: string;
}
interface JsonStatus {
  vertex?: string;
}
interface RawJsonLine {
  vertexes?: JsonVertex[];
  logs?: JsonLog[];
  statuses?: JsonStatus[];
  warnings?: unknown[];
}

function parseJsonLine(line: string): RawJsonLine | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as RawJsonLine;
    return Array.isArray(record.vertexes) || Array.isArray(record.logs) || Array.isArray(record.statuses)
      ? record
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `docker buildx build --progress=rawjson`: one JSON object per line with `vertexes` (name, error), `statuses` and
 * `logs` (base64 `data`). Rewritten as BuildKit plain lines (`#N name`, `#N 0.000 output`, `#N ERROR: ...`) so the
 * plain parser reads it.
 */
function rawJsonToPlain(lines: readonly string[]): string[] | undefined {
  const parsed = lines.map(parseJsonLine);
  const jsonCount = parsed.filter((value) => value !== undefined).length;
  if (jsonCount === 0 || jsonCount < lines.filter((line) => line.trim() !== '').length / 2) return undefined;
  const numbers = new Map<string, number>();
  const numberOf = (digest: string) => {
    let number = numbers.get(digest);
    if (number === undefined) {
      number = numbers.size + 1;
      numbers.set(digest, number);
    }
    return number;
  };
  const named = new Set<string>();
  const out: string[] = [];
  for (const [index, record] of parsed.entries()) {
    if (!record) {
      if (lines[index]!.trim() !== '') out.push(lines[index]!);
      continue;
    }
    for (const vertex of record.vertexes ?? []) {
      if (!vertex.digest) continue;
      const number = numberOf(vertex.digest);
      if (!named.has(vertex.digest) && vertex.name) {
        named.add(vertex.digest);
        out.push(`#${number} ${vertex.name}`);
      }
      if (vertex.cached) out.push(`#${number} CACHED`);
      if (vertex.error) out.push(`#${number} ERROR: ${vertex.error}`);
    }
    for (const log of record.logs ?? []) {
      if (!log.vertex || typeof log.data !== 'string') continue;
      const number = numberOf(log.vertex);
      const text = Buffer.from(log.data, 'base64').toString('utf8');
      for (const line of text.split(/\r?\n/)) if (line.trim() !== '') out.push(`#${number} 0.000 ${line}`);
    }
  }
  return out;
}

/** Strips `pattern` from every line when enough lines carry it to be a prefix, not content. */
function stripPrefix(lines: string[], pattern: RegExp): string[] | undefined {
  const nonEmpty = lines.filter((line) => line.trim() !== '');
  const prefixed = nonEmpty.filter((line) => pattern.test(line)).length;
  if (prefixed === 0 || prefixed < Math.max(1, nonEmpty.length * 0.5)) return undefined;
  return lines.map((line) => line.replace(pattern, ''));
}

function builderForm(lines: readonly string[]): LogForm {
  if (lines.some((line) => /^#\d+ /.test(line))) return 'buildkit-plain';
  if (lines.some((line) => /^Step \d+\/\d+ : /.test(line))) return 'legacy';
  if (lines.some((line) => /^ > \[[^\]]*\] .*:$/.test(line) || /^(?:\S*\/)?Dockerfile(?:\.\S+)?:\d+$/.test(line)))
    return 'buildkit-error-summary';
  return 'fragment';
}

/**
 * Turns any common form of a build or run log into plain lines: CI timestamps (GitHub Actions, CodeBuild) and
 * docker compose service prefixes removed, buildx rawjson rewritten as plain BuildKit output, ANSI codes removed.
 */
export function normalizeLog(log: string): NormalizedLog {
  let lines = log.split(/\r?\n/).map((line) => stripAnsi(line).replace(/\r$/, ''));
  const forms: LogForm[] = [];
  const ci: [RegExp, LogForm][] = [
    [CODEBUILD, 'codebuild'],
    [ISO_TIMESTAMP, 'github-actions'],
  ];
  for (const [pattern, form] of ci) {
    const stripped = stripPrefix(lines, pattern);
    if (stripped) {
      lines = stripped;
      forms.push(form);
    }
  }
  if (forms.includes('github-actions')) lines = lines.map((line) => line.replace(GHA_COMMAND, ''));
  const compose = stripPrefix(lines, COMPOSE);
  if (compose) {
    lines = compose;
    forms.push('compose');
  }
  const plain = rawJsonToPlain(lines);
  if (plain) {
    lines = plain;
    forms.push('buildx-rawjson');
  }
  forms.push(builderForm(lines));
  return { text: lines.join('\n'), forms };
}
