import { DockerfileParser } from 'dockerfile-ast';
import type { TextEdit } from '../util/text-edits.js';

interface LocatedInstruction {
  keyword: string;
  /** The instruction's full text, continuation lines included. */
  text: string;
  /** 1-based line and column where `text` starts. */
  line: number;
  column: number;
}

/** The instruction that covers a 1-based line. */
export function instructionAtLine(dockerfileText: string, line: number): LocatedInstruction | undefined {
  const dockerfile = DockerfileParser.parse(dockerfileText);
  for (const instruction of dockerfile.getInstructions()) {
    const range = instruction.getRange();
    if (range.start.line + 1 <= line && line <= range.end.line + 1) {
      return {
        keyword: instruction.getKeyword().toUpperCase(),
        text: instruction.getTextContent(),
        line: range.start.line + 1,
        column: range.start.character + 1,
      };
    }
  }
  return undefined;
}

/** 1-based position of an offset into an instruction's text. */
function positionOf(instruction: LocatedInstruction, offset: number): { line: number; column: number } {
  const before = instruction.text.slice(0, offset);
  const newlines = before.split('\n').length - 1;
  if (newlines === 0) return { line: instruction.line, column: instruction.column + offset };
  return { line: instruction.line + newlines, column: offset - before.lastIndexOf('\n') };
}

function insertionAt(file: string, instruction: LocatedInstruction, offset: number, newText: string): TextEdit {
  const { line, column } = positionOf(instruction, offset);
  return { file, startLine: line, startColumn: column, endLine: line, endColumn: column, newText };
}

const APT_INSTALL = /\bapt(?:-get)?\s+(?:-\S+\s+)*install\b/;
const APT_UPDATE = /\bapt(?:-get)?\s+(?:-\S+\s+)*update\b/;

/**
 * `apt-get update && ` inserted before the first `apt-get install` of the RUN at `line`.
 * Undefined when that RUN already updates before installing (then the package name itself is wrong).
 */
export function addAptGetUpdateEdit(dockerfileText: string, line: number, file: string): TextEdit | undefined {
  const instruction = instructionAtLine(dockerfileText, line);
  if (instruction?.keyword !== 'RUN') return undefined;
  const install = APT_INSTALL.exec(instruction.text);
  if (!install || APT_UPDATE.test(instruction.text.slice(0, install.index))) return undefined;
  return insertionAt(file, instruction, install.index, 'apt-get update && ');
}

/** Whether the RUN at `line` runs `apt-get update` before its first install. */
export function updatesBeforeInstall(instructionText: string): boolean {
  const install = APT_INSTALL.exec(instructionText);
  return install !== null && APT_UPDATE.test(instructionText.slice(0, install.index));
}

const PIP_INSTALL = /\b(?:pip3?(?:\.\d+)?|python3?(?:\.\d+)?\s+-m\s+pip)\s+install\b/;

/** ` --break-system-packages` added after the first `pip install` of the RUN at `line`. */
export function breakSystemPackagesEdit(dockerfileText: string, line: number, file: string): TextEdit | undefined {
  return pipFlagEdit(dockerfileText, line, '--break-system-packages', file);
}

/**
 * ` <flag>` added after the `pip install` of the RUN at `line` (the one naming `installing`, when given).
 * Undefined when the RUN has no such pip install or already has the flag.
 */
export function pipFlagEdit(
  dockerfileText: string,
  line: number,
  flag: string,
  file: string,
  installing?: RegExp,
): TextEdit | undefined {
  const instruction = instructionAtLine(dockerfileText, line);
  if (instruction?.keyword !== 'RUN' || instruction.text.includes(flag)) return undefined;
  const all = new RegExp(PIP_INSTALL.source, 'g');
  let install: RegExpExecArray | null;
  let chosen: RegExpExecArray | undefined;
  while ((install = all.exec(instruction.text)) !== null) {
    const rest = instruction.text.slice(install.index).split(/&&|;|\|\|/, 1)[0]!;
    if (!installing || installing.test(rest)) {
      chosen = install;
      break;
    }
  }
  if (!chosen) return undefined;
  return insertionAt(file, instruction, chosen.index + chosen[0].length, ` ${flag}`);
}

