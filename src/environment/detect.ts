import type { CommandRunner } from '../util/command-runner.js';
import { DEFAULT_CODEBUILD_PROJECT, probeAws, type AwsStatus } from './aws-probe.js';
import { probeDocker, type DockerStatus } from './docker-probe.js';
import { recommendMode, type Recommendation } from './recommend.js';

export interface DetectOptions {
  region?: string;
  codebuildProject?: string;
  useSudo?: boolean;
  forceLocal?: boolean;
  forceCodebuild?: boolean;
  /** A docker context every docker call goes to. */
  dockerContext?: string;
  /** A buildx builder to build with. */
  builder?: string;
}

export interface EnvironmentReport {
  docker: DockerStatus;
  aws: AwsStatus;
  recommendation: Recommendation;
  duration_ms: number;
}

export interface EnvironmentDeps {
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  dockerCommand: string;
  /** Per-call limit for docker probes. */
  dockerTimeoutMs: number;
  /** Per-call limit for AWS probes. */
  awsTimeoutMs: number;
}

export async function detectEnvironment(
  deps: EnvironmentDeps,
  options: DetectOptions = {},
): Promise<EnvironmentReport> {
  const started = performance.now();
  const codebuildProject = options.codebuildProject ?? DEFAULT_CODEBUILD_PROJECT;
  const [docker, aws] = await Promise.all([
    probeDocker({
      runner: deps.runner,
      dockerCommand: deps.dockerCommand,
      useSudo: options.useSudo ?? false,
      env: deps.env,
      timeoutMs: deps.dockerTimeoutMs,
      ...(options.dockerContext ? { context: options.dockerContext } : {}),
      ...(options.builder ? { builder: options.builder } : {}),
    }),
    probeAws({
      runner: deps.runner,
      env: deps.env,
      region: options.region,
      codebuildProject,
      timeoutMs: deps.awsTimeoutMs,
    }),
  ]);
  const recommendation = recommendMode({
    docker,
    aws,
    forceLocal: options.forceLocal ?? false,
    forceCodebuild: options.forceCodebuild ?? false,
  });
  return { docker, aws, recommendation, duration_ms: Math.round(performance.now() - started) };
}
