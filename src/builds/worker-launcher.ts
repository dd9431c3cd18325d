import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { BuildRecordStore } from './record-store.js';
import { WORKER_COMMAND } from './worker.js';

/** Starts the process that runs a build; the caller only reads the build's record and event log afterwards. */
export interface WorkerLauncher {
  /** `env`: variables for this worker only (values that must not be written to disk, e.g. build-arg values). */
  launch(buildId: string, env?: Record<string, string>): Promise<{ pid: number }>;
}

export interface SpawnWorkerOptions {
  /** The program's own entry (dist/index.js), which runs the worker when given WORKER_COMMAND. */
  entry: string;
  execPath?: string;
  env: NodeJS.ProcessEnv;
  /** The state directory the build's record lives in (its worker.log goes beside it). */
  stateDir: string;
}

/**
 * Runs each build in a detached process: a session and process group of its own (so closing the client's terminal
 * or killing the server's group does not reach it, and a sweep can stop its docker children as one group), stdin
 * closed, stdout and stderr into `worker.log` beside the record.
 */
export function spawnWorkerLauncher(options: SpawnWorkerOptions): WorkerLauncher {
  const store = new BuildRecordStore(options.stateDir);
  return {
    launch: (buildId, env = {}) =>
      new Promise((resolve, reject) => {
        const output = openSync(store.workerLogFile(buildId), 'a', 0o600);
        try {
          const child = spawn(options.execPath ?? process.execPath, [options.entry, WORKER_COMMAND, buildId], {
            detached: true,
            stdio: ['ignore', output, output],
            env: { ...options.env, ...env },
            cwd: store.dirOf(buildId),
          });
          child.once('error', reject);
          child.once('spawn', () => {
            child.unref();
            resolve({ pid: child.pid! });
          });
        } finally {
          closeSync(output);
        }
      }),
  };
}
