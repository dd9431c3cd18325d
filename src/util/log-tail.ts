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

/** One bounded page of a log: bytes [start, end) of a file of `size` bytes, cut at line ends. */
export interface LogPage {
  text: string;
  start: number;
  end: number;
  size: number;
}

/**
 * A page of at most `maxBytes` of a file: from byte `offset` when given (ending at the last whole line), otherwise
 * its end (starting at the first whole line), so a reader can page backwards or forwards through any size of log.
 */
export async function readLogPage(file: string, maxBytes: number, offset?: number): Promise<LogPage> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    let start = offset === undefined ? Math.max(0, size - maxBytes) : Math.min(offset, size);
    const length = Math.min(maxBytes, size - start);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    let from = 0;
    let to = length;
    if (offset === undefined && start > 0) {
      const newline = buffer.indexOf(0x0a);
      if (newline >= 0 && newline < length - 1) from = newline + 1;
    } else if (start + length < size) {
      const newline = buffer.lastIndexOf(0x0a);
      if (newline > 0) to = newline + 1;
    }
    const text = buffer.subarray(from, to).toString('utf8');
    start += from;
    return { text, start, end: start + (to - from), size };
  } finally {
    await handle.close();
  }
}
