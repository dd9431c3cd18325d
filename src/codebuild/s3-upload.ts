/**
 * The S3 side of a CodeBuild build: the source bucket and the context zip in it.
 *
 * - `ensureBucket` creates the bucket when missing, with Block Public Access on and SSE-S3 (AES256) default
 *   encryption, and `ExpectedBucketOwner` on every call that takes it, so a bucket name squatted by another account is
 *   refused instead of used.
 * - `uploadContext` does HeadObject first and skips the upload when the object is already there (keys are content
 *   hashes), else uploads through `@aws-sdk/lib-storage` (multipart above one part). Transient failures (throttling,
 *   5xx, timeouts, connection resets) are retried with exponential backoff on top of the SDK's own retries; permanent
 *   ones (access denied, no such bucket, bad credentials, wrong region) stop at once with an ExpectedFailure
 *   (describeAwsError) saying what to do. A stream cannot be replayed, so retries need `body` as a factory.
 * - `uploadBuildContext` ties it to `context-package.ts` in two passes: zip → SHA-256 only (pass 1, nothing
 *   buffered), HeadObject on the hash key, and only when missing zip again straight into the upload (pass 2), checking
 *   that pass 2 hashed to the same value (else the context changed under us: the object is deleted).
 *
 * AWS SDK modules are imported lazily; the S3 client is the caller's.
 */
import type { BucketLocationConstraint, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { describeAwsError, restate, type AwsCall } from '../util/aws-errors.js';
import { ExpectedFailure, InputError } from '../util/errors.js';
import {
  hashContext,
  packageContext,
  type ContextManifest,
  type ContextPackage,
  type PackageContextOptions,
} from './context-package.js';

export const CONTEXT_KEY_PREFIX = 'docker-image-builder/contexts/';

/** `docker-image-builder/contexts/<sha256>.zip` */
export function contextKey(sha256: string, prefix = CONTEXT_KEY_PREFIX): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256 hex digest: ${sha256}`);
  return `${prefix}${sha256}.zip`;
}

/** `docker-image-builder-<account>-<region>`: unique per account and region, valid as an S3 bucket name. */
export function defaultBucketName(account: string, region: string): string {
  if (!/^\d{12}$/.test(account))
    throw new InputError('account', `not an AWS account id: ${account}`, 'Expected 12 digits.');
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new InputError('region', `not an AWS region: ${region}`, 'Pass a region such as us-west-2.');
  }
  return `docker-image-builder-${account}-${region}`;
}

interface AwsErrorLike {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function errorInfo(error: unknown): { name: string; status?: number; message: string } {
  const e = (error ?? {}) as AwsErrorLike;
  return {
    name: e.Code ?? e.name ?? 'Error',
    status: e.$metadata?.httpStatusCode,
    message: e.message ?? String(error),
  };
}

const TRANSIENT_NAMES = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
  'BadDigest',
  'RequestTimeTooSkewed',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

const CREDENTIAL_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'UnrecognizedClientException',
]);

const REGION_NAMES = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);

/** True for failures worth another try: throttling, 5xx, timeouts, dropped connections. */
export function isTransientS3Error(error: unknown): boolean {
  if (error instanceof InputError || error instanceof ExpectedFailure) return false;
  const { name, status } = errorInfo(error);
  if (TRANSIENT_NAMES.has(name)) return true;
  if (CREDENTIAL_NAMES.has(name) || REGION_NAMES.has(name)) return false;
  if (status === undefined) {
    // No HTTP answer: transient when it is a network-level failure (socket errors carry a `code`).
    return typeof (error as { code?: unknown })?.code === 'string';
  }
  return status >= 500 || status === 408 || status === 429;
}

/** How a failed S3 call is described: the call, and the next steps that know about the source bucket. */
export function s3Call(operation: string, bucket: string, key?: string): AwsCall {
  return {
    service: 'S3',
    operation,
    resource: key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`,
    nextSteps: {
      'aws-permissions':
        `Give the caller s3:GetObject, s3:PutObject and s3:ListBucket on ${bucket} (without ListBucket a missing object looks like 403), ` +
        'or pass --s3-bucket with a bucket this account owns.',
      'aws-not-found':
        'Run the CodeBuild setup command to create the bucket, or pass --s3-bucket with an existing bucket in the build region.',
      'aws-region': 'Pass --region with the bucket’s region, or --s3-bucket with a bucket in the build region.',
      'aws-rejected': 'Check the bucket name, its policy and the caller’s permissions.',
    },
  };
}

