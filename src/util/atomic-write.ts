import { randomBytes } from 'node:crypto';
import { copyFile, rename, writeFile } from 'node:fs/promises';

/** Writes a file so readers see the old or the new content, never a torn one (write a sibling, then rename). */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode: 0o644 });
  await rename(temporary, file);
}

/** Replaces a user's file atomically after keeping a copy next to it; returns the backup's path. */
export async function replaceWithBackup(file: string, content: string, now: Date = new Date()): Promise<string> {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const backup = `${file}.${stamp}.bak`;
  await copyFile(file, backup);
  await writeFileAtomic(file, content);
  return backup;
}
