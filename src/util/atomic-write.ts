import { randomBytes } from 'node:crypto';
import { access, copyFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes a file so readers see the old or the new content, never a torn one (write a sibling, then rename). */
export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await writeFile(temporary, content, { mode });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** True when something exists at the path. */
export async function pathExists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Replaces a user's file atomically after keeping a copy beside it (`<file>.bak`, or `.bak.1`, `.bak.2`… when one
 * exists), keeping the file's mode. Returns the backup's path.
 */
export async function replaceWithBackup(file: string, content: string): Promise<string> {
  let backup = `${file}.bak`;
  for (let index = 1; await pathExists(backup); index++) backup = `${file}.bak.${index}`;
  await copyFile(file, backup);
  await writeFileAtomic(file, content, (await stat(file)).mode);
  return backup;
}
