import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VERSION } from '../version.js';

/**
 * Writes what a maintainer needs about a bug (message, stack, versions, the command and its option names) to a file
 * and returns its path. Option values are left out: they can hold build-arg values or other secrets.
 */
export function writeCrashReport(error: unknown, argv: readonly string[], stateDir: string): string | undefined {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = [
    `docker-image-builder ${VERSION}, Node.js ${process.version}, ${process.platform}/${process.arch}`,
    `command: ${argv
      .slice(2)
      .map((arg, index) => (arg.startsWith('-') ? arg.replace(/=.*$/s, '=…') : index === 0 ? arg : '…'))
      .join(' ')}`,
    '',
    error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error),
    '',
  ].join('\n');
  for (const dir of [path.join(stateDir, 'crash-reports'), os.tmpdir()]) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, `docker-image-builder-crash-${stamp}-${process.pid}.txt`);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    } catch {
      // try the next place
    }
  }
  return undefined;
}