/** Replaces the first `from` inside the instruction at `line` with `to` (e.g. `-runtime` -> `-devel` in a FROM). */
export function replaceInInstructionEdit(
  dockerfileText: string,
  line: number,
  from: string,
  to: string,
  file: string,
): TextEdit | undefined {
  const instruction = instructionAtLine(dockerfileText, line);
  if (!instruction) return undefined;
  const offset = instruction.text.indexOf(from);
  if (offset < 0) return undefined;
  const start = positionOf(instruction, offset);
  const end = positionOf(instruction, offset + from.length);
  return {
    file,
    startLine: start.line,
    startColumn: start.column,
    endLine: end.line,
    endColumn: end.column,
    newText: to,
  };
}

/** A line appended after the last line of the Dockerfile (the final stage). */
export function appendLineEdit(dockerfileText: string, newLine: string, file: string): TextEdit {
  const lines = dockerfileText.split('\n');
  const endsWithNewline = dockerfileText.endsWith('\n');
  const lastLine = endsWithNewline ? lines.length - 1 : lines.length;
  const lastText = lines[lastLine - 1] ?? '';
  return {
    file,
    startLine: lastLine,
    startColumn: lastText.length + 1,
    endLine: lastLine,
    endColumn: lastText.length + 1,
    newText: `\n${newLine}`,
  };
}

/** The FROM instruction of the stage that contains `line` (the last FROM at or before it). */
export function stageFromLine(dockerfileText: string, line: number): { line: number; image: string } | undefined {
  let found: { line: number; image: string } | undefined;
  for (const from of DockerfileParser.parse(dockerfileText).getFROMs()) {
    const start = from.getRange().start.line + 1;
    if (start <= line) found = { line: start, image: from.getImage() ?? '' };
  }
  return found;
}

/** A new line (e.g. `ENV MAX_JOBS=2`) inserted before the instruction at `line`, with its indentation. */
export function insertLineBeforeEdit(
  dockerfileText: string,
  line: number,
  newLine: string,
  file: string,
): TextEdit | undefined {
  const instruction = instructionAtLine(dockerfileText, line);
  if (!instruction) return undefined;
  const indent = ' '.repeat(instruction.column - 1);
  return {
    file,
    startLine: instruction.line,
    startColumn: instruction.column,
    endLine: instruction.line,
    endColumn: instruction.column,
    newText: `${newLine}\n${indent}`,
  };
}

/** Replaces the keyword of the instruction at `line`. */
export function replaceKeywordEdit(
  dockerfileText: string,
  line: number,
  keyword: string,
  file: string,
): TextEdit | undefined {
  const instruction = instructionAtLine(dockerfileText, line);
  if (!instruction) return undefined;
  const length = /^\S+/.exec(instruction.text)?.[0].length ?? 0;
  return {
    file,
    startLine: instruction.line,
    startColumn: instruction.column,
    endLine: instruction.line,
    endColumn: instruction.column + length,
    newText: keyword,
  };
}

/** Whitespace-insensitive form of an instruction: line continuations and runs of spaces collapse. */
function collapse(text: string): string {
  return text
    .replace(/\\\r?\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The 1-based line of the instruction a builder printed (`RUN pip install x`, or just the command), found by its
 * text; undefined when no instruction matches or several do.
 */
export function lineOfInstructionText(dockerfileText: string, printed: string): number | undefined {
  const wanted = collapse(printed).replace(/^RUN /i, '');
  if (wanted.length < 4) return undefined;
  const matches: number[] = [];
  for (const instruction of DockerfileParser.parse(dockerfileText).getInstructions()) {
    const text = collapse(instruction.getTextContent());
    const body = text.replace(/^\S+\s*/, '');
    if (body === wanted || text === collapse(printed) || (wanted.length >= 12 && body.includes(wanted)))
      matches.push(instruction.getRange().start.line + 1);
  }
  return matches.length === 1 ? matches[0] : undefined;
}
