import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { DEFAULT_REGION, probeAws } from '../environment/aws-probe.js';
import { probeDocker, type DockerStatus } from '../environment/docker-probe.js';
import { CODEBUILD_CHARGES_WARNING, FALLBACK_MESSAGE, NEITHER_AVAILABLE_MESSAGE } from '../environment/recommend.js';
import type { SmokeResult } from '../build-model/smoke-schema.js';
import { SmokeTester } from '../smoke/smoke-tester.js';
import type { CommandRunner } from '../util/command-runner.js';
import { InputError } from '../util/errors.js';
import { readLogTail } from '../util/log-tail.js';
import type { BuildImageParams, BuildRefusal, BuildsApi } from '../build-model/api.js';
import type { BuildPorts, BuildRequest, BuildTarget } from '../build-model/attempt.js';
import { BuildService } from './build-service.js';
import type { CodeBuildLaunch, CodeBuildRunner } from '../codebuild/codebuild-runner.js';
import { codebuildPorts } from './codebuild-ports.js';
import type { BuildEvent } from '../build-model/events.js';
import { planAfterFailure, planAfterSmokeFailure, prepareSources, writeFixesToContext } from './fixes.js';
import { dockerBuildCommand, validateImageRef } from '../docker/build-args.js';
import { LocalDockerBuilder } from '../docker/local-builder.js';
import { ExecaProcessSpawner } from '../docker/process-spawner.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { BuildRecordStore } from './record-store.js';

export interface BuildsDeps {
  config: Config;
  env: NodeJS.ProcessEnv;
  runner: CommandRunner;
}

const DOCKER_STATUS_TTL_MS = 60_000;

/** The builder's option names, as the MCP tools and the CLI call them. */
const FIELD_NAMES: Record<string, string> = { imageRef: 'image_name', buildArgs: 'build_args', labels: 'labels' };

function toToolField(error: InputError): InputError {
  const [head, ...rest] = error.field.split('.');
  const field = [FIELD_NAMES[head!] ?? head, ...rest].join('.');
  return new InputError(field, error.message.slice(error.message.indexOf(':') + 2), error.hint);
}

async function resolveSources(params: BuildImageParams): Promise<{ contextDir: string; dockerfile: string }> {
  const contextDir = path.resolve(params.context);
  const contextStat = await stat(contextDir).catch(() => undefined);
  if (!contextStat?.isDirectory()) {
    throw new InputError(
      'context',
      `"${params.context}" is not a directory`,
      'Pass the folder that holds the Dockerfile and the files it copies.',
    );
  }
  const dockerfilePath = path.resolve(contextDir, params.dockerfile);
  const relative = path.relative(contextDir, dockerfilePath);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InputError(
      'dockerfile',
      `"${params.dockerfile}" is outside the context`,
      'Give the Dockerfile path relative to the context, inside it.',
    );
  }
  const dockerfileStat = await stat(dockerfilePath).catch(() => undefined);
  if (!dockerfileStat?.isFile()) {
    throw new InputError(
      'dockerfile',
      `no file "${relative}" in ${contextDir}`,
      'Check the name (default "Dockerfile") or pass dockerfile.',
    );
  }
  return { contextDir, dockerfile: relative };
}

export class Builds implements BuildsApi {
  private readonly store: BuildRecordStore;
  private readonly service: BuildService;
  private readonly builder: LocalDockerBuilder;
  /**
   * Docker status per use_sudo. A reachable daemon is trusted for a short while, so back-to-back builds do not pay
   * for four docker CLI calls each; a daemon that went away in between shows up as the build's own failure.
   */
  private dockerStatus = new Map<boolean, { status: DockerStatus; at: number }>();

  constructor(private readonly deps: BuildsDeps) {
    this.store = new BuildRecordStore(deps.config.stateDir);
    this.builder = new LocalDockerBuilder({ spawner: new ExecaProcessSpawner(), runner: deps.runner });
    this.service = new BuildService({ store: this.store });
  }

  private smokeTester(useSudo: boolean): SmokeTester {
    return new SmokeTester({
      runner: this.deps.runner,
      dockerCommand: this.deps.config.dockerCommand,
      useSudo,
      env: this.deps.env,
    });
  }

