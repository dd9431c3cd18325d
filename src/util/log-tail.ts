import { open } from 'node:fs/promises';

/**
 * The last `lines` lines of a file, reading only its end (a build log can be hundreds of megabytes).
 * Lines are cut at `maxLineLength` so one enormous line cannot blow the reply up.
 */
export async function readLogTail(file: string, lines: number, maxLineLength = 500): Promise<string[]> {
  if (lines <= 0) return [];
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, lines * (maxLineLength + 1) + 1);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    // The first piece is probably a partial line unless we read from the start of the file.
    if (length < size) all.shift();
    return all.slice(-lines).map((line) => (line.length > maxLineLength ? `${line.slice(0, maxLineLength)}…` : line));
  } finally {
    await handle.close();
  }
}
