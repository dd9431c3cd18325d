import type { BuildPorts } from '../build-model/attempt.js';
import type { CodeBuildRunner } from '../codebuild/codebuild-runner.js';
import type { Config } from '../config.js';
import { DockerClient, type DockerInvocation } from '../docker/client.js';
import { LocalDockerBuilder } from '../docker/local-builder.js';
import { buildPlatforms } from '../docker/platform-builds.js';
import { ExecaProcessSpawner, type ProcessSpawner } from '../docker/process-spawner.js';
import { SmokeTester } from '../smoke/smoke-tester.js';
import type { CommandRunner } from '../util/command-runner.js';
import { codebuildPorts } from './codebuild-ports.js';
import { localPushPort } from './push-port.js';
import { planAfterFailure, planAfterSmokeFailure, prepareSources, writeFixesToContext } from './fixes.js';
import type { TargetSpec } from './job.js';
import { localSecrets } from './secret-checks.js';

export interface TargetPortsDeps {
  config: Config;
  env: NodeJS.ProcessEnv;
  runner: CommandRunner;
  /** Loaded on the CodeBuild path only: the AWS SDK stays out of local builds. */
  codebuildRunner: () => Promise<CodeBuildRunner>;
  /** Starts the docker client; the worker's notes each group it starts so a sweep after its death can stop them. */
  spawner: ProcessSpawner;
}

/** Smoke containers of a build carry its id in their run label, so a sweep after a crash finds exactly them. */
export function smokeRunIdFor(buildId: string): string {
  return buildId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 41);
}

/** The build's one Docker client, from the decision the starting process made. */
export function dockerClientOf(
  invocation: DockerInvocation,
  runner: CommandRunner,
  spawner: ProcessSpawner = new ExecaProcessSpawner(),
): DockerClient {
  return new DockerClient(invocation, runner, spawner);
}

function localPorts(buildId: string, invocation: DockerInvocation, deps: TargetPortsDeps): BuildPorts {
  const docker = dockerClientOf(invocation, deps.runner, deps.spawner);
  const builder = new LocalDockerBuilder({ docker, env: deps.env });
  const smokeTester = new SmokeTester({ docker, idGenerator: () => smokeRunIdFor(buildId) });
  return {
    prepare: (request, workDir) => prepareSources(request, workDir),
    runAttempt: async (request, input) => {
      const result = await buildPlatforms(
        { builder, docker },
        {
          contextDir: input.contextDir,
          dockerfilePath: input.dockerfilePath,
          imageRef: request.imageRef,
          buildArgs: request.buildArgs,
          target: request.target,
          platform: request.platform,
          noCache: request.noCache,
          pull: request.pull,
          labels: request.labels,
          cacheFrom: request.cacheFrom,
          cacheTo: request.cacheTo,
          secrets: localSecrets(request.secrets),
          ssh: request.ssh,
          logFile: input.logFile,
          timeoutMs: request.timeoutSeconds * 1000,
        },
        { onEvent: input.onEvent, signal: input.signal },
      );
      return {
        success: result.success,
        cancelled: result.cancelled,
        builder: result.builder,
        imageId: result.imageId,
        failedStep: result.failedStep
          ? { instruction: result.failedStep.instruction, dockerfileLine: result.failedStep.dockerfileLine }
          : undefined,
        errorMessage: result.errorMessage,
        logFile: result.logFile,
        ...(result.platformBuild ? { platformBuild: result.platformBuild } : {}),
      };
    },
    planAfterFailure: (request, outcome, prepared, workDir) => planAfterFailure(request, outcome, prepared, workDir),
    planAfterSmokeFailure: (request, smoke, prepared, workDir) =>
      planAfterSmokeFailure(request, smoke, prepared, workDir),
    smokeTest: (request, imageRef, signal, platform) =>
      smokeTester.run(
        { image: imageRef, commands: request.smokeCommands, ...(platform ? { platform } : {}) },
        { signal },
      ),
    writeFixes: (request, prepared) => writeFixesToContext(request, prepared),
    push: localPushPort({ docker }),
    imageInfo: async (imageRef) => {
      const info = await builder.imageInfo(imageRef);
      return { id: info?.id, sizeBytes: info?.sizeBytes };
    },
  };
}

/** The attempt loop's ports for where the build was decided to run. */
export async function portsFor(buildId: string, target: TargetSpec, deps: TargetPortsDeps): Promise<BuildPorts> {
  if (target.mode === 'local') return localPorts(buildId, target.docker, deps);
  return codebuildPorts({
    runner: await deps.codebuildRunner(),
    project: target.project,
    region: target.region,
    ...(target.bucket ? { bucket: target.bucket } : {}),
  });
}
