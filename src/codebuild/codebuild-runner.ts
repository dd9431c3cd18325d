/**
 * One build attempt in AWS CodeBuild, with the same events, log file and outcome as a local build.
 *
 * `runAttempt`: check the project (missing → the seed's "CodeBuild project not found" with the setup command),
 * warn about the cost, package the context (the fixed Dockerfile included), make sure the bucket exists, upload the
 * zip unless the same bytes are already there (content-addressed key, HeadObject first), `StartBuild` with the S3
 * source, the generated buildspec, privileged mode and the timeout, then follow the build: `BatchGetBuilds` with
 * backoff for phases and status, `GetLogEvents` with forward tokens for the log. Every log line becomes a `log`
 * event and a line of the log file; the `docker build` part of the log (between the buildspec's markers) also goes
 * through the BuildKit/legacy output parser of the local builder, so step events, the failed step and its Dockerfile
 * line come out exactly as for a local build. Aborting the attempt's signal calls `StopBuild`.
 *
 * Phases → progress: each phase change is reported as a `log` line `[docker-image-builder] CodeBuild phase <P>:
 * <what it does>` and through `options.onPhase` with `describePhase` (a message and a rough fraction of the build);
 * step events inside BUILD give the finer progress, as locally.
 *
 * Every AWS call has a deadline (see clients.ts); the SDK retries throttling and 5xx answers itself.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Build, CodeBuildClient, Project } from '@aws-sdk/client-codebuild';
import type { AttemptInput, AttemptOutcome, BuildRequest } from '../build-model/attempt.js';
import type { BuildEvent } from '../build-model/events.js';
import type { SmokeResult } from '../build-model/smoke-schema.js';
import {
  awsErrorName,
  describeAwsError,
  unexpectedAwsAnswer,
  type AwsCall,
  type AwsService,
} from '../util/aws-errors.js';
import { ExpectedFailure, InputError, failureText } from '../util/errors.js';
import { buildspecCommands, generateBuildspec, imageTag, parseEcrRepositoryUri, wantsPush } from './buildspec.js';
import { createAwsClients, withDeadline, type AwsClientOptions, type AwsClients } from './clients.js';
import type { ExtraFile } from './context-package.js';
import { estimateCost, type CostEstimate } from './cost.js';
import { AttemptSink, INFO, LogProcessor, messageLines, type Sink } from './log-processor.js';
import { defaultBucketName, ensureBucket, uploadBuildContext, type UploadBuildContextResult } from './s3-upload.js';
import { setupCommand } from './setup/setup.js';

export { messageLines } from './log-processor.js';

/** Name of the fixed Dockerfile in the zip when the attempt's Dockerfile lies outside the context. */
export const FIXED_DOCKERFILE_NAME = 'Dockerfile.dib-fixed';

export const TERMINAL_BUILD_STATUSES = ['SUCCEEDED', 'FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'] as const;

export interface PhaseProgress {
  phase: string;
  previous?: string;
  message: string;
  /** Rough share of the build done when the phase starts (0-1). */
  fraction: number;
}

const PHASES: Record<string, { message: string; fraction: number }> = {
  SUBMITTED: { message: 'submitted to CodeBuild', fraction: 0 },
  QUEUED: { message: 'waiting in the CodeBuild queue (not billed)', fraction: 0.02 },
  PROVISIONING: { message: 'CodeBuild is starting the build container (billing starts)', fraction: 0.05 },
  DOWNLOAD_SOURCE: { message: 'CodeBuild is downloading the build context from S3', fraction: 0.08 },
  INSTALL: { message: 'preparing the build container', fraction: 0.09 },
  PRE_BUILD: { message: 'pre-build steps (ECR login when pushing)', fraction: 0.1 },
  BUILD: { message: 'docker build', fraction: 0.1 },
  POST_BUILD: { message: 'smoke checks and push', fraction: 0.9 },
  UPLOAD_ARTIFACTS: { message: 'finishing', fraction: 0.97 },
  FINALIZING: { message: 'finishing', fraction: 0.98 },
  COMPLETED: { message: 'done', fraction: 1 },
};

/** What a CodeBuild phase means for the user, and roughly how far the build is when it starts. */
export function describePhase(phase: string): { message: string; fraction: number } {
  return PHASES[phase] ?? { message: phase.toLowerCase().replace(/_/g, ' '), fraction: 0.5 };
}

/** `timeoutSeconds` as CodeBuild's `timeoutInMinutes` (rounded up, within CodeBuild's 5-2160). */
export function timeoutMinutesFor(timeoutSeconds: number): number {
  return Math.min(2160, Math.max(5, Math.ceil(timeoutSeconds / 60)));
}

/** The console page of a build. */
export function buildConsoleUrl(buildId: string, region: string, account?: string): string {
  const project = buildId.split(':')[0] ?? buildId;
  const accountPart = account === undefined ? '' : `${account}/`;
  return (
    `https://${region}.console.aws.amazon.com/codesuite/codebuild/${accountPart}projects/${encodeURIComponent(project)}` +
    `/build/${encodeURIComponent(buildId)}/?region=${region}`
  );
}

/** The seed's "CodeBuild project not found", with the setup command that creates it. */
export function projectNotFoundError(project: string, region: string): InputError {
  const command = setupCommand(project, region);
  return new InputError(
    'codebuild_project',
    `CodeBuild project not found: ${project} (region ${region}). Create it with: ${command}`,
    `Run \`${command}\` (add --dry-run to see what it creates), or pass --codebuild-project with an existing project.`,
  );
}

export interface ProjectCheck {
  exists: boolean;
  name: string;
  region: string;
  arn?: string;
  computeType?: string;
  environmentType?: string;
  image?: string;
  privilegedMode?: boolean;
  serviceRole?: string;
  timeoutInMinutes?: number;
  sourceType?: string;
  /** Set when the project is missing: the seed's message and the command that creates it. */
  message?: string;
  setupCommand?: string;
  /** Things about an existing project that matter for Docker builds. */
  warnings: string[];
}

export interface CodeBuildRunOptions {
  project: string;
  region: string;
  /** Default `docker-image-builder-<account>-<region>`. */
  bucket?: string;
  /** Default: STS GetCallerIdentity. */
  accountId?: string;
  /** Repository name (`fsdp`) or URI (`<account>.dkr.ecr.<region>.amazonaws.com/fsdp`). */
  ecrRepository?: string;
  /** Push after the build and the smoke checks (default true when ecrRepository is given). */
  push?: boolean;
  /** Called on every phase change. */
  onPhase?: (progress: PhaseProgress) => void;
}

