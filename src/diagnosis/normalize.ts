import { stripAnsi } from '../docker/output/parser-common.js';
import { rawJsonToPlainLines } from '../docker/output/rawjson-parser.js';

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

/**
 * `docker buildx build --progress=rawjson`: BuildKit SolveStatus values (one a line, or indented over many as
 * buildx 0.13 prints them) with `vertexes`, `statuses` and `logs` (base64 `data`). Rewritten as BuildKit plain
 * lines (`#N name`, `#N 0.123 output`, `#N ERROR: ...`) by the same reader the builder uses, so the plain
 * parser reads it.
 */
function rawJsonToPlain(lines: readonly string[]): string[] | undefined {
  const converted = rawJsonToPlainLines(lines);
  return converted.statuses > 0 ? converted.lines : undefined;
}

/** Strips `pattern` from every line when enough lines carry it to be a prefix, not content. */
function stripPrefix(lines: string[], pattern: RegExp): string[] | undefined {
  const nonEmpty = lines.filter((line) => line.trim() !== '');
  const prefixed = nonEmpty.filter((line) => pattern.test(line)).length;
  if (prefixed === 0 || prefixed < Math.max(1, nonEmpty.length * 0.5)) return undefined;
  return lines.map((line) => line.replace(pattern, ''));
}

/**
 * BuildKit's source context (>= 0.9): the Dockerfile's base name and line (`Dockerfile:12`, `gpu.Dockerfile:12` for
 * `-f build/gpu.Dockerfile`, `Dockerfile.cuda:3`) above a `--------------------` rule and the `>>>`-marked lines.
 * Returns the line number when `lines[index]` is one.
 */
export function sourceLocationAt(lines: readonly string[], index: number): number | undefined {
  const match = /^(?:\S*\/)?[\w.+-]+:(\d+)$/.exec(lines[index]?.trim() ?? '');
  if (!match || !/^-{5,}$/.test(lines[index + 1]?.trim() ?? '')) return undefined;
  return Number(match[1]);
}

function builderForm(lines: readonly string[]): LogForm {
  if (lines.some((line) => /^#\d+ /.test(line))) return 'buildkit-plain';
  if (lines.some((line) => /^Step \d+\/\d+ : /.test(line))) return 'legacy';
  if (lines.some((line, index) => /^ > \[[^\]]*\] .*:$/.test(line) || sourceLocationAt(lines, index) !== undefined))
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
