import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'vitest';
import { dockerRequired } from './docker.js';
import { PROVISION_DIR } from './engines.js';

/**
 * The modern engine with the containerd image store (Docker 26, "containerd-snapshotter": true), which holds
 * multi-platform images; started by scripts/provision-containerd-engine.sh, which writes the env file read here.
 * Apart from engines(): only the multi-platform tests need it, and every other test keeps to the two engines.
 */
export interface ContainerdEngine {
  available: boolean;
  missing?: string;
  /** Skip its tests (not available, and Docker not required). */
  skip: boolean;
  env: Record<string, string>;
  title: string;
  baseImage: string;
  arm64Image: string;
  docker(args: string[], options?: { timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
}

export const CONTAINERD_ENV_FILE =
  process.env.DIB_CONTAINERD_ENV_FILE ?? path.join(PROVISION_DIR, 'modern-containerd', 'env.json');

export function containerdEngine(): ContainerdEngine {
  let file: { dockerHost: string; dockerConfig: string; engineVersion: string; baseImage: string; arm64Image: string };
  const unavailable = (missing: string): ContainerdEngine => ({
    available: false,
    missing,
    skip: !dockerRequired,
    env: {},
    title: 'containerd-store engine',
    baseImage: '',
    arm64Image: '',
    docker: () => ({ status: 1, stdout: '', stderr: missing }),
  });
  if (!existsSync(CONTAINERD_ENV_FILE)) return unavailable(`${CONTAINERD_ENV_FILE} does not exist`);
  try {
    file = JSON.parse(readFileSync(CONTAINERD_ENV_FILE, 'utf8')) as typeof file;
  } catch (error) {
    return unavailable(`${CONTAINERD_ENV_FILE} is not JSON: ${(error as Error).message}`);
  }
  const env = { DOCKER_HOST: file.dockerHost, DOCKER_CONFIG: file.dockerConfig };
  const docker: ContainerdEngine['docker'] = (args, options = {}) => {
    const result = spawnSync(process.env.DIB_DOCKER ?? 'docker', args, {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? result.error?.message ?? '' };
  };
  const probe = docker(['info', '--format', '{{json .DriverStatus}}'], { timeoutMs: 10_000 });
  if (probe.status !== 0) return unavailable(`it does not answer: ${probe.stderr.trim().split('\n')[0]}`);
  if (!probe.stdout.includes('io.containerd.snapshotter')) return unavailable('its image store is not containerd');
  return {
    available: true,
    skip: false,
    env,
    title: `containerd-store engine (Docker ${file.engineVersion})`,
    baseImage: file.baseImage,
    arm64Image: file.arm64Image,
    docker,
  };
}

/** As engines.ts `ready`: true when the engine answers, else one test that says why (failed in CI). */
export function containerdReady(engine: ContainerdEngine): boolean {
  if (engine.available) return true;
  it.skipIf(engine.skip)('containerd-store engine is available', () => {
    throw new Error(
      `The containerd-store engine is not available: ${engine.missing}. Run scripts/provision-containerd-engine.sh.`,
    );
  });
  return false;
}