export interface CodeBuildLaunch {
  codebuildBuildId: string;
  buildArn?: string;
  consoleUrl: string;
  region: string;
  accountId: string;
  costEstimate: CostEstimate;
  upload: Pick<UploadBuildContextResult, 'bucket' | 'key' | 'sha256' | 'byteLength' | 'uploaded' | 'sourceLocation'>;
  /** Where the image is pushed when the build succeeds. */
  pushTarget?: string;
}

export interface CodeBuildAttemptOutcome extends AttemptOutcome {
  /** `project:uuid`; absent only when the attempt was cancelled before StartBuild. */
  codebuildBuildId?: string;
  consoleUrl?: string;
  logGroup?: string;
  logStream?: string;
  /** CodeBuild's status: SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED (IN_PROGRESS if we stopped following). */
  codebuildStatus?: string;
  timedOut: boolean;
  /** The docker build itself succeeded (smoke checks or the push may still have failed). */
  imageBuilt: boolean;
  /** Smoke results from the build container (no GPU), when smoke checks ran. */
  smoke?: SmokeResult;
  pushedImage?: string;
  costEstimate?: CostEstimate;
  upload?: CodeBuildLaunch['upload'];
  durationMs: number;
}

export interface BuildPhaseStatus {
  phase: string;
  status?: string;
  startTime?: string;
  endTime?: string;
  durationSeconds?: number;
  message?: string;
}

export interface CodeBuildStatus {
  id: string;
  project: string;
  region: string;
  status: string;
  currentPhase?: string;
  complete: boolean;
  phases: BuildPhaseStatus[];
  startTime?: string;
  endTime?: string;
  consoleUrl: string;
  logGroup?: string;
  logStream?: string;
  logDeepLink?: string;
  sourceLocation?: string;
  computeType?: string;
  timeoutInMinutes?: number;
  /** The first failed phase's message, when the build failed. */
  errorMessage?: string;
}

export interface PollOptions {
  /** First wait between BatchGetBuilds calls (default 1000 ms); reset when something changes. */
  initialMs?: number;
  /** Longest wait (default 10 000 ms). */
  maxMs?: number;
  /** Growth per quiet poll (default 1.5). */
  factor?: number;
  /** After StopBuild: how long to wait for the build to end before returning anyway (default 30 s). */
  stopWaitMs?: number;
  /** After the build ends: how long to keep reading late CloudWatch events (default 10 s). */
  finalLogWaitMs?: number;
  /** Pause between those late reads (default 1000 ms). */
  finalLogPollMs?: number;
  /** Consecutive failed polls tolerated before giving up (default 5). */
  maxConsecutiveErrors?: number;
}

