/** Status, log tail and StopBuild for any CodeBuild build id (`project:uuid`) or build ARN. */
import type { Build } from '@aws-sdk/client-codebuild';
import { awsErrorName, describeAwsError, unexpectedAwsAnswer } from '../util/aws-errors.js';
import { InputError } from '../util/errors.js';
import { withDeadline } from './clients.js';
import { accountFromArn, buildConsoleUrl, parseBuildIdentifier, projectOf } from './codebuild-ids.js';
import { codebuildCall, type CodeBuildIo } from './codebuild-io.js';
import { messageLines } from './log-processor.js';

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

function iso(date: Date | undefined): string | undefined {
  return date === undefined ? undefined : date.toISOString();
}

/** A phase context message without the whole multi-line command CodeBuild quotes in it. */
export function shortenContext(message: string | undefined): string | undefined {
  if (message === undefined || !message.includes('\n')) return message;
  const all = message.split('\n');
  const reason = /(Reason: .*)$/.exec(all[all.length - 1] ?? '')?.[1];
  return `${all[0]} …${reason === undefined ? '' : ` ${reason}`}`;
}

/** `CodeBuild phase BUILD FAILED: COMMAND_EXECUTION_ERROR: …` for the first phase that did not succeed. */
export function failedPhaseMessage(build: Build): string | undefined {
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

/** BatchGetBuilds for one id; the raw SDK error when the call fails, InputError when CodeBuild has no such build. */
export async function getBuild(io: CodeBuildIo, region: string, id: string): Promise<Build> {
  const { client, sdk } = await io.codebuild(region);
  const answer = await withDeadline(
    (abortSignal) => client.send(new sdk.BatchGetBuildsCommand({ ids: [id] }), { abortSignal }),
    io.call(),
  );
  if (answer.builds !== undefined && !Array.isArray(answer.builds)) {
    throw unexpectedAwsAnswer(
      codebuildCall('BatchGetBuilds', projectOf(id), region),
      'the answer has no list of builds',
    );
  }
  const build = answer.builds?.find((b) => b.id === id);
  if (build === undefined) {
    throw new InputError('build_id', `CodeBuild has no build ${id}`, 'Check the build id and the region.');
  }
  return build;
}

/** StopBuild; the raw SDK error when it fails (CodeBuild refuses to stop a build that already ended). */
export async function stopBuild(io: CodeBuildIo, region: string, id: string): Promise<void> {
  const { client, sdk } = await io.codebuild(region);
  await withDeadline((abortSignal) => client.send(new sdk.StopBuildCommand({ id }), { abortSignal }), io.call());
}

function phaseStatuses(build: Build): BuildPhaseStatus[] {
  return (build.phases ?? []).map((p) => {
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
  });
}

/** Phases, status, console link and log location of a build. */
export async function buildStatus(
  io: CodeBuildIo,
  codebuildBuildId: string,
  region?: string,
): Promise<CodeBuildStatus> {
  const parsed = parseBuildIdentifier(codebuildBuildId, region ?? io.deps.defaultRegion);
  let build: Build;
  try {
    build = await getBuild(io, parsed.region, parsed.id);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw describeAwsError(error, codebuildCall('BatchGetBuilds', projectOf(parsed.id), parsed.region));
  }
  const id = build.id ?? parsed.id;
  const errorMessage =
    build.buildStatus !== 'SUCCEEDED' && build.buildStatus !== 'IN_PROGRESS' ? failedPhaseMessage(build) : undefined;
  return {
    id,
    project: build.projectName ?? projectOf(id),
    region: parsed.region,
    status: build.buildStatus ?? 'IN_PROGRESS',
    ...(build.currentPhase === undefined ? {} : { currentPhase: build.currentPhase }),
    complete: build.buildComplete === true,
    phases: phaseStatuses(build),
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
export async function buildLogTail(
  io: CodeBuildIo,
  codebuildBuildId: string,
  lines: number,
  region?: string,
): Promise<string[]> {
  const status = await buildStatus(io, codebuildBuildId, region);
  if (status.logGroup === undefined || status.logStream === undefined || lines <= 0) return [];
  const logs = await io.clients(status.region).logs();
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
      io.call(),
    );
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return [];
    throw describeAwsError(error, codebuildCall('GetLogEvents', status.project, status.region, 'CloudWatch Logs'));
  }
  const all = (answer.events ?? []).flatMap((event) => messageLines(event.message));
  return all.slice(-lines);
}

/** StopBuild; returns the build's status afterwards. A build that already ended is left as it is. */
export async function stopBuildById(
  io: CodeBuildIo,
  codebuildBuildId: string,
  region?: string,
): Promise<CodeBuildStatus> {
  const parsed = parseBuildIdentifier(codebuildBuildId, region ?? io.deps.defaultRegion);
  try {
    await stopBuild(io, parsed.region, parsed.id);
  } catch (error) {
    // Stopping a finished build is refused by CodeBuild; the status below says how it ended.
    if (awsErrorName(error) !== 'InvalidInputException') {
      throw describeAwsError(error, codebuildCall('StopBuild', projectOf(parsed.id), parsed.region));
    }
  }
  return buildStatus(io, parsed.id, parsed.region);
}
