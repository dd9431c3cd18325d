import { readFileSync } from 'node:fs';

/**
 * Who runs a build: a pid alone can be reused after a reboot or a long uptime, so the process's start time (clock
 * ticks since boot, from /proc) goes with it. Where /proc is not there, the pid alone decides.
 */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat; absent where /proc is not available. */
  startTicks?: string;
}

function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

export function identityOf(pid: number): ProcessIdentity {
  const startTicks = startTicksOf(pid);
  return startTicks === undefined ? { pid } : { pid, startTicks };
}

export function currentProcessIdentity(): ProcessIdentity {
  return identityOf(process.pid);
}

/** True while the process that was `identity` still runs (same pid and, where known, the same start time). */
export function processIsAlive(identity: ProcessIdentity): boolean {
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (identity.startTicks === undefined) return true;
  const now = startTicksOf(identity.pid);
  return now === undefined || now === identity.startTicks;
}