export interface RetryOptions {
  /** Retries after the first attempt for transient failures (default 3). */
  retries?: number;
  /** First backoff delay (default 1000 ms), doubled each time, with jitter. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** Runs an S3 call with retries of transient failures; anything else stops at once, described. */
async function withRetry<T>(
  run: (attempt: number) => Promise<T>,
  describe: (error: unknown) => ExpectedFailure,
  options: RetryOptions,
): Promise<T> {
  const { default: pRetry, AbortError } = await import('p-retry');
  const attempts = pRetry(
    async (attempt) => {
      try {
        return await run(attempt);
      } catch (error) {
        if (error instanceof InputError) throw new AbortError(error);
        if (options.signal?.aborted || !isTransientS3Error(error)) throw new AbortError(describe(error));
        throw error instanceof Error ? error : new Error(String(error));
      }
    },
    {
      retries: options.retries ?? 3,
      minTimeout: options.retryDelayMs ?? 1_000,
      factor: 2,
      randomize: true,
      signal: options.signal,
    },
  );
  try {
    return await attempts;
  } catch (error) {
    // Transient failures that outlasted the retries, and aborts, are described too.
    if (error instanceof InputError || error instanceof ExpectedFailure) throw error;
    throw describe(error);
  }
}

function isNotFound(error: unknown): boolean {
  const { name, status } = errorInfo(error);
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || status === 404;
}

export interface EnsureBucketOptions extends RetryOptions {
  s3: S3Client;
  bucket: string;
  region: string;
  /** Account that must own the bucket (sent as ExpectedBucketOwner); recommended. */
  expectedOwner?: string;
}

export interface EnsureBucketResult {
  bucket: string;
  created: boolean;
}

/** Makes sure the bucket exists and is ours; creates it (private, encrypted) when missing. */
export async function ensureBucket(options: EnsureBucketOptions): Promise<EnsureBucketResult> {
  const { s3, bucket, region, expectedOwner } = options;
  const { HeadBucketCommand, CreateBucketCommand, PutPublicAccessBlockCommand, PutBucketEncryptionCommand } =
    await import('@aws-sdk/client-s3');
  const describe = (operation: string) => (error: unknown) => {
    const failure = describeAwsError(error, { ...s3Call(operation, bucket), region, signal: options.signal });
    if (operation === 'HeadBucket' && errorInfo(error).status === 403) {
      return restate(
        failure,
        `S3 HeadBucket: bucket ${bucket} exists but ${expectedOwner === undefined ? 'is not accessible' : `is not owned by account ${expectedOwner}`} or denies access`,
        'Bucket names are global: pass --s3-bucket with a name this account owns, or grant s3:ListBucket on it.',
      );
    }
    return failure;
  };

  const exists = await withRetry(
    async () => {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: expectedOwner }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    describe('HeadBucket'),
    options,
  );
  if (exists) return { bucket, created: false };

  const created = await withRetry(
    async () => {
      try {
        await s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            CreateBucketConfiguration:
              region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint },
          }),
        );
        return true;
      } catch (error) {
        if (errorInfo(error).name === 'BucketAlreadyOwnedByYou') return false;
        throw error;
      }
    },
    (error) =>
      errorInfo(error).name === 'BucketAlreadyExists'
        ? restate(
            describe('CreateBucket')(error),
            `S3 CreateBucket: bucket name ${bucket} is taken by another AWS account`,
            'Bucket names are global: pass --s3-bucket with another name.',
          )
        : describe('CreateBucket')(error),
    options,
  );
  if (!created) return { bucket, created: false };

  await withRetry(
    () =>
      s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          ExpectedBucketOwner: expectedOwner,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        }),
      ),
    describe('PutPublicAccessBlock'),
    options,
  );
  await withRetry(
    () =>
      s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ExpectedBucketOwner: expectedOwner,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      ),
    describe('PutBucketEncryption'),
    options,
  );
  return { bucket, created: true };
}

export interface UploadContextOptions extends RetryOptions {
  s3: S3Client;
  bucket: string;
  /** Content-addressed key, e.g. `contextKey(sha256)`. */
  key: string;
  /** The zip. A factory is called once per attempt, so failed uploads can be retried; a stream is tried once. */
  body: Readable | (() => Readable | Promise<Readable>);
  expectedOwner?: string;
  /** When given, an existing object of another size is uploaded again instead of reused. */
  expectedSize?: number;
  metadata?: Record<string, string>;
  /** Multipart part size (default 8 MiB; S3 minimum 5 MiB). */
  partSize?: number;
  /** Parts in flight at once (default 4). Memory use is about partSize × queueSize. */
  queueSize?: number;
  onProgress?: (uploadedBytes: number) => void;
}

