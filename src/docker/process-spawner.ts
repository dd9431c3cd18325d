import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { OutputStream } from './output/parser-common.js';

export interface SpawnOptions {
  /** Variables merged over the current environment. */
  env: Record<string, string>;
  cwd?: string;
  /** Called for every output line, stdout and stderr interleaved in the order they arrive. */
  onLine: (line: string, stream: OutputStream) => void;
}

export interface ProcessExit {
  /** Undefined when the process was ended by a signal or never started. */
  exitCode?: number;
  signal?: string;
  /** Why the process could not be started, e.g. `ENOENT` when the program does not exist. */
  spawnError?: string;
}

export interface SpawnedProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited and every output line has been delivered. */
  readonly exited: Promise<ProcessExit>;
  /** Signals the process and everything it started (its process group). */
  kill(signal: NodeJS.Signals): void;
}

/** Starts long-running programs with streamed output; injected so tests can record and script them. */
export interface ProcessSpawner {
  spawn(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess;
}

export interface SpawnerHooks {
  /**
   * Told the pid of each program started (it leads its own process group), so a process that may die without
   * warning can leave a note for whoever cleans up after it.
   */
  onStart?: (pid: number) => void;
}

export class ExecaProcessSpawner implements ProcessSpawner {
  constructor(private readonly hooks: SpawnerHooks = {}) {}

  spawn(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
    // Own process group, so a kill also reaches helpers the client starts (e.g. the buildx plugin).
    const subprocess = execa(command, [...args], {
      env: options.env,
      cwd: options.cwd,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      detached: true,
    });
    const streamsDone = (['stdout', 'stderr'] as const).map((stream) => {
      const readable = subprocess[stream];
      if (!readable) return Promise.resolve();
      const lines = createInterface({ input: readable, crlfDelay: Infinity });
      lines.on('line', (line) => options.onLine(line, stream));
      return new Promise<void>((resolve) => lines.once('close', resolve));
    });
    const pid = subprocess.pid;
    if (pid !== undefined) this.hooks.onStart?.(pid);
    let running = true;
    const killGroup = (signal: NodeJS.Signals) => {
      if (!running || pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        subprocess.kill(signal); // the group is gone or not ours to signal: try the process itself
      }
    };
    // A detached group outlives this process unless told to stop.
    const stopOnExit = () => killGroup('SIGTERM');
    process.once('exit', stopOnExit);
    const exited = Promise.all([subprocess, ...streamsDone]).then(([result]): ProcessExit => {
      running = false;
      process.removeListener('exit', stopOnExit);
      const code = (result as { code?: unknown }).code;
      if (typeof code === 'string' && result.exitCode === undefined && result.signal === undefined) {
        return { spawnError: code };
      }
      return {
        ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
        ...(result.signal === undefined ? {} : { signal: result.signal }),
      };
    });
    return { pid, exited, kill: killGroup };
  }
}
