import { detectBuilderKind, summarizeBuildLog } from '../docker/output/output-parser.js';
import { stripAnsi } from '../docker/output/parser-common.js';
import { lineOfInstructionText } from './dockerfile-edits.js';
import { normalizeLog, sourceLocationAt, type LogForm } from './normalize.js';
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
  /** The forms the log came in (CI prefixes, compose, rawjson, builder format). */
  forms: LogForm[];
}

const VERTEX_PREFIX = /^#(\d+) (?:\d+\.\d+ ?)?/;

function clean(line: string): string {
  return stripAnsi(line).replace(/\r$/, '');
}

function buildKitScope(lines: string[]): { lines: string[]; metadataImage?: string } {
  const errorLine = lines.find((line) => /^#\d+ ERROR\b/.test(line));
  // A pasted fragment may lack the `#N ERROR` line: then every vertex's output may explain the failure.
  const failedVertex = errorLine === undefined ? undefined : VERTEX_PREFIX.exec(errorLine)?.[1];
  const scoped: string[] = [];
  let metadataImage: string | undefined;
  for (const line of lines) {
    const vertex = /^#(\d+) /.exec(line)?.[1];
    if (vertex === undefined) {
      scoped.push(line.replace(/^\d+\.\d+ /, '')); // BuildKit >= 0.9 repeats the step's last output with timestamps
      continue;
    }
    if ((failedVertex !== undefined && vertex !== failedVertex) || /^#\d+ sha256:/.test(line)) continue;
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

/** BuildKit's error summary: ` > [stage 3/5] RUN pip install ...:` names the failing instruction. */
const SUMMARY_HEADER = /^ > \[[^\]]*\] (.+):$/;
/** The command as builders quote it in their failure message. */
const QUOTED_COMMAND = [
  /process "\/bin\/(?:ba)?sh -c (.+)" did not complete successfully/,
  /executor failed running \[\/bin\/(?:ba)?sh -c (.+)\]: /,
  /The command '\/bin\/(?:ba)?sh -c (.+)' returned a non-zero code/,
];
/** A source line BuildKit marks as the failing instruction's: `   4 | >>> RUN pip install ...`. */
const MARKED_SOURCE = /^\s*(\d+) \| >>> ?(.*)$/;
/** BuildKit prefixes a step's output with seconds since it started (`3.183 ERROR: ...`). */
const TIMESTAMP = /^\d+\.\d+ /;

/** What the error summary (or a fragment of it) says about the failing step. */
function summaryFacts(lines: readonly string[]): { instruction?: string; line?: number } {
  let instruction: string | undefined;
  let line: number | undefined;
  for (const [index, text] of lines.entries()) {
    instruction ??= SUMMARY_HEADER.exec(text)?.[1];
    line ??= sourceLocationAt(lines, index);
  }
  // A paste that kept the source lines but not their `Dockerfile:N` heading: the `>>>` lines are the instruction.
  const marked = lines.flatMap((text) => {
    const match = MARKED_SOURCE.exec(text);
    return match ? [{ line: Number(match[1]), text: match[2]! }] : [];
  });
  if (marked.length > 0) {
    line ??= marked[0]!.line;
    const end = marked.findIndex((entry, index) => index > 0 && entry.line !== marked[index - 1]!.line + 1);
    const run = end < 0 ? marked : marked.slice(0, end);
    instruction ??= run.map((entry) => entry.text.replace(/\\\s*$/, '').trim()).join(' ');
  }
  if (instruction === undefined) {
    for (const text of lines) {
      for (const pattern of QUOTED_COMMAND) {
        const command = pattern.exec(text)?.[1];
        if (command !== undefined) instruction ??= `RUN ${command}`;
      }
    }
  }
  return { ...(instruction === undefined ? {} : { instruction }), ...(line === undefined ? {} : { line }) };
}

/** Finds the failing step and cuts the log down to what explains it. */
export function failureScope(rawLog: string, context: DiagnoseContext): FailureScope {
  const normalized = normalizeLog(rawLog);
  const log = normalized.text;
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
  else lines = allLines.slice(-200).map((line) => line.replace(TIMESTAMP, ''));

  const failed = summary?.failedStep;
  const facts = summaryFacts(allLines);
  const failedInstruction = failed?.instruction || facts.instruction;
  const byText =
    context.dockerfileText !== undefined && failedInstruction !== undefined
      ? lineOfInstructionText(context.dockerfileText, failedInstruction)
      : undefined;
  const dockerfileLine =
    context.failedDockerfileLine ?? failed?.dockerfileLine ?? summary?.errorDockerfileLine ?? facts.line ?? byText;
  return {
    ...(builder === undefined ? {} : { builder }),
    succeeded: summary?.imageId !== undefined && summary.failedStep === undefined,
    lines: lines.filter((line) => line.trim() !== ''),
    allLines,
    ...(failedInstruction ? { failedInstruction } : {}),
    ...(metadataImage === undefined ? {} : { metadataImage }),
    ...(failed?.exitCode === undefined ? {} : { exitCode: failed.exitCode }),
    ...(summary?.errorMessage === undefined ? {} : { errorMessage: summary.errorMessage }),
    ...(dockerfileLine === undefined ? {} : { dockerfileLine }),
    ...(context.dockerfileText === undefined ? {} : { dockerfileText: context.dockerfileText }),
    dockerfilePath: context.dockerfilePath ?? 'Dockerfile',
    forms: normalized.forms,
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
