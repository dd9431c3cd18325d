import os from 'node:os';
import path from 'node:path';

/** Settings read once from the environment; everything else receives them as plain values. */
export interface Config {
  /** Docker CLI program or path (DIB_DOCKER). */
  dockerCommand: string;
  /** Where build records and logs live (DIB_STATE_DIR, else $XDG_STATE_HOME/docker-image-builder). */
  stateDir: string;
  dockerTimeoutMs: number;
  awsTimeoutMs: number;
  /** build_image with wait returns `running` after this many seconds so clients with 60 s limits never time out. */
  softDeadlineSeconds: number;
  /** Longest silence between progress notifications while a call waits on a build (DIB_HEARTBEAT_SECONDS). */
  heartbeatSeconds: number;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got "${raw}".`);
  }
  return value;
}

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.DIB_STATE_DIR) return path.resolve(env.DIB_STATE_DIR);
  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'docker-image-builder');
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  return {
    dockerCommand: env.DIB_DOCKER || 'docker',
    stateDir: defaultStateDir(env),
    dockerTimeoutMs: positiveNumber(env, 'DIB_DOCKER_TIMEOUT_MS', 3_000),
    awsTimeoutMs: positiveNumber(env, 'DIB_AWS_TIMEOUT_MS', 2_500),
    softDeadlineSeconds: positiveNumber(env, 'DIB_SOFT_DEADLINE_SECONDS', 40),
    heartbeatSeconds: positiveNumber(env, 'DIB_HEARTBEAT_SECONDS', 15),
  };
}
