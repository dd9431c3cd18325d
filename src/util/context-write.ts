import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { replaceWithBackup } from './atomic-write.js';
import { isInside } from './context-path.js';

export type ContextWriteProblem = 'outside' | 'not-a-file' | 'read-only' | 'io';

/** A fix that could not be put into the user's file; nothing of that file was changed. */
export class ContextWriteError extends Error {
  constructor(
    readonly file: string,
    readonly problem: ContextWriteProblem,
    message: string,
    readonly nextStep: string,
    readonly code?: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ContextWriteError';
  }
}

export interface ContextWriteOptions {
  /** Write a file that has no write permission bit (the user asked for it). */
  force?: boolean;
}

function ioProblem(file: string, error: unknown): ContextWriteError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = error instanceof Error ? error.message.replace(/^\w+: /, '') : String(error);
  const nextStep =
    code === 'EROFS'
      ? 'The context is on a read-only file system: copy it somewhere writable, or apply the fixed text yourself.'
      : code === 'ENOSPC'
        ? 'The disk holding the context is full: free space, then write the fixes again.'
        : code === 'EACCES' || code === 'EPERM'
          ? 'This user may not write there: fix the permissions, or apply the fixed text yourself.'
          : 'Apply the fixed text yourself, or fix the problem and write the fixes again.';
  return new ContextWriteError(file, 'io', `could not be written (${code ?? 'error'}: ${reason})`, nextStep, code);
}

/**
 * Replaces `relPath` of the context with `content`: through symlinks to their real target, which must lie inside
 * the context, atomically, with a backup beside the target. A target without write permission is refused unless
 * forced. Returns the written file and its backup, relative to the context.
 */
export async function writeIntoContext(
  contextDir: string,
  relPath: string,
  content: string,
  options: ContextWriteOptions = {},
): Promise<{ file: string; backup: string }> {
  let root: string;
  let target: string;
  try {
    root = await realpath(contextDir);
    target = await realpath(path.resolve(contextDir, relPath));
  } catch (error) {
    throw ioProblem(relPath, error);
  }
  if (!isInside(root, target)) {
    throw new ContextWriteError(
      relPath,
      'outside',
      'is a link to a file outside the build context, which is never written',
      'Point the link at a file inside the context, or apply the fixed text to the real file yourself.',
    );
  }
  const info = await stat(target).catch((error: unknown) => {
    throw ioProblem(relPath, error);
  });
  if (!info.isFile()) {
    throw new ContextWriteError(relPath, 'not-a-file', 'is not a regular file', 'Apply the fixed text yourself.');
  }
  if ((info.mode & 0o222) === 0 && options.force !== true) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new ContextWriteError(
      relPath,
      'read-only',
      `is read-only (mode ${mode}), so it was left as it is`,
      'Make it writable (chmod u+w) and write again, pass force_write: true (CLI: --force-write), or apply the fixed text yourself.',
    );
  }
  try {
    const backup = await replaceWithBackup(target, content);
    const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');
    // A symlinked name is reported as the file that really changed.
    const linked = (await lstat(path.resolve(contextDir, relPath))).isSymbolicLink();
    return { file: linked ? relative(target) : relPath, backup: relative(backup) };
  } catch (error) {
    throw ioProblem(relPath, error);
  }
}
