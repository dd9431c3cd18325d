/**
 * Following a started build to its end: `BatchGetBuilds` with backoff for phases and status, `GetLogEvents` with
 * forward tokens for the log. Every log line goes through the LogProcessor (log events, the log file, the docker
 * build parser, smoke results). Aborting the attempt's signal calls `StopBuild`.
 *
 * Phases → progress: each phase change is reported as a `log` line `[docker-image-builder] CodeBuild phase <P>:
 * <what it does>` and through `onPhase` with `describePhase` (a message and a rough fraction of the build); step
 * events inside BUILD give the finer progress, as locally.
 */
import type { Build } from '@aws-sdk/client-codebuild';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { awsErrorName } from '../util/aws-errors.js';
import { buildspecCommands } from './buildspec.js';
import { withDeadline } from './clients.js';
import { codebuildCall, errorText, type CodeBuildIo } from './codebuild-io.js';
import { messageLines, type AttemptSink, type LogProcessor } from './log-processor.js';
import { getBuild, stopBuild } from './build-status.js';

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

export interface FollowContext {
  region: string;
  project: string;
  imageRef: string;
  signal?: AbortSignal;
  sink: AttemptSink;
  processor: LogProcessor;
  onPhase?: (progress: PhaseProgress) => void;
  stop: { requested: boolean };
}

export interface FollowResult {
  build: Build | undefined;
  cancelled: boolean;
  lostContact?: string;
}

/**
 * Phases come from the log's "Entering phase" lines (in order with the output) and from BatchGetBuilds (for the
 * phases that print nothing: QUEUED, PROVISIONING, COMPLETED); each is reported once, moving forward only.
 */
class PhaseReporter {
  phase: string | undefined;
  private readonly order = Object.keys(PHASES);
  private reported = -1;

  constructor(private readonly ctx: FollowContext) {}

  /** Reports `next` unless it is older than what was reported; true when it was reported. */
  report(next: string): boolean {
    const index = this.order.indexOf(next);
    if (index >= 0 && index <= this.reported) return false;
    if (index >= 0) this.reported = index;
    const progress: PhaseProgress = {
      phase: next,
      ...(this.phase === undefined ? {} : { previous: this.phase }),
      ...describePhase(next),
    };
    this.phase = next;
    this.ctx.sink.info(`CodeBuild phase ${progress.phase}: ${progress.message}`);
    try {
      this.ctx.onPhase?.(progress);
    } catch {
      // progress display only
    }
    return true;
  }
}

/** Reads the build's CloudWatch stream forward from where it left off, into the LogProcessor. */
class LogReader {
  private token: string | undefined;

  constructor(
    private readonly io: CodeBuildIo,
    private readonly logs: CloudWatchLogsClient,
    private readonly sdk: typeof import('@aws-sdk/client-cloudwatch-logs'),
    private readonly processor: LogProcessor,
  ) {}

  /** Lines read; 0 before the stream exists. */
  async drain(build: Build | undefined): Promise<number> {
    const group = build?.logs?.groupName;
    const stream = build?.logs?.streamName;
    if (group === undefined || stream === undefined) return 0;
    let count = 0;
    for (let page = 0; page < 100; page++) {
      let answer;
      try {
        answer = await withDeadline(
          (abortSignal) =>
            this.logs.send(
              new this.sdk.GetLogEventsCommand({
                logGroupName: group,
                logStreamName: stream,
                startFromHead: true,
                ...(this.token === undefined ? {} : { nextToken: this.token }),
              }),
              { abortSignal },
            ),
          this.io.call(),
        );
      } catch (error) {
        // The stream appears a moment after PROVISIONING starts.
        if (awsErrorName(error) === 'ResourceNotFoundException') return count;
        throw error;
      }
      for (const event of answer.events ?? []) {
        for (const line of messageLines(event.message)) {
          this.processor.push(line);
          count++;
        }
      }
      const next = answer.nextForwardToken;
      const unchanged = next === undefined || next === this.token;
      this.token = next ?? this.token;
      if (unchanged || (answer.events ?? []).length === 0) break;
    }
    return count;
  }
}

