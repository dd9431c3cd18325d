/**
 * One build attempt in AWS CodeBuild, with the same events, log file and outcome as a local build — the facade over
 * the CodeBuild modules:
 *
 * - project-check.ts: does the project exist and can it run Docker (missing → the seed's "CodeBuild project not
 *   found" with the setup command);
 * - build-start.ts: cost warning, packaging, the bucket, the upload, the buildspec and StartBuild;
 * - build-follow.ts: BatchGetBuilds with backoff, the CloudWatch log, phase progress, StopBuild on abort;
 * - build-outcome.ts: the followed build as the attempt's outcome;
 * - build-status.ts: status, log tail and stop of any build id;
 * - codebuild-ids.ts, cost.ts: ids and console links, cost and timeout;
 * - codebuild-io.ts: the clients, deadlines, clock and how failed calls are described (describeAwsError).
 *
 * Every AWS call has a deadline (see clients.ts); the SDK retries throttling and 5xx answers itself.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AttemptInput, BuildRequest } from '../build-model/attempt.js';
import { ExpectedFailure } from '../util/errors.js';
import { followBuild, type FollowContext, type PhaseProgress } from './build-follow.js';
import { attemptOutcome, type CodeBuildAttemptOutcome } from './build-outcome.js';
import { launchBuild, type CodeBuildLaunch, type CodeBuildRunOptions } from './build-start.js';
import { buildLogTail, buildStatus, stopBuildById, type CodeBuildStatus } from './build-status.js';
import { createAwsClients, type AwsClientOptions } from './clients.js';
import { CodeBuildIo, errorText, isAbort, type CodeBuildRunnerDeps } from './codebuild-io.js';
import { looksLikeSecretName } from '../util/secret-names.js';
import { AttemptSink, LogProcessor } from './log-processor.js';
import { checkProject, requireProject, type ProjectCheck } from './project-check.js';

export { buildConsoleUrl } from './codebuild-ids.js';
export { describePhase, type PhaseProgress } from './build-follow.js';
export { projectNotFoundError, type ProjectCheck } from './project-check.js';
export { timeoutMinutesFor } from './cost.js';
export { messageLines } from './log-processor.js';
export type { CodeBuildAttemptOutcome } from './build-outcome.js';
export type { CodeBuildLaunch, CodeBuildRunOptions } from './build-start.js';
export type { BuildPhaseStatus, CodeBuildStatus } from './build-status.js';
export type { CodeBuildRunnerDeps, PollOptions } from './codebuild-io.js';

export interface CodeBuildAttemptOptions extends CodeBuildRunOptions {
  /** Called on every phase change. */
  onPhase?: (progress: PhaseProgress) => void;
}

export class CodeBuildRunner {
  private readonly io: CodeBuildIo;

  constructor(deps: CodeBuildRunnerDeps) {
    this.io = new CodeBuildIo(deps);
  }

  /** Closes every client this runner made. */
  destroy(): void {
    this.io.destroy();
  }

  /** BatchGetProjects: whether the project exists and how it is configured. Never throws for a missing project. */
  checkProject(project: string, region: string): Promise<ProjectCheck> {
    return checkProject(this.io, project, region);
  }

  /** checkProject, throwing the seed's "CodeBuild project not found" (InputError) when it is missing or unusable. */
  requireProject(project: string, region: string): Promise<ProjectCheck> {
    return requireProject(this.io, project, region);
  }

  /** Phases, status, console link and log location of a build. */
  status(codebuildBuildId: string, region?: string): Promise<CodeBuildStatus> {
    return buildStatus(this.io, codebuildBuildId, region);
  }

  /** The last `lines` lines of the build's CloudWatch log (empty before the log exists). */
  logTail(codebuildBuildId: string, lines: number, region?: string): Promise<string[]> {
    return buildLogTail(this.io, codebuildBuildId, lines, region);
  }

  /** StopBuild; returns the build's status afterwards. A build that already ended is left as it is. */
  stop(codebuildBuildId: string, region?: string): Promise<CodeBuildStatus> {
    return stopBuildById(this.io, codebuildBuildId, region);
  }