export interface UploadContextResult {
  bucket: string;
  key: string;
  /** False when HeadObject found the object and nothing was sent. */
  uploaded: boolean;
  /** Upload attempts made (0 when skipped). */
  attempts: number;
  etag?: string;
  /** `bucket/key`, the form CodeBuild's `sourceLocationOverride` takes for S3. */
  sourceLocation: string;
}

/** HeadObject, then (only when missing) a streamed, retried upload. */
export async function uploadContext(options: UploadContextOptions): Promise<UploadContextResult> {
  const { s3, bucket, key, expectedOwner } = options;
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const sourceLocation = `${bucket}/${key}`;

  const existing = await withRetry(
    async () => {
      try {
        return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ExpectedBucketOwner: expectedOwner }));
      } catch (error) {
        if (isNotFound(error) && errorInfo(error).name !== 'NoSuchBucket') return undefined;
        throw error;
      }
    },
    (error) => describeAwsError(error, { ...s3Call('HeadObject', bucket, key), signal: options.signal }),
    options,
  );
  if (
    existing !== undefined &&
    (options.expectedSize === undefined || existing.ContentLength === options.expectedSize)
  ) {
    return { bucket, key, uploaded: false, attempts: 0, etag: existing.ETag, sourceLocation };
  }

  const factory = typeof options.body === 'function' ? options.body : undefined;
  const single = typeof options.body === 'function' ? undefined : options.body;
  let attempts = 0;
  const result = await withRetry(
    async () => {
      attempts++;
      if (factory === undefined && attempts > 1) {
        throw new InputError(
          'body',
          `upload of s3://${bucket}/${key} failed and the body stream cannot be replayed`,
          'Pass body as a function that returns a fresh stream to allow retries.',
        );
      }
      const body = factory !== undefined ? await factory() : (single as Readable);
      const upload = new Upload({
        client: s3,
        params: {
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/zip',
          ExpectedBucketOwner: expectedOwner,
          Metadata: options.metadata,
        },
        partSize: options.partSize ?? 8 * 1024 * 1024,
        queueSize: options.queueSize ?? 4,
        leavePartsOnError: false,
      });
      if (options.onProgress !== undefined) {
        const onProgress = options.onProgress;
        upload.on('httpUploadProgress', (progress) => {
          if (progress.loaded !== undefined) onProgress(progress.loaded);
        });
      }
      const onAbort = () => void upload.abort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await upload.done();
      } catch (error) {
        body.destroy();
        throw error;
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
    },
    (error) => describeAwsError(error, { ...s3Call('PutObject', bucket, key), signal: options.signal }),
    options,
  );
  return { bucket, key, uploaded: true, attempts, etag: result.ETag, sourceLocation };
}

export interface UploadBuildContextOptions extends RetryOptions {
  s3: S3Client;
  bucket: string;
  context: PackageContextOptions;
  expectedOwner?: string;
  keyPrefix?: string;
  partSize?: number;
  queueSize?: number;
  onProgress?: (uploadedBytes: number, totalBytes: number) => void;
}

export interface UploadBuildContextResult extends UploadContextResult {
  sha256: string;
  /** Size of the zip. */
  byteLength: number;
  manifest: ContextManifest;
}

/** Packages the context and makes sure `contexts/<sha256>.zip` is in the bucket (two passes, nothing buffered). */
export async function uploadBuildContext(options: UploadBuildContextOptions): Promise<UploadBuildContextResult> {
  const { sha256, byteLength, manifest } = await hashContext(options.context);
  const key = contextKey(sha256, options.keyPrefix);
  let lastPackage: ContextPackage | undefined;
  const result = await uploadContext({
    ...options,
    key,
    expectedSize: byteLength,
    metadata: { 'dib-sha256': sha256 },
    body: async () => {
      lastPackage = await packageContext(options.context);
      return lastPackage.stream;
    },
    onProgress: options.onProgress === undefined ? undefined : (loaded) => options.onProgress?.(loaded, byteLength),
  });
  if (result.uploaded && lastPackage !== undefined) {
    const uploadedHash = await lastPackage.contentHash;
    if (uploadedHash !== sha256) {
      const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
      await options.s3
        .send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key, ExpectedBucketOwner: options.expectedOwner }))
        .catch(() => undefined);
      throw new InputError(
        'context',
        'files in the build context changed while it was being uploaded',
        'Retry when nothing is writing into the context directory (build outputs belong in .dockerignore).',
      );
    }
  }
  return { ...result, sha256, byteLength, manifest };
}
