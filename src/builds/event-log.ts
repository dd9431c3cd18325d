import { closeSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { BuildEvent } from '../build-model/events.js';
import type { BuildRecord } from '../build-model/record-schema.js';

/**
 * A build's append-only event log (`events.jsonl` beside its record): the worker that runs the build appends one JSON
 * line per build event; servers and CLIs follow it to forward progress for as long as they wait. Each line carries
 * the attempt and progress at the time, so a follower needs nothing else to show it.
 */
export interface EventLine {
  seq: number;
  attempt: number;
  progress: BuildRecord['progress'];
  event: BuildEvent;
}

export class EventLogWriter {
  private fd: number | undefined;
  private seq = 0;

  constructor(private readonly file: string) {}

  /** Appends one line; one write per line keeps a concurrent reader from seeing two events interleaved. */
  append(record: Pick<BuildRecord, 'attempt' | 'progress'>, event: BuildEvent): void {
    this.fd ??= openSync(this.file, 'a', 0o600);
    const line: EventLine = { seq: ++this.seq, attempt: record.attempt, progress: record.progress, event };
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface FollowOptions {
  /** How often to look for new lines. */
  pollMs?: number;
  /** Start at this byte offset (default 0: from the first event). */
  fromOffset?: number;
}

/**
 * Follows an event log as it grows, calling `onLine` for each complete line in order, until the returned function
 * is called. A missing file is waited for (the worker creates it with its first event); a torn last line is left
 * until it is complete.
 */
export function followEventLog(file: string, onLine: (line: EventLine) => void, options: FollowOptions = {}) {
  const pollMs = options.pollMs ?? 100;
  let offset = options.fromOffset ?? 0;
  let partial = '';
  let stopped = false;
  let handle: FileHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  const buffer = Buffer.alloc(64 * 1024);

  const readMore = async (): Promise<void> => {
    handle ??= await open(file, 'r').catch(() => undefined);
    if (!handle) return;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0 || stopped) return;
      offset += bytesRead;
      const lines = (partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines) {
        if (stopped) return;
        if (!text) continue;
        try {
          onLine(JSON.parse(text) as EventLine);
        } catch {
          // A line that is not JSON is someone else's damage; skip it rather than stop following.
        }
      }
    }
  };
  // Reads run one after another, so a stop never races a poll over the same bytes.
  let chain: Promise<void> = Promise.resolve();
  const read = () => (chain = chain.then(readMore).catch(() => undefined));
  const tick = () => {
    void read().finally(() => {
      if (!stopped) timer = setTimeout(tick, pollMs);
    });
  };
  tick();
  return {
    /** Stops following; returns once the last read has finished, after delivering what it had read. */
    stop: async (): Promise<void> => {
      if (stopped) return;
      clearTimeout(timer);
      await read();
      stopped = true;
      clearTimeout(timer);
      await handle?.close().catch(() => undefined);
    },
  };
}
