/**
 * What every part of the runner shares: the AWS clients per region, the per-call deadline, the clock and sleep, the
 * poll settings, and how a failed call on the CodeBuild path is described (describeAwsError with the project's next
 * steps).
 */
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  awsErrorName,
  describeAwsError,
  unexpectedAwsAnswer,
  type AwsCall,
  type AwsService,
} from '../util/aws-errors.js';
import { ExpectedFailure, InputError, failureText } from '../util/errors.js';
import { withDeadline, type AwsClients } from './clients.js';

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
export function codebuildCall(
  operation: string,
  project: string,
  region: string,
  service: AwsService = 'CodeBuild',
): AwsCall {
  return {
    service,
    operation,
    region,
    nextSteps: {
      'aws-permissions': `Give the caller codebuild:BatchGetProjects, StartBuild, BatchGetBuilds and StopBuild on project ${project}, logs:GetLogEvents on /aws/codebuild/${project}, and S3 access to the source bucket.`,
      'aws-limit': 'Wait for running builds to finish, or ask AWS for a higher concurrent-build quota.',
    },
  };
}

/** One line for the log: an expected failure's message and next step, else the failure of `call`, described. */
export function errorText(error: unknown, call?: AwsCall): string {
  if (error instanceof InputError || error instanceof ExpectedFailure) return failureText(error);
  if (call !== undefined) return failureText(describeAwsError(error, call));
  return `${awsErrorName(error)}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
}

export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return (
    signal?.aborted === true ||
    awsErrorName(error) === 'AbortError' ||
    (error instanceof ExpectedFailure && error.kind === 'cancelled')
  );
}

/** The runner's collaborators, shared by its parts. */
export class CodeBuildIo {
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now: () => number;
  readonly poll: Required<PollOptions>;
  private readonly clientsByRegion = new Map<string, AwsClients>();
  private readonly accounts = new Map<string, Promise<string>>();

  constructor(readonly deps: CodeBuildRunnerDeps) {
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

  /** Closes every client made so far. */
  destroy(): void {
    for (const clients of this.clientsByRegion.values()) clients.destroy();
    this.clientsByRegion.clear();
  }

  clients(region: string): AwsClients {
    let clients = this.clientsByRegion.get(region);
    if (clients === undefined) {
      clients = this.deps.clients(region);
      this.clientsByRegion.set(region, clients);
    }
    return clients;
  }

  /** The deadline options of one call. */
  call(signal?: AbortSignal) {
    return {
      ...(this.deps.callTimeoutMs === undefined ? {} : { timeoutMs: this.deps.callTimeoutMs }),
      ...(signal ? { signal } : {}),
    };
  }

  async codebuild(
    region: string,
  ): Promise<{ client: CodeBuildClient; sdk: typeof import('@aws-sdk/client-codebuild') }> {
    const [client, sdk] = await Promise.all([this.clients(region).codebuild(), import('@aws-sdk/client-codebuild')]);
    return { client, sdk };
  }

  /** The caller's account (STS GetCallerIdentity), cached per region. */
  accountId(region: string): Promise<string> {
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
}
