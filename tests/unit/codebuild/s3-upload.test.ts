import { describe, expect, it } from 'vitest';
import {
  contextKey,
  defaultBucketName,
  describeS3Failure,
  isTransientS3Error,
} from '../../../src/codebuild/s3-upload.js';
import { InputError } from '../../../src/util/errors.js';

function awsError(name: string, status?: number): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $metadata: status === undefined ? {} : { httpStatusCode: status },
  });
}

describe('names and keys', () => {
  it('builds the default bucket name from account and region', () => {
    expect(defaultBucketName('123456789012', 'us-west-2')).toBe('docker-image-builder-123456789012-us-west-2');
    expect(defaultBucketName('123456789012', 'ap-southeast-2').length).toBeLessThanOrEqual(63);
    expect(() => defaultBucketName('1234', 'us-west-2')).toThrow(InputError);
    expect(() => defaultBucketName('123456789012', 'US_WEST')).toThrow(InputError);
  });

  it('names context objects by content hash', () => {
    const sha = 'a'.repeat(64);
    expect(contextKey(sha)).toBe(`docker-image-builder/contexts/${sha}.zip`);
    expect(() => contextKey('not-a-hash')).toThrow();
  });
});

describe('error classification', () => {
  it.each([
    ['SlowDown', 503],
    ['InternalError', 500],
    ['ServiceUnavailable', 503],
    ['RequestTimeout', 400],
    ['ThrottlingException', 400],
    ['Whatever', 502],
    ['TooManyRequests', 429],
  ])('%s (%s) is transient', (name, status) => {
    expect(isTransientS3Error(awsError(name, status))).toBe(true);
  });

  it('treats socket errors as transient', () => {
    expect(isTransientS3Error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it.each([
    ['AccessDenied', 403],
    ['NoSuchBucket', 404],
    ['InvalidAccessKeyId', 403],
    ['ExpiredToken', 400],
    ['PermanentRedirect', 301],
    ['InvalidRequest', 400],
  ])('%s (%s) is permanent', (name, status) => {
    expect(isTransientS3Error(awsError(name, status))).toBe(false);
  });

  it('never retries an InputError or a plain programming error', () => {
    expect(isTransientS3Error(new InputError('context', 'x', 'y'))).toBe(false);
    expect(isTransientS3Error(new TypeError('bad'))).toBe(false);
  });

  it('says what to do for permanent failures', () => {
    const denied = describeS3Failure(awsError('AccessDenied', 403), 'PutObject', 'b', 'k');
    expect(denied.field).toBe('s3_bucket');
    expect(denied.message).toContain('s3://b/k');
    expect(denied.hint).toContain('s3:PutObject');
    expect(describeS3Failure(awsError('NoSuchBucket', 404), 'PutObject', 'b').hint).toContain('setup');
    expect(describeS3Failure(awsError('ExpiredToken', 400), 'HeadObject', 'b').field).toBe('aws_credentials');
    expect(describeS3Failure(awsError('PermanentRedirect', 301), 'HeadObject', 'b').field).toBe('region');
    const original = new InputError('context', 'changed', 'retry');
    expect(describeS3Failure(original, 'PutObject', 'b')).toBe(original);
  });
});