export interface CodeBuildRunnerDeps {
  /** Clients for a region, e.g. `(region) => createAwsClients({ region })`; called once per region. */
  clients: (region: string) => AwsClients;
  /** Sleeps, resolving early when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds clock. */
  now?: () => number;
  poll?: PollOptions;
  /** Deadline for one AWS call including the SDK's retries (default 120 s). */
  callTimeoutMs?: number;
  /** Region for `status`/`logTail`/`stop` when the id is not an ARN and none is passed. */
  defaultRegion?: string;
  /** Retries for S3 transient failures on top of the SDK's (see s3-upload.ts; default 3). */
  s3Retries?: number;
  s3RetryDelayMs?: number;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** How a failed CodeBuild-path call is described: the call, and the next steps that know about the project. */
function codebuildCall(
  operation: string,
  project: string,
  region: string,
  service: AwsService = 'CodeBuild',
  signal?: AbortSignal,
): AwsCall {
  return {
    service,
    operation,
    region,
    ...(signal === undefined ? {} : { signal }),
    nextSteps: {
      'aws-permissions': `Give the caller codebuild:BatchGetProjects, StartBuild, BatchGetBuilds and StopBuild on project ${project}, logs:GetLogEvents on /aws/codebuild/${project}, and S3 access to the source bucket.`,
      'aws-limit': 'Wait for running builds to finish, or ask AWS for a higher concurrent-build quota.',
    },
  };
}

/** One line for the log: an expected failure's message and next step, else the failure of `call`, described. */
function errorText(error: unknown, call?: AwsCall): string {
  if (error instanceof InputError || error instanceof ExpectedFailure) return failureText(error);
  if (call !== undefined) return failureText(describeAwsError(error, call));
  return `${awsErrorName(error)}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return (
    signal?.aborted === true ||
    awsErrorName(error) === 'AbortError' ||
    (error instanceof ExpectedFailure && error.kind === 'cancelled')
  );
}

function iso(date: Date | undefined): string | undefined {
  return date === undefined ? undefined : date.toISOString();
}

function failedPhaseMessage(build: Build): string | undefined {
  const failed = (build.phases ?? []).find(
    (p) => p.phaseStatus !== undefined && p.phaseStatus !== 'SUCCEEDED' && p.phaseStatus !== 'IN_PROGRESS',
  );
  if (failed === undefined) return undefined;
  const context = failed.contexts?.find((c) => (c.message ?? '') !== '' || (c.statusCode ?? '') !== '');
  const detail =
    context === undefined
      ? ''
      : `: ${[context.statusCode, shortenContext(context.message)].filter(Boolean).join(': ')}`;
  return `CodeBuild phase ${failed.phaseType ?? '?'} ${failed.phaseStatus ?? ''}${detail}`;
}

/** A phase context message without the whole multi-line command CodeBuild quotes in it. */
function shortenContext(message: string | undefined): string | undefined {
  if (message === undefined || !message.includes('\n')) return message;
  const all = message.split('\n');
  const reason = /(Reason: .*)$/.exec(all[all.length - 1] ?? '')?.[1];
  return `${all[0]} …${reason === undefined ? '' : ` ${reason}`}`;
}

function accountFromArn(arn: string | undefined): string | undefined {
  return /^arn:[^:]+:codebuild:[^:]*:(\d{12}):/.exec(arn ?? '')?.[1];
}

function parseBuildIdentifier(id: string, fallbackRegion: string | undefined): { id: string; region: string } {
  const arn = /^arn:[^:]+:codebuild:([^:]+):\d{12}:build\/(.+)$/.exec(id);
  if (arn) return { id: arn[2]!, region: arn[1]! };
  if (!/^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}:[A-Za-z0-9-]+$/.test(id)) {
    throw new InputError(
      'build_id',
      `"${id}" is not a CodeBuild build id`,
      'CodeBuild ids look like "<project>:<uuid>".',
    );
  }
  if (fallbackRegion === undefined) {
    throw new InputError('region', `no region known for CodeBuild build ${id}`, 'Pass the region the build runs in.');
  }
  return { id, region: fallbackRegion };
}

interface FollowContext {
  region: string;
  project: string;
  accountId?: string;
  imageRef: string;
  signal?: AbortSignal;
  sink: AttemptSink;
  processor: LogProcessor;
  onPhase?: (progress: PhaseProgress) => void;
  pushWanted: boolean;
  smokeWanted: boolean;
  stop: { requested: boolean };
}

interface FollowResult {
  build: Build | undefined;
  cancelled: boolean;
  lostContact?: string;
}

export interface FollowInput {
  logFile?: string;
  signal?: AbortSignal;
  onEvent?: (event: BuildEvent) => void;
}

export interface FollowOptions {
  region?: string;
  imageRef?: string;
  /** For step totals and Dockerfile line mapping. */
  dockerfileText?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  hasLabels?: boolean;
  pushWanted?: boolean;
  smokeWanted?: boolean;
  onPhase?: (progress: PhaseProgress) => void;
}

export class CodeBuildRunner {
  private readonly clientsByRegion = new Map<string, AwsClients>();
  private readonly accounts = new Map<string, Promise<string>>();
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly poll: Required<PollOptions>;

  constructor(private readonly deps: CodeBuildRunnerDeps) {
    this.sleep = deps.sleep ?? defaultSleep;
    this.now = deps.now ?? (() => Date.now());
    this.poll = {
      initialMs: 1_000,
      maxMs: 10_000,
      factor: 1.5,
      stopWaitMs: 30_000,
      finalLogWaitMs: 10_000,
      finalLogPollMs: 1_000,
      maxConsecutiveErrors: 5,
      ...deps.poll,
    };
  }

  /** Closes every client this runner made. */
  destroy(): void {
    for (const clients of this.clientsByRegion.values()) clients.destroy();
    this.clientsByRegion.clear();
  }

  private clients(region: string): AwsClients {
    let clients = this.clientsByRegion.get(region);
    if (clients === undefined) {
      clients = this.deps.clients(region);
      this.clientsByRegion.set(region, clients);
    }
    return clients;
  }

  private call(signal?: AbortSignal) {
    return {
      ...(this.deps.callTimeoutMs === undefined ? {} : { timeoutMs: this.deps.callTimeoutMs }),
      ...(signal ? { signal } : {}),
    };
  }

  private async codebuild(
    region: string,
  ): Promise<{ client: CodeBuildClient; sdk: typeof import('@aws-sdk/client-codebuild') }> {
    const [client, sdk] = await Promise.all([this.clients(region).codebuild(), import('@aws-sdk/client-codebuild')]);
    return { client, sdk };
  }

  /** The caller's account (STS), cached per region. */
  async accountId(region: string): Promise<string> {
    let account = this.accounts.get(region);
    if (account === undefined) {
      account = (async () => {
        const sts = await this.clients(region).sts();
        const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
        const identity = await withDeadline(
          (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
          this.call(),
        );
        if (identity.Account === undefined) {
          throw unexpectedAwsAnswer({ service: 'STS', operation: 'GetCallerIdentity' }, 'the answer has no account');
        }
        return identity.Account;
      })();
      this.accounts.set(region, account);
      account.catch(() => this.accounts.delete(region));
    }
    return account;
  }

  /** BatchGetProjects: whether the project exists and how it is configured. Never throws for a missing project. */
  async checkProject(project: string, region: string): Promise<ProjectCheck> {
    const { client, sdk } = await this.codebuild(region);
    let answer;
    try {
      answer = await withDeadline(
        (abortSignal) => client.send(new sdk.BatchGetProjectsCommand({ names: [project] }), { abortSignal }),
        this.call(),
      );
    } catch (error) {
      throw describeAwsError(error, codebuildCall('BatchGetProjects', project, region));
    }
    const found: Project | undefined = answer.projects?.find((p) => p.name === project);
    if (found === undefined) {
      return {
        exists: false,
        name: project,
        region,
        message: projectNotFoundError(project, region).message,
        setupCommand: setupCommand(project, region),
        warnings: [],
      };
    }
    const env = found.environment;
    const warnings: string[] = [];
    if (env?.computeType?.startsWith('BUILD_LAMBDA')) {
      warnings.push(`${env.computeType} runs on AWS Lambda, which cannot run Docker; use an EC2 compute type`);
    }
    if (env?.type !== undefined && /WINDOWS/.test(env.type)) {
      warnings.push(`the project runs ${env.type}; Linux images need a LINUX_CONTAINER project`);
    }
    if (env?.type === 'ARM_CONTAINER') warnings.push('the project runs on ARM: images are built for linux/arm64');
    return {
      exists: true,
      name: project,
      region,
      ...(found.arn === undefined ? {} : { arn: found.arn }),
      ...(env?.computeType === undefined ? {} : { computeType: env.computeType }),
      ...(env?.type === undefined ? {} : { environmentType: env.type }),
      ...(env?.image === undefined ? {} : { image: env.image }),
      ...(env?.privilegedMode === undefined ? {} : { privilegedMode: env.privilegedMode }),
      ...(found.serviceRole === undefined ? {} : { serviceRole: found.serviceRole }),
      ...(found.timeoutInMinutes === undefined ? {} : { timeoutInMinutes: found.timeoutInMinutes }),
      ...(found.source?.type === undefined ? {} : { sourceType: found.source.type }),
      warnings,
    };
  }

  /** checkProject, throwing the seed's "CodeBuild project not found" (InputError) when it is missing or unusable. */
  async requireProject(project: string, region: string): Promise<ProjectCheck> {
    const check = await this.checkProject(project, region);
    if (!check.exists) throw projectNotFoundError(project, region);
    if (check.computeType?.startsWith('BUILD_LAMBDA') || (check.environmentType ?? '').includes('WINDOWS')) {
      throw new InputError(
        'codebuild_project',
        `CodeBuild project ${project} cannot run Docker builds: ${check.warnings.join('; ')}`,
        `Use another project, or create one with: ${setupCommand(`${project}-docker`, region)}`,
      );
    }
    return check;
  }

  estimateCost(computeType: string, timeoutMinutes: number, environmentType?: string): CostEstimate {
    return estimateCost(computeType, timeoutMinutes, environmentType);
  }

  /** The Dockerfile inside the zip, and the extra files that put a fixed Dockerfile from outside the context there. */
  private async sources(request: BuildRequest, input: Pick<AttemptInput, 'contextDir' | 'dockerfilePath'>) {
    const contextDir = path.resolve(input.contextDir);
    const dockerfileAbs = path.resolve(contextDir, input.dockerfilePath);
    let dockerfileText: string;
    try {
      dockerfileText = await readFile(dockerfileAbs, 'utf8');
    } catch {
      throw new InputError('dockerfile', `cannot read the Dockerfile ${dockerfileAbs}`, 'Check the Dockerfile path.');
    }
    const rel = path.relative(contextDir, dockerfileAbs);
    const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    if (inside) {
      return {
        contextDir,
        packagedDockerfile: rel.split(path.sep).join('/'),
        buildDockerfile: rel.split(path.sep).join('/'),
        extraFiles: [] as ExtraFile[],
        dockerfileText,
      };
    }
    // The fixed Dockerfile lives outside the context: it goes into the zip as Dockerfile.dib-fixed. Packaging is
    // anchored on the user's Dockerfile, so its ignore file selects what is sent. In CodeBuild, BuildKit reads
    // Dockerfile.dib-fixed.dockerignore (the same rules) and the legacy builder reads .dockerignore (the root rules,
    // as locally); both get two lines more so COPY never sees the added files.
    const original = request.dockerfile.split(path.sep).join('/');
    const originalAbs = path.resolve(contextDir, original);
    const originalRel = path.relative(contextDir, originalAbs);
    if (originalRel === '' || originalRel.startsWith('..') || path.isAbsolute(originalRel)) {
      throw new InputError(
        'dockerfile',
        `${request.dockerfile} is not inside the context ${contextDir}`,
        'Pass a Dockerfile path relative to the context.',
      );
    }
    const readIf = (file: string) => readFile(path.join(contextDir, file), 'utf8').catch(() => undefined);
    const rootIgnore = (await readIf('.dockerignore')) ?? '';
    const ignore = (await readIf(`${original}.dockerignore`)) ?? rootIgnore;
    const own = `${FIXED_DOCKERFILE_NAME}\n${FIXED_DOCKERFILE_NAME}.dockerignore\n`;
    const withOwn = (rules: string) => `${rules}${rules === '' || rules.endsWith('\n') ? '' : '\n'}${own}`;
    const extraFiles: ExtraFile[] = [
      { path: FIXED_DOCKERFILE_NAME, content: dockerfileText },
      { path: `${FIXED_DOCKERFILE_NAME}.dockerignore`, content: withOwn(ignore) },
      { path: '.dockerignore', content: withOwn(rootIgnore) },
    ];
    return {
      contextDir,
      packagedDockerfile: originalRel.split(path.sep).join('/'),
      buildDockerfile: FIXED_DOCKERFILE_NAME,
      extraFiles,
      dockerfileText,
    };
  }

  private pushTarget(options: CodeBuildRunOptions, account: string): string | undefined {
    if (options.ecrRepository === undefined) {
      if (options.push === true) {
        throw new InputError(
          'push',
          'push was asked without an ECR repository',
          'Pass ecr_repository (a name or a repository URI).',
        );
      }
      return undefined;
    }
    const repo = options.ecrRepository;
    const uri =
      repo.includes('/') && repo.split('/')[0]!.includes('.')
        ? repo
        : `${account}.dkr.ecr.${options.region}.amazonaws.com/${repo}`;
    parseEcrRepositoryUri(uri);
    return uri;
  }

  private async launch(
    request: BuildRequest,
    input: Pick<AttemptInput, 'contextDir' | 'dockerfilePath' | 'signal'> & { attempt?: number },
    options: CodeBuildRunOptions,
    sink: Sink,
  ): Promise<(CodeBuildLaunch & { dockerfileText: string }) | undefined> {
    const { region, project } = options;
    const check = await this.requireProject(project, region);
    for (const warning of check.warnings)
      sink.emit({ type: 'warning', message: `CodeBuild project ${project}: ${warning}` });
    const timeoutMinutes = timeoutMinutesFor(request.timeoutSeconds);
    const costEstimate = estimateCost(
      check.computeType ?? 'BUILD_GENERAL1_SMALL',
      timeoutMinutes,
      check.environmentType,
    );
    sink.emit({ type: 'warning', message: costEstimate.note });
    sink.write(`${INFO} warning: ${costEstimate.note}`);

    const sources = await this.sources(request, input);
    const accountId =
      options.accountId ??
      (await this.accountId(region).catch((error: unknown) => {
        throw describeAwsError(error, codebuildCall('GetCallerIdentity', project, region, 'STS'));
      }));
    const ecrRepository = this.pushTarget(options, accountId);
    const buildspec = generateBuildspec({
      dockerfile: sources.buildDockerfile,
      imageRef: request.imageRef,
      buildArgs: request.buildArgs,
      ...(request.target === undefined ? {} : { target: request.target }),
      ...(request.platform === undefined ? {} : { platform: request.platform }),
      noCache: request.noCache,
      pull: request.pull,
      labels: request.labels,
      smokeTest: request.smokeTest,
      smokeCommands: request.smokeCommands,
      ...(ecrRepository === undefined ? {} : { ecrRepository }),
      ...(options.push === undefined ? {} : { push: options.push }),
    });

    const bucket = options.bucket ?? defaultBucketName(accountId, region);
    const clients = this.clients(region);
    const s3 = await clients.s3();
    const retry = {
      ...(this.deps.s3Retries === undefined ? {} : { retries: this.deps.s3Retries }),
      ...(this.deps.s3RetryDelayMs === undefined ? {} : { retryDelayMs: this.deps.s3RetryDelayMs }),
      signal: input.signal,
    };
    const ensured = await ensureBucket({ s3, bucket, region, expectedOwner: accountId, ...retry });
    if (ensured.created) sink.info(`created the source bucket s3://${bucket} (private, encrypted)`);
    sink.info(`packaging ${sources.contextDir} for s3://${bucket}`);
    const upload = await uploadBuildContext({
      s3,
      bucket,
      context: {
        contextDir: sources.contextDir,
        dockerfile: sources.packagedDockerfile,
        extraFiles: sources.extraFiles,
      },
      expectedOwner: accountId,
      ...retry,
    });
    const size = `${upload.manifest.fileCount} files, ${(upload.byteLength / 1024).toFixed(1)} KiB zipped`;
    sink.info(
      upload.uploaded
        ? `uploaded the context (${size}) to s3://${upload.bucket}/${upload.key}`
        : `the context is unchanged (${size}, sha256 ${upload.sha256.slice(0, 12)}): reusing s3://${upload.bucket}/${upload.key}`,
    );
    if (input.signal?.aborted) return undefined;

    const { client, sdk } = await this.codebuild(region);
    let started;
    try {
      // No abort signal: a StartBuild cut off mid-flight could start a build nobody follows. The idempotency token
      // makes the SDK's retries (throttling, 5xx, timeouts) return the same build instead of starting another.
      started = await withDeadline(
        (abortSignal) =>
          client.send(
            new sdk.StartBuildCommand({
              projectName: project,
              sourceTypeOverride: 'S3',
              sourceLocationOverride: upload.sourceLocation,
              buildspecOverride: buildspec,
              privilegedModeOverride: true,
              timeoutInMinutesOverride: timeoutMinutes,
              idempotencyToken: randomUUID(),
              environmentVariablesOverride: [
                { name: 'DIB_IMAGE_REF', value: request.imageRef, type: 'PLAINTEXT' },
                { name: 'DIB_CONTEXT_SHA256', value: upload.sha256, type: 'PLAINTEXT' },
                { name: 'DIB_ATTEMPT', value: String(input.attempt ?? 1), type: 'PLAINTEXT' },
              ],
            }),
            { abortSignal },
          ),
        this.call(),
      );
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') throw projectNotFoundError(project, region);
      throw describeAwsError(error, codebuildCall('StartBuild', project, region));
    }
    const id = started.build?.id;
    if (id === undefined)
      throw unexpectedAwsAnswer(codebuildCall('StartBuild', project, region), 'the answer has no build id');
    const account = accountFromArn(started.build?.arn) ?? accountId;
    const consoleUrl = buildConsoleUrl(id, region, account);
    sink.info(`started CodeBuild build ${id} (timeout ${timeoutMinutes} min): ${consoleUrl}`);
    return {
      codebuildBuildId: id,
      ...(started.build?.arn === undefined ? {} : { buildArn: started.build.arn }),
      consoleUrl,
      region,
      accountId: account,
      costEstimate,
      upload: {
        bucket: upload.bucket,
        key: upload.key,
        sha256: upload.sha256,
        byteLength: upload.byteLength,
        uploaded: upload.uploaded,
        sourceLocation: upload.sourceLocation,
      },
      ...(ecrRepository !== undefined &&
      wantsPush({ ecrRepository, ...(options.push === undefined ? {} : { push: options.push }) })
        ? { pushTarget: `${ecrRepository}:${imageTag(request.imageRef)}` }
        : {}),
      dockerfileText: sources.dockerfileText,
    };
  }