  private localPorts(): BuildPorts {
    const docker = this.deps.config.dockerCommand;
    return {
      prepare: (request, workDir) => prepareSources(request, workDir),
      runAttempt: async (request, input) => {
        const status = this.dockerStatus.get(request.useSudo)?.status;
        const result = await this.builder.build(
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
            builder: status?.builder.selected ?? 'legacy',
            useSudo: request.useSudo,
            dockerPath: status?.cli.path ?? docker,
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
        };
      },
      planAfterFailure: (request, outcome, prepared, workDir) => planAfterFailure(request, outcome, prepared, workDir),
      planAfterSmokeFailure: (request, smoke, prepared, workDir) =>
        planAfterSmokeFailure(request, smoke, prepared, workDir),
      smokeTest: (request, imageRef, signal) =>
        this.smokeTester(request.useSudo).run({ image: imageRef, commands: request.smokeCommands }, { signal }),
      writeFixes: (request, prepared) => writeFixesToContext(request, prepared),
      imageInfo: async (imageRef) => {
        const info = await this.builder.imageInfo(imageRef, { dockerPath: docker });
        return { id: info?.id, sizeBytes: info?.sizeBytes };
      },
    };
  }

  private codebuildRunner: Promise<CodeBuildRunner> | undefined;

  /** Loaded on the CodeBuild path only: the AWS SDK stays out of local builds. */
  private runner(): Promise<CodeBuildRunner> {
    this.codebuildRunner ??= import('../codebuild/codebuild-runner.js').then(({ createCodeBuildRunner }) =>
      createCodeBuildRunner({ defaultRegion: DEFAULT_REGION }),
    );
    return this.codebuildRunner;
  }

  /** CodeBuild as the target, once the project is known to exist; otherwise the seed's "not found" refusal. */
  private async codebuildTarget(
    params: BuildImageParams,
    region: string,
    reason: string,
  ): Promise<BuildTarget | BuildRefusal> {
    const runner = await this.runner();
    const check = await runner.checkProject(params.codebuildProject, region);
    if (!check.exists) {
      return {
        refused: true,
        mode: 'codebuild',
        message: check.message ?? `CodeBuild project not found: ${params.codebuildProject}`,
        nextSteps: check.setupCommand ? [`Create it: ${check.setupCommand}`] : [],
      };
    }
    return {
      mode: 'codebuild',
      region,
      warnings: [reason, CODEBUILD_CHARGES_WARNING, ...check.warnings].filter(Boolean),
      ports: codebuildPorts({ runner, project: params.codebuildProject, region, bucket: params.s3Bucket }),
    };
  }

  /** The seed's detection order: forced modes, local Docker when it answers, CodeBuild when credentials resolve. */
  private async chooseTarget(params: BuildImageParams): Promise<BuildTarget | BuildRefusal> {
    const local: BuildTarget = { mode: 'local', ports: this.localPorts() };
    const awsStatus = () =>
      probeAws({
        runner: this.deps.runner,
        env: this.deps.env,
        region: params.region,
        codebuildProject: params.codebuildProject,
        timeoutMs: this.deps.config.awsTimeoutMs,
      });
    if (params.forceCodebuild) {
      const aws = await awsStatus();
      if (!aws.credentials.found) {
        return {
          refused: true,
          mode: 'codebuild',
          message: `force_codebuild is set but no AWS credentials resolve: ${aws.credentials.error ?? ''}`,
          nextSteps: ['Configure AWS credentials (`aws configure`, or AWS_PROFILE / AWS_ACCESS_KEY_ID).'],
        };
      }
      return this.codebuildTarget(params, aws.region.name, 'force_codebuild is set.');
    }
    const cached = this.dockerStatus.get(params.useSudo);
    if (cached && Date.now() - cached.at < DOCKER_STATUS_TTL_MS) return local;
    const docker = await probeDocker({
      runner: this.deps.runner,
      dockerCommand: this.deps.config.dockerCommand,
      useSudo: params.useSudo,
      env: this.deps.env,
      timeoutMs: this.deps.config.dockerTimeoutMs,
    });
    if (docker.daemon.state === 'reachable') {
      this.dockerStatus.set(params.useSudo, { status: docker, at: Date.now() });
      return local;
    }
    this.dockerStatus.delete(params.useSudo);
    const dockerProblem = `Docker is ${docker.daemon.state}${docker.daemon.error ? `: ${docker.daemon.error}` : ''}.`;
    const dockerSteps = docker.daemon.hint ? [docker.daemon.hint] : [];
    if (params.forceLocal) {
      return {
        refused: true,
        mode: 'local',
        message: `force_local is set but ${dockerProblem}`,
        nextSteps: dockerSteps,
      };
    }
    const aws = await awsStatus();
    if (aws.credentials.found) {
      const sudoHint =
        docker.daemon.state === 'permission-denied' && !params.useSudo
          ? ' Docker runs here but needs sudo: pass use_sudo to build locally for free.'
          : '';
      return this.codebuildTarget(params, aws.region.name, `${FALLBACK_MESSAGE} ${dockerProblem}${sudoHint}`);
    }
    return {
      refused: true,
      mode: 'none',
      message: `${NEITHER_AVAILABLE_MESSAGE}. ${dockerProblem}`,
      nextSteps: [...dockerSteps, 'Install and start Docker, or configure AWS credentials (`aws configure`).'],
    };
  }

