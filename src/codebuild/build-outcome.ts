/** A followed build as the attempt's outcome, with the same `image-built` and `build-finished` events as locally. */
import type { AttemptOutcome } from '../build-model/attempt.js';
import type { SmokeResult } from '../build-model/smoke-schema.js';
import type { CodeBuildLaunch } from './build-start.js';
import { failedPhaseMessage } from './build-status.js';
import type { FollowContext, FollowResult } from './build-follow.js';
import type { CostEstimate } from './cost.js';
import type { LogProcessor } from './log-processor.js';

export interface CodeBuildAttemptOutcome extends AttemptOutcome {
  /** `project:uuid`; absent only when the attempt was cancelled before StartBuild. */
  codebuildBuildId?: string;
  consoleUrl?: string;
  logGroup?: string;
  logStream?: string;
  /** CodeBuild's status: SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED (IN_PROGRESS if we stopped following). */
  codebuildStatus?: string;
  timedOut: boolean;
  /** The docker build itself succeeded (smoke checks may still have failed). */
  imageBuilt: boolean;
  /** Smoke results from the build container (no GPU), when smoke checks ran. */
  smoke?: SmokeResult;
  costEstimate?: CostEstimate;
  upload?: CodeBuildLaunch['upload'];
  durationMs: number;
}

export interface OutcomeExtra {
  codebuildBuildId: string;
  consoleUrl: string;
  costEstimate?: CostEstimate;
  upload?: CodeBuildLaunch['upload'];
}

/** Why the attempt failed, or undefined when it succeeded (a failed smoke check is a success with its result). */
function failureMessage(
  followed: FollowResult,
  processor: LogProcessor,
  extra: OutcomeExtra,
  smokeFailed: boolean,
): string | undefined {
  const { build, cancelled } = followed;
  const status = build?.buildStatus;
  const imageBuilt = processor.dockerExit === 0;
  const phaseError = build === undefined ? undefined : failedPhaseMessage(build);
  if (followed.lostContact !== undefined && build?.buildComplete !== true) {
    return (
      `lost contact with CodeBuild (${followed.lostContact}); build ${extra.codebuildBuildId} may still be running: ` +
      extra.consoleUrl
    );
  }
  if (cancelled) return 'build cancelled';
  if (status === 'TIMED_OUT') {
    return `CodeBuild stopped the build at its timeout of ${build?.timeoutInMinutes ?? '?'} minutes${imageBuilt ? ' (after the image built)' : ''}`;
  }
  if (status === 'STOPPED') return 'the build was stopped in CodeBuild (StopBuild from elsewhere)';
  if (!imageBuilt) {
    const message =
      (processor.dockerStarted ? processor.summary()?.errorMessage : undefined) ??
      phaseError ??
      `CodeBuild build ${status ?? 'ended'} before docker build ran`;
    return phaseError?.includes('DOWNLOAD_SOURCE')
      ? `${message} (check that the project's service role may read s3://${extra.upload?.bucket ?? 'the source bucket'})`
      : message;
  }
  // The image built: a failed smoke check says what is wrong with it (as a local build's smoke test).
  if (smokeFailed || status === 'SUCCEEDED') return undefined;
  return phaseError ?? `CodeBuild build ${status ?? 'ended'}`;
}

/** The outcome of a followed build; emits `image-built` and `build-finished`. */
export function attemptOutcome(
  followed: FollowResult,
  ctx: FollowContext,
  durationMs: number,
  extra: OutcomeExtra,
): CodeBuildAttemptOutcome {
  const { build, cancelled } = followed;
  const processor = ctx.processor;
  const status = build?.buildStatus;
  const timedOut = status === 'TIMED_OUT';
  const stoppedOutside = cancelled || timedOut || status === 'STOPPED' || followed.lostContact !== undefined;
  processor.endParser(processor.dockerExit ?? (stoppedOutside ? undefined : 1));
  const summary = processor.summary();
  const imageBuilt = processor.dockerExit === 0;
  const imageId = imageBuilt ? (processor.imageId ?? summary?.imageId) : undefined;
  const smoke = processor.smoke.ran ? processor.smoke.result(ctx.imageRef) : undefined;
  const errorMessage = failureMessage(followed, processor, extra, smoke !== undefined && !smoke.passed);
  const success = errorMessage === undefined;

  if (imageId !== undefined) ctx.sink.emit({ type: 'image-built', imageId });
  ctx.sink.info(
    `CodeBuild build ${extra.codebuildBuildId} ended: ${status ?? 'unknown'}${errorMessage === undefined ? '' : ` — ${errorMessage}`}`,
  );
  ctx.sink.emit({
    type: 'build-finished',
    success,
    durationMs,
    cancelled,
    timedOut,
    ...(imageId === undefined ? {} : { imageId }),
  });
  const failed = summary?.failedStep;
  return {
    success,
    cancelled,
    builder: 'codebuild',
    ...(imageId === undefined ? {} : { imageId }),
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
    ...(extra.costEstimate === undefined ? {} : { costEstimate: extra.costEstimate }),
    ...(extra.upload === undefined ? {} : { upload: extra.upload }),
    durationMs,
  };
}