  /**
   * For `no_wait`: checks the project, uploads the context and starts the build; returns its id at once. Events (cost
   * warning, upload lines) go to `input.onEvent` when given. Throws InputError for user problems (missing project,
   * bucket access, credentials).
   */
  async startDetached(
    request: BuildRequest,
    input: Pick<AttemptInput, 'contextDir' | 'dockerfilePath'> &
      Partial<Pick<AttemptInput, 'signal' | 'onEvent' | 'attempt'>>,
    options: CodeBuildRunOptions,
  ): Promise<CodeBuildLaunch> {
    const sink = new AttemptSink(undefined, input.onEvent, () => undefined);
    const launched = await this.launch(
      request,
      { ...input, signal: input.signal ?? new AbortController().signal },
      options,
      sink,
    );
    if (launched === undefined) {
      throw new ExpectedFailure({
        kind: 'cancelled',
        message: 'cancelled before the CodeBuild build started',
        nextStep: 'Start it again.',
      });
    }
    const { dockerfileText: _text, ...launch } = launched;
    return launch;
  }

  /**
   * Runs one attempt in CodeBuild and follows it to the end. User problems before the build starts (missing project,
   * bucket or credential trouble) throw InputError after being written to the log; everything after StartBuild is
   * reported in the outcome.
   */
  async runAttempt(
    request: BuildRequest,
    input: AttemptInput,
    options: CodeBuildRunOptions,
  ): Promise<CodeBuildAttemptOutcome> {
    const started = this.now();
    await mkdir(path.dirname(path.resolve(input.logFile)), { recursive: true });
    const stop = { requested: false };
    const current: { buildId?: string } = {};
    const stopOnListenerError = () => {
      if (current.buildId !== undefined && !stop.requested) {
        stop.requested = true;
        void this.stop(current.buildId, options.region).catch(() => undefined);
      }
    };
    const sink = new AttemptSink(input.logFile, input.onEvent, stopOnListenerError);
    sink.emit({ type: 'build-started', builder: 'codebuild', imageRef: request.imageRef, logFile: input.logFile });
    const base = { builder: 'codebuild', logFile: input.logFile, timedOut: false, imageBuilt: false } as const;
    const cancelledBeforeStart = async (): Promise<CodeBuildAttemptOutcome> => {
      const durationMs = Math.round(this.now() - started);
      sink.info('cancelled before the CodeBuild build started');
      sink.emit({ type: 'build-finished', success: false, durationMs, cancelled: true, timedOut: false });
      await sink.close();
      return { ...base, success: false, cancelled: true, errorMessage: 'build cancelled', durationMs };
    };
    let launched: Awaited<ReturnType<CodeBuildRunner['launch']>>;
    try {
      launched = await this.launch(request, input, options, sink);
    } catch (error) {
      if (isAbort(error, input.signal)) return cancelledBeforeStart();
      sink.info(`could not start the CodeBuild build: ${errorText(error)}`);
      await sink.close();
      throw error;
    }
    if (launched === undefined) return cancelledBeforeStart();
    current.buildId = launched.codebuildBuildId;
    const processor = new LogProcessor(sink, {
      dockerfileText: launched.dockerfileText,
      buildArgs: request.buildArgs,
      ...(request.target === undefined ? {} : { target: request.target }),
      hasLabels: Object.keys(request.labels).length > 0,
    });
    const context: FollowContext = {
      region: options.region,
      project: options.project,
      accountId: launched.accountId,
      imageRef: request.imageRef,
      signal: input.signal,
      sink,
      processor,
      ...(options.onPhase === undefined ? {} : { onPhase: options.onPhase }),
      pushWanted: launched.pushTarget !== undefined,
      smokeWanted: request.smokeTest,
      stop,
    };
    let outcome: CodeBuildAttemptOutcome;
    try {
      const followed = await this.followBuild(launched.codebuildBuildId, context);
      outcome = this.outcome(followed, context, started, {
        codebuildBuildId: launched.codebuildBuildId,
        consoleUrl: launched.consoleUrl,
        costEstimate: launched.costEstimate,
        upload: launched.upload,
        ...(launched.pushTarget === undefined ? {} : { pushTarget: launched.pushTarget }),
      });
    } finally {
      await sink.close();
    }
    if (sink.listenerError !== undefined) throw sink.listenerError;
    return outcome;
  }

