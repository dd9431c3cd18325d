/**
 * The AWS SDK clients of the CodeBuild path, created lazily: nothing from `@aws-sdk/*` is loaded until a client is
 * first asked for, so the MCP server starts fast and local-only builds never load the SDK.
 *
 * Every client gets bounded network waits — a connection timeout, a whole-request deadline (`requestTimeout` with
 * `throwOnRequestTimeout`, so a hung endpoint is an error rather than a warning) and an idle-socket timeout — and the
 * SDK's standard retry mode with at least 3 attempts, so throttling, 5xx answers, timeouts and dropped connections
 * are retried by the SDK itself. Endpoints come from the SDK's own configuration (`AWS_ENDPOINT_URL_<SERVICE>`, the
 * shared config file): this module never sets one.
 *
 * `withDeadline` adds what the SDK lacks: one deadline for a whole call including its retries, and the caller's
 * cancellation.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';

/** Connection set-up limit for every AWS call. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/** Whole-request limit for control-plane calls (CodeBuild, Logs, IAM, STS, ECR): their answers are small. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
/** Whole-request limit for S3 calls: one upload part (8 MiB) over a slow link needs more than a control call. */
export const DEFAULT_S3_REQUEST_TIMEOUT_MS = 300_000;
/** A socket that receives nothing for this long is dropped (then retried by the SDK). */
export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
/** Fewest SDK attempts per call (first try included) any client gets: the SDK's own default. */
export const MIN_MAX_ATTEMPTS = 3;
/**
 * SDK attempts for control-plane calls: CodeBuild throttles StartBuild/BatchGetBuilds at low rates, so a burst of
 * throttling plus a 5xx should not fail a build. (StartBuild carries an idempotency token, so a retry never starts a
 * second build.)
 */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** S3 attempts: s3-upload.ts retries transient failures again on top. */
export const DEFAULT_S3_MAX_ATTEMPTS = 3;
/** Deadline for one call including the SDK's retries and their backoff. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

export interface AwsClientOptions {
  region: string;
  /** Static credentials or a provider; default: the SDK's default chain (env, shared files, SSO, metadata). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Shared-config profile for the default chain (default: AWS_PROFILE, else "default"). */
  profile?: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  s3RequestTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** SDK attempts per control-plane call (default 5); at least 3 (lower values are raised to 3). */
  maxAttempts?: number;
}

export interface AwsClients {
  readonly region: string;
  codebuild(): Promise<CodeBuildClient>;
  logs(): Promise<CloudWatchLogsClient>;
  s3(): Promise<S3Client>;
  sts(): Promise<STSClient>;
  iam(): Promise<IAMClient>;
  ecr(): Promise<ECRClient>;
  /** Closes the clients made so far (their keep-alive sockets). */
  destroy(): void;
}

/** The constructor options every client shares (exported for tests and diagnostics). */
export function clientConfig(options: AwsClientOptions, service: 'control' | 's3' = 'control') {
  const requestTimeout =
    service === 's3'
      ? (options.s3RequestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS)
      : (options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  return {
    region: options.region,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    maxAttempts: Math.max(
      MIN_MAX_ATTEMPTS,
      service === 's3' ? DEFAULT_S3_MAX_ATTEMPTS : (options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
    ),
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: Math.min(requestTimeout, options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS),
    },
  };
}

interface Destroyable {
  destroy(): void;
}

/** Lazily created clients for one region; each is made once, on first use. */
export function createAwsClients(options: AwsClientOptions): AwsClients {
  const made = new Map<string, Promise<Destroyable>>();
  const once = <T extends Destroyable>(key: string, make: () => Promise<T>): Promise<T> => {
    let client = made.get(key) as Promise<T> | undefined;
    if (client === undefined) {
      client = make();
      made.set(key, client);
      client.catch(() => made.delete(key));
    }
    return client;
  };
  const control = clientConfig(options, 'control');
  return {
    region: options.region,
    codebuild: () =>
      once('codebuild', async () => new (await import('@aws-sdk/client-codebuild')).CodeBuildClient(control)),
    logs: () =>
      once('logs', async () => new (await import('@aws-sdk/client-cloudwatch-logs')).CloudWatchLogsClient(control)),
    s3: () => once('s3', async () => new (await import('@aws-sdk/client-s3')).S3Client(clientConfig(options, 's3'))),
    sts: () => once('sts', async () => new (await import('@aws-sdk/client-sts')).STSClient(control)),
    iam: () => once('iam', async () => new (await import('@aws-sdk/client-iam')).IAMClient(control)),
    ecr: () => once('ecr', async () => new (await import('@aws-sdk/client-ecr')).ECRClient(control)),
    destroy() {
      for (const client of made.values()) void client.then((c) => c.destroy()).catch(() => undefined);
      made.clear();
    },
  };
}

export interface DeadlineOptions {
  /** Whole-call deadline, retries included (default 60 s). */
  timeoutMs?: number;
  /** The caller's cancellation. */
  signal?: AbortSignal;
  /** Named in the timeout error. */
  operation?: string;
}

/** Thrown when a call passes its whole-call deadline. */
export class AwsCallTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not complete within ${Math.round(timeoutMs / 100) / 10} s (AWS endpoint not answering)`);
    this.name = 'AwsCallTimeoutError';
  }
}

/**
 * Runs an SDK call — `(abortSignal) => client.send(command, { abortSignal })` — with one deadline over all of the
 * SDK's attempts, and the caller's signal. A deadline breach rejects with AwsCallTimeoutError; a caller abort
 * rejects with the SDK's AbortError.
 */
export async function withDeadline<T>(
  run: (abortSignal: AbortSignal) => Promise<T>,
  options: DeadlineOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const abortSignal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  try {
    return await run(abortSignal);
  } catch (error) {
    if (deadline.aborted && !options.signal?.aborted) {
      throw new AwsCallTimeoutError(options.operation ?? 'an AWS call', timeoutMs);
    }
    throw error;
  }
}