  /** Validates the call and resolves its sources into a build request; bad input throws InputError. */
  private async requestFor(params: BuildImageParams): Promise<BuildRequest> {
    const { contextDir, dockerfile } = await resolveSources(params);
    const imageRef = `${params.imageName}:${params.imageTag}`;
    // The sources and the target are resolved here; everything else passes through as given.
    const {
      context: _context,
      dockerfile: _dockerfile,
      imageName: _imageName,
      imageTag: _imageTag,
      forceLocal: _forceLocal,
      forceCodebuild: _forceCodebuild,
      region: _region,
      codebuildProject: _codebuildProject,
      s3Bucket: _s3Bucket,
      ...options
    } = params;
    const request: BuildRequest = { ...options, contextDir, dockerfile, imageRef };
    try {
      validateImageRef(imageRef, 'image_name');
      // Validates every build option before anything starts, so bad input fails the call, not the build.
      dockerBuildCommand({ ...request, dockerfilePath: dockerfile, builder: 'legacy' });
    } catch (error) {
      throw error instanceof InputError ? toToolField(error) : error;
    }
    return request;
  }

  async start(params: BuildImageParams): Promise<BuildRecord | BuildRefusal> {
    const request = await this.requestFor(params);
    const target = await this.chooseTarget(params);
    if ('refused' in target) return target;
    return this.service.start(BuildRecordStore.newId(target.mode), request, target);
  }

  /**
   * The seed's --no-wait: on the CodeBuild path, applies the analyser's fixes, uploads and starts the build, and
   * returns its id (`project:uuid`) without following it. Local builds cannot outlive their process: `local`.
   */
  async startDetached(
    params: BuildImageParams,
  ): Promise<BuildRefusal | { mode: 'local' } | { mode: 'codebuild'; launch: CodeBuildLaunch; warnings: string[] }> {
    const request = await this.requestFor(params);
    const target = await this.chooseTarget(params);
    if ('refused' in target) return target;
    if (target.mode === 'local') return { mode: 'local' };
    const { workDir } = await this.store.prepare(BuildRecordStore.newId('codebuild'));
    const { prepared } = await prepareSources(request, workDir);
    const runner = await this.runner();
    const launch = await runner.startDetached(
      request,
      { contextDir: prepared.contextDir, dockerfilePath: prepared.dockerfilePath },
      {
        project: params.codebuildProject,
        region: target.region!,
        ...(params.s3Bucket ? { bucket: params.s3Bucket } : {}),
      },
    );
    return { mode: 'codebuild', launch, warnings: target.warnings ?? [] };
  }

  /** Status of a CodeBuild build by its id (`project:uuid`), wherever it was started. */
  async codebuildStatus(codebuildBuildId: string, region?: string) {
    const runner = await this.runner();
    const status = await runner.status(codebuildBuildId, region);
    return { status, logTail: await runner.logTail(codebuildBuildId, 20, region).catch(() => []) };
  }

  /** By this tool's build id, or by the CodeBuild id (`project:uuid`) of one of its attempts. */
  async get(buildId: string): Promise<BuildRecord | undefined> {
    const record = await this.service.get(buildId);
    if (record || !buildId.includes(':')) return record;
    const owner = (await this.store.list(200)).find((candidate) =>
      candidate.attempts.some((attempt) => attempt.codebuild_build_id === buildId),
    );
    return owner && this.service.get(owner.build_id);
  }

  isActive(buildId: string): boolean {
    return this.service.isActive(buildId);
  }

  waitForChange(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    return this.service.waitForChange(buildId, timeoutMs, signal);
  }

  waitForEnd(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    return this.service.waitForEnd(buildId, timeoutMs, signal);
  }

  cancel(buildId: string): Promise<boolean> {
    return this.service.cancel(buildId);
  }

  cancelAll(): Promise<void> {
    return this.service.cancelAll();
  }

  list(limit: number): Promise<BuildRecord[]> {
    return this.store.list(limit);
  }

  logTail(record: BuildRecord, lines: number): Promise<string[]> {
    return readLogTail(record.log_file, lines);
  }

  subscribe(buildId: string, listener: (event: BuildEvent, record: BuildRecord) => void): () => void {
    const onEvent = (id: string, event: BuildEvent, record: BuildRecord) => {
      if (id === buildId) listener(event, record);
    };
    this.service.events.on('event', onEvent);
    return () => this.service.events.off('event', onEvent);
  }

  smokeTest(input: Parameters<BuildsApi['smokeTest']>[0], signal: AbortSignal): Promise<SmokeResult> {
    return this.smokeTester(input.useSudo).run(
      {
        image: input.image,
        commands: input.commands,
        gpu: input.gpu,
        pytorch: input.pytorch,
        timeoutSeconds: input.timeout_seconds,
      },
      { signal },
    );
  }
}
