// Why the state directory or one build's files cannot be used, as expected failures that name the file and what to
// do. A bad state directory fails the call that needs it; a damaged record affects only its own build.
import path from 'node:path';
import { ZodError } from 'zod';
import { ExpectedFailure } from '../util/errors.js';

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function reasonOf(error: unknown): string {
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    return `its content does not match a build record (${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'})`;
  }
  if (error instanceof SyntaxError) return `it is not valid JSON (${error.message})`;
  const code = errnoOf(error);
  return code ? `it cannot be read (${code})` : `it cannot be read (${String(error)})`;
}

/** The state directory (DIB_STATE_DIR) could not be written or read: disk full, read-only, not a directory, … */
export function stateDirFailure(stateDir: string, action: string, error: unknown): ExpectedFailure {
  const code = errnoOf(error) ?? 'error';
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  return new ExpectedFailure({
    kind: full ? 'no-space' : 'state-dir',
    message: `${action} failed in the state directory ${stateDir}: ${code}${full ? ' (no space left on its disk)' : ''}`,
    nextStep: full
      ? `Free space on the disk holding ${stateDir} (old builds live in ${path.join(stateDir, 'builds')}), or set DIB_STATE_DIR to a directory on another disk, then build again.`
      : `Make ${stateDir} a writable directory, or set DIB_STATE_DIR to one, then try again.`,
    code,
    cause: error,
  });
}

/** One build's record.json cannot be used. */
export class DamagedRecordError extends ExpectedFailure {
  constructor(
    readonly buildId: string,
    readonly file: string,
    readonly problem: string,
    cause?: unknown,
  ) {
    super({
      kind: 'damaged-record',
      message: `The record of build ${buildId} (${file}) is damaged: ${problem}`,
      nextStep: `Its logs may still be read in ${path.dirname(file)}. Remove that folder to forget the build, or start a new build.`,
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = 'DamagedRecordError';
  }

  static from(buildId: string, file: string, error: unknown): DamagedRecordError {
    return new DamagedRecordError(buildId, file, reasonOf(error), error);
  }
}
