// The push step of a local build: `docker push` of the built reference through the build's Docker client. For an
// ECR host, a login from ecr:GetAuthorizationToken goes into a private DOCKER_CONFIG copy used for this push only
// (the user's config and keychain are never changed), and the copy is removed afterwards.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildPorts, BuildRequest } from '../build-model/attempt.js';
import type { BuildError, PushRecord } from '../build-model/record-schema.js';
import type { DockerClient } from '../docker/client.js';
import {
  dockerLogin,
  ecrRegionOf,
  privateDockerConfig,
  pushImage,
  registryHostOf,
  type PushFailure,
} from '../docker/push.js';
import { ExpectedFailure } from '../util/errors.js';

/** How long one push may take (big CUDA images over a slow link). */
const PUSH_TIMEOUT_MS = 60 * 60 * 1000;

export interface PushPortDeps {
  docker: DockerClient;
  /** Loaded only for an ECR host: the AWS SDK stays out of other builds. */
  ecrLogin?: (region: string, signal: AbortSignal) => Promise<{ username: string; password: string }>;
}

async function defaultEcrLogin(region: string, signal: AbortSignal) {
  const { ecrLogin } = await import('../codebuild/ecr-auth.js');
  return ecrLogin({ region, signal });
}

function pushError(request: BuildRequest, failure: PushFailure, excerpt: string): BuildError {
  return {
    kind: 'push-failed',
    summary: `The image built${request.smokeTest ? ' and passed its smoke test' : ''} but was not pushed: ${failure.summary}`,
    excerpt,
    next_step: `${failure.nextStep} The image ${request.imageRef} is kept locally: \`docker push ${request.imageRef}\` sends it without rebuilding.`,
  };
}

/** Logs in to an ECR host into a private config; a failure is the push's failure. */
async function ecrConfig(
  deps: PushPortDeps,
  host: string,
  region: string,
  dir: string,
  signal: AbortSignal,
): Promise<{ dockerConfig: string } | PushFailure> {
  let login: { username: string; password: string };
  try {
    login = await (deps.ecrLogin ?? defaultEcrLogin)(region, signal);
  } catch (error) {
    if (!(error instanceof ExpectedFailure)) throw error;
    return { reason: 'auth', summary: `no ECR login for ${host}: ${error.message}`, nextStep: error.nextStep };
  }
  const dockerConfig = await privateDockerConfig(deps.docker.invocation.env.DOCKER_CONFIG, dir);
  const result = await dockerLogin(deps.docker, { host, ...login, dockerConfig, signal });
  if (result.ok) return { dockerConfig };
  return {
    reason: 'auth',
    summary: `docker login to ${host} with the ECR token failed: ${result.output}`,
    nextStep: 'Check that the engine reaches the ECR host, then build again with push.',
  };
}

/** The push port of a local build. */
export function localPushPort(deps: PushPortDeps): NonNullable<BuildPorts['push']> {
  return async (request, workDir, signal) => {
    const ref = request.imageRef;
    const host = registryHostOf(ref) ?? 'docker.io';
    const region = ecrRegionOf(host);
    const configDir = path.join(workDir, 'push-docker-config');
    try {
      const config: { dockerConfig?: string } | PushFailure = region
        ? await ecrConfig(deps, host, region, configDir, signal)
        : {};
      if ('reason' in config) {
        const push: PushRecord = { ref, pushed: false };
        return { push, error: pushError(request, config, ''), log: config.summary };
      }
      const result = await pushImage(deps.docker, ref, { timeoutMs: PUSH_TIMEOUT_MS, signal, ...config });
      const push: PushRecord = { ref, pushed: result.pushed, ...(result.digest ? { digest: result.digest } : {}) };
      if (result.failure) return { push, error: pushError(request, result.failure, result.output), log: result.output };
      return { push, log: result.output };
    } finally {
      await rm(configDir, { recursive: true, force: true });
    }
  };
}