  /**
   * Follows a build started earlier (e.g. with `startDetached`) to its end, with events and a log file as
   * `runAttempt`. Aborting the signal stops the build.
   */
  async follow(
    codebuildBuildId: string,
    input: FollowInput,
    options: FollowOptions = {},
  ): Promise<CodeBuildAttemptOutcome> {
    const started = this.now();
    const { id, region } = parseBuildIdentifier(codebuildBuildId, options.region ?? this.deps.defaultRegion);
    if (input.logFile !== undefined) await mkdir(path.dirname(path.resolve(input.logFile)), { recursive: true });
    const stop = { requested: false };
    const sink = new AttemptSink(input.logFile, input.onEvent, () => {
      if (!stop.requested) {
        stop.requested = true;
        void this.stop(id, region).catch(() => undefined);
      }
    });
    const imageRef = options.imageRef ?? '';
    sink.emit({
      type: 'build-started',
      builder: 'codebuild',
      imageRef,
      ...(input.logFile === undefined ? {} : { logFile: input.logFile }),
    });
    const processor = new LogProcessor(sink, {
      ...(options.dockerfileText === undefined ? {} : { dockerfileText: options.dockerfileText }),
      ...(options.buildArgs === undefined ? {} : { buildArgs: options.buildArgs }),
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(options.hasLabels === undefined ? {} : { hasLabels: options.hasLabels }),
    });
    const context: FollowContext = {
      region,
      project: id.split(':')[0] ?? id,
      imageRef,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      sink,
      processor,
      ...(options.onPhase === undefined ? {} : { onPhase: options.onPhase }),
      pushWanted: options.pushWanted ?? false,
      smokeWanted: options.smokeWanted ?? true,
      stop,
    };
    let outcome: CodeBuildAttemptOutcome;
    try {
      const followed = await this.followBuild(id, context);
      const account = accountFromArn(followed.build?.arn);
      outcome = this.outcome(followed, context, started, {
        codebuildBuildId: id,
        consoleUrl: buildConsoleUrl(id, region, account),
      });
    } finally {
      await sink.close();
    }
    if (sink.listenerError !== undefined) throw sink.listenerError;
    return outcome;
  }

