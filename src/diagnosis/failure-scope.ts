import { detectBuilderKind, summarizeBuildLog } from '../docker/output/output-parser.js';
import { stripAnsi } from '../docker/output/parser-common.js';
import type { DiagnoseContext } from './types.js';

/** The part of a build log that explains its failure, cleaned for matching. */
export interface FailureScope {
  builder?: 'buildkit' | 'legacy';
  /** The log shows a finished image and no failed step. */
  succeeded: boolean;
  /** The failing step's output and the builder's error summary, without ANSI codes or `#N 1.234` prefixes. */
  lines: string[];
  /** The whole log, cleaned the same way (for errors raised outside any step). */
  allLines: string[];
  /** The failing instruction as the builder printed it (`RUN pip install ...`), when known. */
  failedInstruction?: string;
  /** The image of a failing BuildKit `load metadata for <image>` vertex. */
  metadataImage?: string;
  exitCode?: number;
  errorMessage?: string;
  /** Line of the failing instruction, or the line a parse error names. */
  dockerfileLine?: number;
  dockerfileText?: string;
  dockerfilePath: string;
}

const VERTEX_PREFIX = /^#(\d+) (?:\d+\.\d+ ?)?/;

function clean(line: string): string {
  return stripAnsi(line).replace(/\r$/, '');
}

function buildKitScope(lines: string[]): { lines: string[]; metadataImage?: string } {
  const errorLine = lines.find((line) => /^#\d+ ERROR\b/.test(line));
  const failedVertex = errorLine === undefined ? undefined : VERTEX_PREFIX.exec(errorLine)?.[1];
  const scoped: string[] = [];
  let metadataImage: string | undefined;
  for (const line of lines) {
    const vertex = /^#(\d+) /.exec(line)?.[1];
    if (vertex === undefined) {
      scoped.push(line.replace(/^\d+\.\d+ /, '')); // BuildKit >= 0.9 repeats the step's last output with timestamps
      continue;
    }
    if (vertex !== failedVertex || /^#\d+ sha256:/.test(line)) continue;
    const header = /^#\d+ \[[^\]]*\] (.*)$/.exec(line)?.[1];
    if (header !== undefined) metadataImage ??= /^load metadata for (\S+)/.exec(header)?.[1];
    scoped.push(line.replace(VERTEX_PREFIX, ''));
  }
  return metadataImage === undefined ? { lines: scoped } : { lines: scoped, metadataImage };
}

function legacyScope(lines: string[]): string[] {
  let lastStep = -1;
  lines.forEach((line, index) => {
    if (/^Step \d+\/\d+ : /.test(line)) lastStep = index;
  });
  return lastStep >= 0 ? lines.slice(lastStep) : lines;
}

/** Finds the failing step and cuts the log down to what explains it. */
export function failureScope(log: string, context: DiagnoseContext): FailureScope {
  const allLines = log.split('\n').map(clean);
  const builder = context.builder ?? detectBuilderKind(log);
  const summary = summarizeBuildLog(log, {
    ...(builder === undefined ? {} : { builder }),
    ...(context.dockerfileText === undefined ? {} : { dockerfileText: context.dockerfileText }),
  });
  let lines: string[];
  let metadataImage: string | undefined;
  if (builder === 'buildkit') ({ lines, metadataImage } = buildKitScope(allLines));
  else if (builder === 'legacy') lines = legacyScope(allLines);
  else lines = allLines.slice(-200);

  const failed = summary?.failedStep;
  const dockerfileLine = context.failedDockerfileLine ?? failed?.dockerfileLine ?? summary?.errorDockerfileLine;
  return {
    ...(builder === undefined ? {} : { builder }),
    succeeded: summary?.imageId !== undefined && summary.failedStep === undefined,
    lines: lines.filter((line) => line.trim() !== ''),
    allLines,
    ...(failed ? { failedInstruction: failed.instruction } : {}),
    ...(metadataImage === undefined ? {} : { metadataImage }),
    ...(failed?.exitCode === undefined ? {} : { exitCode: failed.exitCode }),
    ...(summary?.errorMessage === undefined ? {} : { errorMessage: summary.errorMessage }),
    ...(dockerfileLine === undefined ? {} : { dockerfileLine }),
    ...(context.dockerfileText === undefined ? {} : { dockerfileText: context.dockerfileText }),
    dockerfilePath: context.dockerfilePath ?? 'Dockerfile',
  };
}

const MAX_EXCERPT_LINES = 15;
const MAX_EXCERPT_LINE_LENGTH = 300;

/** Lines `from`..`to` (inclusive) of the scope, bounded in count and width. */
export function excerpt(lines: readonly string[], from: number, to = from): string {
  const start = Math.max(0, from);
  const end = Math.min(lines.length - 1, to, start + MAX_EXCERPT_LINES - 1);
  return lines
    .slice(start, end + 1)
    .map((line) => (line.length > MAX_EXCERPT_LINE_LENGTH ? `${line.slice(0, MAX_EXCERPT_LINE_LENGTH)}…` : line))
    .join('\n');
}

/** Index of the first line matching, or -1. */
export function findLine(lines: readonly string[], pattern: RegExp, from = 0): number {
  for (let index = Math.max(0, from); index < lines.length; index++) if (pattern.test(lines[index]!)) return index;
  return -1;
}