/** StopBuild once, when the attempt's signal has aborted. */
async function stopWhenAborted(io: CodeBuildIo, id: string, ctx: FollowContext): Promise<void> {
  if (!ctx.signal?.aborted || ctx.stop.requested) return;
  ctx.stop.requested = true;
  ctx.sink.info(`stopping CodeBuild build ${id}`);
  try {
    await stopBuild(io, ctx.region, id);
  } catch (error) {
    ctx.sink.info(`StopBuild failed: ${errorText(error, codebuildCall('StopBuild', ctx.project, ctx.region))}`);
  }
}

/** CloudWatch may deliver the last lines a little after the build ends: read until it stays quiet. */
async function readLateLines(io: CodeBuildIo, ctx: FollowContext, reader: LogReader, build: Build | undefined) {
  const deadline = io.now() + io.poll.finalLogWaitMs;
  let quiet = 0;
  for (;;) {
    let lines = 0;
    try {
      lines = await reader.drain(build);
    } catch (error) {
      const call = codebuildCall('GetLogEvents', ctx.project, ctx.region, 'CloudWatch Logs');
      ctx.sink.info(`reading the last log lines failed: ${errorText(error, call)}`);
      return;
    }
    quiet = lines === 0 ? quiet + 1 : 0;
    if (quiet >= 2 || io.now() >= deadline) return;
    await io.sleep(io.poll.finalLogPollMs);
  }
}

const ended = (build: Build | undefined) =>
  build?.buildComplete === true || (build?.buildStatus !== undefined && build.buildStatus !== 'IN_PROGRESS');

/** Polls the build (with backoff) and reads its log until it ends, the caller stops it, or contact is lost. */
export async function followBuild(io: CodeBuildIo, id: string, ctx: FollowContext): Promise<FollowResult> {
  const logs = await io.clients(ctx.region).logs();
  const reader = new LogReader(io, logs, await import('@aws-sdk/client-cloudwatch-logs'), ctx.processor);
  const phases = new PhaseReporter(ctx);
  ctx.processor.onPhase = (phase) => void phases.report(phase);
  const poll = io.poll;
  let delay = poll.initialMs;
  let build: Build | undefined;
  let stopAt: number | undefined;
  let errors = 0;
  for (;;) {
    await stopWhenAborted(io, id, ctx);
    if (ctx.stop.requested && stopAt === undefined) stopAt = io.now();
    let changed = false;
    try {
      build = await getBuild(io, ctx.region, id);
      if (!ctx.processor.knowsCommands) ctx.processor.setCommands(buildspecCommands(build.source?.buildspec));
      changed = (await reader.drain(build)) > 0;
      errors = 0;
      const current = build.currentPhase;
      // COMPLETED is reported after the last log lines have been read (below).
      if (current !== undefined && current !== phases.phase && current !== 'COMPLETED') {
        changed = phases.report(current) || changed;
      }
    } catch (error) {
      // A build id unknown to CodeBuild (e.g. just after StartBuild, or a wrong region) counts as a failed poll.
      errors++;
      const text = errorText(error, codebuildCall('BatchGetBuilds', ctx.project, ctx.region));
      ctx.sink.info(`polling CodeBuild failed (${errors}/${poll.maxConsecutiveErrors}): ${text}`);
      if (errors >= poll.maxConsecutiveErrors) return { build, cancelled: ctx.stop.requested, lostContact: text };
    }
    if (ended(build)) break;
    if (stopAt !== undefined && io.now() - stopAt > poll.stopWaitMs) {
      ctx.sink.info(`build ${id} did not end within ${poll.stopWaitMs / 1000} s of StopBuild; no longer following it`);
      return { build, cancelled: true };
    }
    delay = changed ? poll.initialMs : Math.min(poll.maxMs, Math.round(delay * poll.factor));
    const wait = ctx.stop.requested ? Math.min(delay, 1_000) : delay;
    await io.sleep(wait, ctx.stop.requested ? undefined : ctx.signal);
  }
  await readLateLines(io, ctx, reader, build);
  if (build?.currentPhase === 'COMPLETED') phases.report('COMPLETED');
  return { build, cancelled: ctx.stop.requested };
}