  private async getBuild(
    client: CodeBuildClient,
    sdk: typeof import('@aws-sdk/client-codebuild'),
    id: string,
  ): Promise<Build> {
    const answer = await withDeadline(
      (abortSignal) => client.send(new sdk.BatchGetBuildsCommand({ ids: [id] }), { abortSignal }),
      this.call(),
    );
    const build = answer.builds?.find((b) => b.id === id);
    if (build === undefined) {
      throw new InputError('build_id', `CodeBuild has no build ${id}`, 'Check the build id and the region.');
    }
    return build;
  }

  private async followBuild(id: string, ctx: FollowContext): Promise<FollowResult> {
    const { client, sdk } = await this.codebuild(ctx.region);
    const logs = await this.clients(ctx.region).logs();
    const logsSdk = await import('@aws-sdk/client-cloudwatch-logs');
    const poll = this.poll;
    let delay = poll.initialMs;
    let build: Build | undefined;
    let phase: string | undefined;
    let token: string | undefined;
    let stopAt: number | undefined;
    let errors = 0;
    const order = Object.keys(PHASES);
    let reported = -1;
    // Phases come from the log's "Entering phase" lines (in order with the output) and from BatchGetBuilds (for the
    // phases that print nothing: QUEUED, PROVISIONING, COMPLETED); each is reported once, moving forward only.
    const reportPhase = (next: string) => {
      const index = order.indexOf(next);
      if (index >= 0 && index <= reported) return;
      if (index >= 0) reported = index;
      const progress: PhaseProgress = {
        phase: next,
        ...(phase === undefined ? {} : { previous: phase }),
        ...describePhase(next),
      };
      phase = next;
      ctx.sink.info(`CodeBuild phase ${progress.phase}: ${progress.message}`);
      try {
        ctx.onPhase?.(progress);
      } catch {
        // progress display only
      }
    };
    ctx.processor.onPhase = reportPhase;

    const drain = async (): Promise<number> => {
      const group = build?.logs?.groupName;
      const stream = build?.logs?.streamName;
      if (group === undefined || stream === undefined) return 0;
      let count = 0;
      for (let page = 0; page < 100; page++) {
        let answer;
        try {
          answer = await withDeadline(
            (abortSignal) =>
              logs.send(
                new logsSdk.GetLogEventsCommand({
                  logGroupName: group,
                  logStreamName: stream,
                  startFromHead: true,
                  ...(token === undefined ? {} : { nextToken: token }),
                }),
                { abortSignal },
              ),
            this.call(),
          );
        } catch (error) {
          // The stream appears a moment after PROVISIONING starts.
          if (awsErrorName(error) === 'ResourceNotFoundException') return count;
          throw error;
        }
        for (const event of answer.events ?? []) {
          for (const line of messageLines(event.message)) {
            ctx.processor.push(line);
            count++;
          }
        }
        const next = answer.nextForwardToken;
        const unchanged = next === undefined || next === token;
        token = next ?? token;
        if (unchanged || (answer.events ?? []).length === 0) break;
      }
      return count;
    };

    for (;;) {
      if (ctx.signal?.aborted && !ctx.stop.requested) {
        ctx.stop.requested = true;
        ctx.sink.info(`stopping CodeBuild build ${id}`);
        try {
          await withDeadline(
            (abortSignal) => client.send(new sdk.StopBuildCommand({ id }), { abortSignal }),
            this.call(),
          );
        } catch (error) {
          ctx.sink.info(`StopBuild failed: ${errorText(error, codebuildCall('StopBuild', ctx.project, ctx.region))}`);
        }
      }
      if (ctx.stop.requested && stopAt === undefined) stopAt = this.now();
      let changed = false;
      try {
        build = await this.getBuild(client, sdk, id);
        if (!ctx.processor.knowsCommands) ctx.processor.setCommands(buildspecCommands(build.source?.buildspec));
        const lines = await drain();
        errors = 0;
        changed = lines > 0;
        const current = build.currentPhase;
        // COMPLETED is reported after the last log lines have been read (below).
        if (current !== undefined && current !== phase && current !== 'COMPLETED') {
          const before = phase;
          reportPhase(current);
          if (phase !== before) changed = true;
        }
      } catch (error) {
        // A build id unknown to CodeBuild (e.g. just after StartBuild, or a wrong region) counts as a failed poll.
        errors++;
        const text = errorText(error, codebuildCall('BatchGetBuilds', ctx.project, ctx.region));
        ctx.sink.info(`polling CodeBuild failed (${errors}/${poll.maxConsecutiveErrors}): ${text}`);
        if (errors >= poll.maxConsecutiveErrors) {
          return { build, cancelled: ctx.stop.requested, lostContact: text };
        }
      }
      if (build?.buildComplete === true || (build?.buildStatus !== undefined && build.buildStatus !== 'IN_PROGRESS'))
        break;
      if (stopAt !== undefined && this.now() - stopAt > poll.stopWaitMs) {
        ctx.sink.info(
          `build ${id} did not end within ${poll.stopWaitMs / 1000} s of StopBuild; no longer following it`,
        );
        return { build, cancelled: true };
      }
      delay = changed ? poll.initialMs : Math.min(poll.maxMs, Math.round(delay * poll.factor));
      const wait = ctx.stop.requested ? Math.min(delay, 1_000) : delay;
      await this.sleep(wait, ctx.stop.requested ? undefined : ctx.signal);
    }

    // CloudWatch may deliver the last lines a little after the build ends: read until it stays quiet.
    const deadline = this.now() + poll.finalLogWaitMs;
    let quiet = 0;
    for (;;) {
      let lines = 0;
      try {
        lines = await drain();
      } catch (error) {
        ctx.sink.info(
          `reading the last log lines failed: ${errorText(error, codebuildCall('GetLogEvents', ctx.project, ctx.region, 'CloudWatch Logs'))}`,
        );
        break;
      }
      quiet = lines === 0 ? quiet + 1 : 0;
      if (quiet >= 2 || this.now() >= deadline) break;
      await this.sleep(poll.finalLogPollMs);
    }
    if (build?.currentPhase === 'COMPLETED') reportPhase('COMPLETED');
    return { build, cancelled: ctx.stop.requested };
  }