  /**
   * For `no_wait`: checks the project, uploads the context and starts the build; returns its id at once. Events (cost
   * warning, upload lines) go to `input.onEvent` when given. Throws InputError for bad input (missing project) and
   * ExpectedFailure when AWS says no (bucket access, credentials) or the signal aborted.
   */
  async startDetached(
    request: BuildRequest,
    input: Pick<AttemptInput, 'contextDir' | 'dockerfilePath'> &
      Partial<Pick<AttemptInput, 'signal' | 'onEvent' | 'attempt'>>,
    options: CodeBuildRunOptions,
  ): Promise<CodeBuildLaunch> {
    const sink = new AttemptSink(undefined, input.onEvent, () => undefined);
    const signal = input.signal ?? new AbortController().signal;
    const launched = await launchBuild(this.io, request, { ...input, signal }, options, sink);
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
   * bucket or credential trouble) throw InputError or ExpectedFailure after being written to the log; everything
   * after StartBuild is reported in the outcome.
   */
  async runAttempt(
    request: BuildRequest,
    input: AttemptInput,
    options: CodeBuildAttemptOptions,
  ): Promise<CodeBuildAttemptOutcome> {
    const started = this.io.now();
    await mkdir(path.dirname(path.resolve(input.logFile)), { recursive: true });
    const stop = { requested: false };
    const current: { buildId?: string } = {};
    const sink = new AttemptSink(input.logFile, input.onEvent, () => {
      // A listener that throws stops the build.
      if (current.buildId !== undefined && !stop.requested) {
        stop.requested = true;
        void this.stop(current.buildId, options.region).catch(() => undefined);
      }
    });
    sink.emit({ type: 'build-started', builder: 'codebuild', imageRef: request.imageRef, logFile: input.logFile });
    let launched: Awaited<ReturnType<typeof launchBuild>>;
    try {
      launched = await launchBuild(this.io, request, input, options, sink);
    } catch (error) {
      if (isAbort(error, input.signal)) return this.cancelledBeforeStart(sink, started, input.logFile);
      sink.info(`could not start the CodeBuild build: ${errorText(error)}`);
      await sink.close();
      throw error;
    }
    if (launched === undefined) return this.cancelledBeforeStart(sink, started, input.logFile);
    current.buildId = launched.codebuildBuildId;
    const context: FollowContext = {
      region: options.region,
      project: options.project,
      imageRef: request.imageRef,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      sink,
      processor: new LogProcessor(sink, {
        dockerfileText: launched.dockerfileText,
        buildArgs: request.buildArgs,
        ...(request.target === undefined ? {} : { target: request.target }),
        hasLabels: Object.keys(request.labels).length > 0,
        // CodeBuild masks secret variables itself; build args are plain build variables, masked here.
        redactValues: Object.entries(request.buildArgs)
          .filter(([name]) => looksLikeSecretName(name))
          .map(([, value]) => value),
      }),
      ...(options.onPhase === undefined ? {} : { onPhase: options.onPhase }),
      stop,
    };
    let outcome: CodeBuildAttemptOutcome;
    try {
      const followed = await followBuild(this.io, launched.codebuildBuildId, context);
      outcome = attemptOutcome(followed, context, Math.round(this.io.now() - started), launched);
    } finally {
      await sink.close();
    }
    if (sink.listenerError !== undefined) throw sink.listenerError;
    return outcome;
  }

  private async cancelledBeforeStart(
    sink: AttemptSink,
    started: number,
    logFile: string,
  ): Promise<CodeBuildAttemptOutcome> {
    const durationMs = Math.round(this.io.now() - started);
    sink.info('cancelled before the CodeBuild build started');
    sink.emit({ type: 'build-finished', success: false, durationMs, cancelled: true, timedOut: false });
    await sink.close();
    return {
      builder: 'codebuild',
      logFile,
      timedOut: false,
      imageBuilt: false,
      success: false,
      cancelled: true,
      errorMessage: 'build cancelled',
      durationMs,
    };
  }
}

/** A runner whose clients come from the SDK's default configuration (credentials chain, AWS_ENDPOINT_URL_*). */
export function createCodeBuildRunner(
  options: Omit<CodeBuildRunnerDeps, 'clients'> & { client?: Omit<AwsClientOptions, 'region'> } = {},
): CodeBuildRunner {
  const { client, ...deps } = options;
  return new CodeBuildRunner({ ...deps, clients: (region) => createAwsClients({ ...client, region }) });
}
