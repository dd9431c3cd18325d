// Which QEMU emulators this machine's kernel runs foreign binaries with (binfmt_misc entries `qemu-<arch>`), so
// a build for another platform (linux/arm64 on amd64) can run its RUN steps. Files only, no command.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export const BINFMT_MISC_DIR = '/proc/sys/fs/binfmt_misc';

export interface QemuEmulator {
  /** The binfmt_misc entry, e.g. `qemu-aarch64`. */
  name: string;
  /** The emulated CPU, e.g. `aarch64`. */
  arch: string;
  enabled: boolean;
  /** The emulator binary, e.g. `/usr/libexec/qemu-binfmt/aarch64-binfmt-P`. */
  interpreter?: string;
}

export interface QemuStatus {
  /** Registered emulators, enabled or not. */
  emulators: QemuEmulator[];
  /** Why none could be read (binfmt_misc not mounted, not Linux, timed out). */
  reason?: string;
}

/** One binfmt_misc entry's text: `enabled` / `disabled` on its first line, then `interpreter PATH`, flags, magic. */
export function parseBinfmtEntry(name: string, text: string): QemuEmulator {
  const lines = text.split('\n').map((line) => line.trim());
  const interpreter = lines.find((line) => line.startsWith('interpreter '))?.slice('interpreter '.length);
  return {
    name,
    arch: name.replace(/^qemu-/, ''),
    enabled: lines[0] === 'enabled',
    ...(interpreter ? { interpreter } : {}),
  };
}

async function readEmulators(dir: string): Promise<QemuStatus> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return {
      emulators: [],
      reason: `${dir} cannot be read (${code}): binfmt_misc is not mounted or this is not Linux.`,
    };
  }
  const names = entries.filter((entry) => entry.startsWith('qemu-')).sort();
  const emulators = await Promise.all(
    names.map(async (name) => parseBinfmtEntry(name, await readFile(path.join(dir, name), 'utf8').catch(() => ''))),
  );
  if (emulators.length > 0) return { emulators };
  return {
    emulators,
    reason:
      'No QEMU emulator is registered: builds for another CPU (e.g. linux/arm64 here) fail at their first RUN. ' +
      'Register them: `apt-get install qemu-user-static binfmt-support` or `docker run --privileged --rm tonistiigi/binfmt --install all`.',
  };
}

/** The registered QEMU emulators; never throws, and gives up with a reason after `timeoutMs`. */
export async function probeQemu(options: { dir?: string; timeoutMs: number }): Promise<QemuStatus> {
  const dir = options.dir ?? BINFMT_MISC_DIR;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<QemuStatus>((resolve) => {
    timer = setTimeout(
      () => resolve({ emulators: [], reason: `reading ${dir} took longer than ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
  });
  try {
    return await Promise.race([readEmulators(dir), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