  private outcome(
    followed: FollowResult,
    ctx: FollowContext,
    started: number,
    extra: {
      codebuildBuildId: string;
      consoleUrl: string;
      costEstimate?: CostEstimate;
      upload?: CodeBuildLaunch['upload'];
      pushTarget?: string;
    },
  ): CodeBuildAttemptOutcome {
    const { build } = followed;
    const processor = ctx.processor;
    const status = build?.buildStatus;
    const cancelled = followed.cancelled;
    const timedOut = status === 'TIMED_OUT';
    const stoppedOutside = cancelled || timedOut || status === 'STOPPED' || followed.lostContact !== undefined;
    processor.endParser(processor.dockerExit ?? (stoppedOutside ? undefined : 1));
    const summary = processor.summary();
    const imageBuilt = processor.dockerExit === 0;
    const imageId = processor.imageId ?? summary?.imageId;
    const smoke = processor.smoke.ran ? processor.smoke.result(ctx.imageRef) : undefined;
    const smokeFailed = smoke !== undefined && !smoke.passed;
    const phaseError = build === undefined ? undefined : failedPhaseMessage(build);

    let success = false;
    let errorMessage: string | undefined;
    if (followed.lostContact !== undefined && build?.buildComplete !== true) {
      errorMessage =
        `lost contact with CodeBuild (${followed.lostContact}); build ${extra.codebuildBuildId} may still be running: ` +
        extra.consoleUrl;
    } else if (cancelled) {
      errorMessage = 'build cancelled';
    } else if (timedOut) {
      errorMessage = `CodeBuild stopped the build at its timeout of ${build?.timeoutInMinutes ?? '?'} minutes${imageBuilt ? ' (after the image built)' : ''}`;
    } else if (status === 'STOPPED') {
      errorMessage = 'the build was stopped in CodeBuild (StopBuild from elsewhere)';
    } else if (!imageBuilt) {
      errorMessage =
        (processor.dockerStarted ? summary?.errorMessage : undefined) ??
        phaseError ??
        `CodeBuild build ${status ?? 'ended'} before docker build ran`;
      if (phaseError?.includes('DOWNLOAD_SOURCE')) {
        errorMessage += ` (check that the project's service role may read s3://${extra.upload?.bucket ?? 'the source bucket'})`;
      }
    } else if (smokeFailed) {
      success = true; // the image built; the smoke result says what is wrong with it (as a local build's smoke test)
    } else if (ctx.pushWanted && processor.pushed === undefined) {
      errorMessage = `the image built but the push to ${extra.pushTarget ?? 'ECR'} failed: ${phaseError ?? 'see the log'}`;
    } else if (status === 'SUCCEEDED') {
      success = true;
    } else {
      errorMessage = phaseError ?? `CodeBuild build ${status ?? 'ended'}`;
    }

    if (imageBuilt && imageId !== undefined) ctx.sink.emit({ type: 'image-built', imageId });
    const durationMs = Math.round(this.now() - started);
    ctx.sink.info(
      `CodeBuild build ${extra.codebuildBuildId} ended: ${status ?? 'unknown'}${errorMessage === undefined ? '' : ` — ${errorMessage}`}`,
    );
    ctx.sink.emit({
      type: 'build-finished',
      success,
      durationMs,
      cancelled,
      timedOut,
      ...(imageBuilt && imageId !== undefined ? { imageId } : {}),
    });
    const failed = summary?.failedStep;
    return {
      success,
      cancelled,
      builder: 'codebuild',
      ...(imageBuilt && imageId !== undefined ? { imageId } : {}),
      ...(failed !== undefined && !imageBuilt && !cancelled && !timedOut
        ? {
            failedStep: {
              instruction: failed.instruction,
              ...(failed.dockerfileLine === undefined ? {} : { dockerfileLine: failed.dockerfileLine }),
            },
          }
        : {}),
      ...(errorMessage === undefined ? {} : { errorMessage }),
      logFile: ctx.sink.logFile ?? '',
      codebuildBuildId: extra.codebuildBuildId,
      consoleUrl: extra.consoleUrl,
      ...(build?.logs?.groupName === undefined ? {} : { logGroup: build.logs.groupName }),
      ...(build?.logs?.streamName === undefined ? {} : { logStream: build.logs.streamName }),
      ...(status === undefined ? {} : { codebuildStatus: status }),
      timedOut,
      imageBuilt,
      ...(smoke === undefined ? {} : { smoke }),
      ...(processor.pushed === undefined ? {} : { pushedImage: processor.pushed }),
      ...(extra.costEstimate === undefined ? {} : { costEstimate: extra.costEstimate }),
      ...(extra.upload === undefined ? {} : { upload: extra.upload }),
      durationMs,
    };
  }

