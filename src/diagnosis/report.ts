import { open, stat } from 'node:fs/promises';
import { InputError } from '../util/errors.js';
import { diagnoseBuildLog } from './diagnose.js';
import { normalizeLog, type LogForm } from './normalize.js';
import type { Diagnosis } from './types.js';
import { MAX_LOG_CHARS } from './limits.js';

export { MAX_LOG_CHARS };

/** The tail read from a larger log file (the failure is at the end). */
export const MAX_LOG_FILE_BYTES = 8 * 1024 * 1024;
export const MAX_DOCKERFILE_BYTES = 1024 * 1024;

export interface DiagnoseLogParams {
  /** The log text (a build log, `docker run` output, a pasted fragment). */
  log?: string;
  /** A log file to read instead of `log`. */
  logFile?: string;
  /** The Dockerfile text, to map the failure to its line and compute edits. */
  dockerfile?: string;
  /** A Dockerfile to read instead of `dockerfile`. */
  dockerfilePath?: string;
}

/** A diagnosis as the tool and the CLI print it (snake_case like every other tool result). */
export interface DiagnosisReport {
  kind: string;
  summary: string;
  dockerfile_line?: number;
  excerpt: string;
  fixable: boolean;
  fix?: { action: string; [field: string]: unknown };
  next_step: string;
}

export interface DiagnoseLogResult {
  diagnoses: DiagnosisReport[];
  log_forms: LogForm[];
  /** Set when only the end of a large log file was read. */
  truncated_to_bytes?: number;
}

async function readTail(file: string, field: string, max: number): Promise<{ text: string; truncated: boolean }> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    throw new InputError(field, `cannot read "${file}"`, 'Pass the path of an existing, readable file.');
  }
  const handle = await open(file, 'r');
  try {
    const length = Math.min(size, max);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return { text: buffer.toString('utf8'), truncated: size > max };
  } finally {
    await handle.close();
  }
}

function toReport(diagnosis: Diagnosis): DiagnosisReport {
  return {
    kind: diagnosis.kind,
    summary: diagnosis.summary,
    ...(diagnosis.dockerfileLine === undefined ? {} : { dockerfile_line: diagnosis.dockerfileLine }),
    excerpt: diagnosis.excerpt,
    fixable: diagnosis.fixable,
    ...(diagnosis.fix ? { fix: { ...diagnosis.fix } } : {}),
    next_step: diagnosis.nextStep,
  };
}

/**
 * Diagnoses a log given as text or as a file, with the same engine the build loop uses. Read-only.
 * Throws InputError for unusable input (both or neither of log/logFile, unreadable files).
 */
export async function diagnoseLog(params: DiagnoseLogParams): Promise<DiagnoseLogResult> {
  if ((params.log === undefined) === (params.logFile === undefined)) {
    throw new InputError(
      params.log === undefined ? 'log' : 'log_file',
      params.log === undefined ? 'neither log nor log_file was given' : 'log and log_file were both given',
      'Pass the log text as log, or its path as log_file (not both).',
    );
  }
  if (params.dockerfile !== undefined && params.dockerfilePath !== undefined) {
    throw new InputError(
      'dockerfile_path',
      'dockerfile and dockerfile_path were both given',
      'Pass the Dockerfile text or its path, not both.',
    );
  }
  let log: string;
  let truncated = false;
  if (params.logFile !== undefined) {
    ({ text: log, truncated } = await readTail(params.logFile, 'log_file', MAX_LOG_FILE_BYTES));
  } else {
    log = params.log!;
    if (log.length > MAX_LOG_CHARS) {
      log = log.slice(-MAX_LOG_CHARS);
      truncated = true;
    }
  }
  let dockerfileText = params.dockerfile;
  if (params.dockerfilePath !== undefined) {
    const read = await readTail(params.dockerfilePath, 'dockerfile_path', MAX_DOCKERFILE_BYTES);
    if (read.truncated) {
      throw new InputError(
        'dockerfile_path',
        'the file is too large to be a Dockerfile',
        'Pass the Dockerfile itself.',
      );
    }
    dockerfileText = read.text;
  }
  const diagnoses = diagnoseBuildLog(log, dockerfileText === undefined ? {} : { dockerfileText });
  return {
    diagnoses: diagnoses.map(toReport),
    log_forms: normalizeLog(log).forms,
    ...(truncated ? { truncated_to_bytes: params.logFile !== undefined ? MAX_LOG_FILE_BYTES : MAX_LOG_CHARS } : {}),
  };
}

/** One line per diagnosis, for the tool's text and the CLI. */
export function summarizeDiagnoses(result: DiagnoseLogResult): string {
  if (result.diagnoses.length === 0) return 'The log shows a successful build: nothing to diagnose.';
  return result.diagnoses
    .map((diagnosis) => {
      const at = diagnosis.dockerfile_line === undefined ? '' : ` (Dockerfile line ${diagnosis.dockerfile_line})`;
      const fix = diagnosis.fixable ? ' [automatic fix available]' : '';
      return `${diagnosis.kind}${at}: ${diagnosis.summary}${fix} Next: ${diagnosis.next_step}`;
    })
    .join('\n');
}