  /** Phases, status, console link and log location of a build. */
  async status(codebuildBuildId: string, region?: string): Promise<CodeBuildStatus> {
    const parsed = parseBuildIdentifier(codebuildBuildId, region ?? this.deps.defaultRegion);
    const { client, sdk } = await this.codebuild(parsed.region);
    let build: Build;
    try {
      build = await this.getBuild(client, sdk, parsed.id);
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw describeAwsError(error, codebuildCall('BatchGetBuilds', parsed.id.split(':')[0] ?? '', parsed.region));
    }
    const id = build.id ?? parsed.id;
    const errorMessage =
      build.buildStatus !== 'SUCCEEDED' && build.buildStatus !== 'IN_PROGRESS' ? failedPhaseMessage(build) : undefined;
    return {
      id,
      project: build.projectName ?? id.split(':')[0] ?? '',
      region: parsed.region,
      status: build.buildStatus ?? 'IN_PROGRESS',
      ...(build.currentPhase === undefined ? {} : { currentPhase: build.currentPhase }),
      complete: build.buildComplete === true,
      phases: (build.phases ?? []).map((p) => {
        const context = p.contexts?.find((c) => (c.message ?? '') !== '');
        const message = shortenContext(context?.message);
        return {
          phase: p.phaseType ?? '?',
          ...(p.phaseStatus === undefined ? {} : { status: p.phaseStatus }),
          ...(p.startTime === undefined ? {} : { startTime: iso(p.startTime) }),
          ...(p.endTime === undefined ? {} : { endTime: iso(p.endTime) }),
          ...(p.durationInSeconds === undefined ? {} : { durationSeconds: p.durationInSeconds }),
          ...(message === undefined ? {} : { message }),
        };
      }),
      ...(build.startTime === undefined ? {} : { startTime: iso(build.startTime) }),
      ...(build.endTime === undefined ? {} : { endTime: iso(build.endTime) }),
      consoleUrl: buildConsoleUrl(id, parsed.region, accountFromArn(build.arn)),
      ...(build.logs?.groupName === undefined ? {} : { logGroup: build.logs.groupName }),
      ...(build.logs?.streamName === undefined ? {} : { logStream: build.logs.streamName }),
      ...(build.logs?.deepLink === undefined ? {} : { logDeepLink: build.logs.deepLink }),
      ...(build.source?.location === undefined ? {} : { sourceLocation: build.source.location }),
      ...(build.environment?.computeType === undefined ? {} : { computeType: build.environment.computeType }),
      ...(build.timeoutInMinutes === undefined ? {} : { timeoutInMinutes: build.timeoutInMinutes }),
      ...(errorMessage === undefined ? {} : { errorMessage }),
    };
  }

  /** The last `lines` lines of the build's CloudWatch log (empty before the log exists). */
  async logTail(codebuildBuildId: string, lines: number, region?: string): Promise<string[]> {
    const status = await this.status(codebuildBuildId, region);
    if (status.logGroup === undefined || status.logStream === undefined || lines <= 0) return [];
    const logs = await this.clients(status.region).logs();
    const { GetLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
    let answer;
    try {
      answer = await withDeadline(
        (abortSignal) =>
          logs.send(
            new GetLogEventsCommand({
              logGroupName: status.logGroup,
              logStreamName: status.logStream,
              startFromHead: false,
              limit: Math.min(10_000, Math.max(1, Math.ceil(lines))),
            }),
            { abortSignal },
          ),
        this.call(),
      );
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return [];
      throw describeAwsError(error, codebuildCall('GetLogEvents', status.project, status.region, 'CloudWatch Logs'));
    }
    const all = (answer.events ?? []).flatMap((event) => messageLines(event.message));
    return all.slice(-lines);
  }

  /** StopBuild; returns the build's status afterwards. A build that already ended is left as it is. */
  async stop(codebuildBuildId: string, region?: string): Promise<CodeBuildStatus> {
    const parsed = parseBuildIdentifier(codebuildBuildId, region ?? this.deps.defaultRegion);
    const { client, sdk } = await this.codebuild(parsed.region);
    try {
      await withDeadline(
        (abortSignal) => client.send(new sdk.StopBuildCommand({ id: parsed.id }), { abortSignal }),
        this.call(),
      );
    } catch (error) {
      // Stopping a finished build is refused by CodeBuild; the status below says how it ended.
      if (awsErrorName(error) !== 'InvalidInputException') {
        throw describeAwsError(error, codebuildCall('StopBuild', parsed.id.split(':')[0] ?? '', parsed.region));
      }
    }
    return this.status(parsed.id, parsed.region);
  }
}

/** A runner whose clients come from the SDK's default configuration (credentials chain, AWS_ENDPOINT_URL_*). */
export function createCodeBuildRunner(
  options: Omit<CodeBuildRunnerDeps, 'clients'> & { client?: Omit<AwsClientOptions, 'region'> } = {},
): CodeBuildRunner {
  const { client, ...deps } = options;
  return new CodeBuildRunner({ ...deps, clients: (region) => createAwsClients({ ...client, region }) });
}
