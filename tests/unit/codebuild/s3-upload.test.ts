import { describe, expect, it } from 'vitest';
import { contextKey, defaultBucketName, isTransientS3Error, s3Call } from '../../../src/codebuild/s3-upload.js';
import { describeAwsError } from '../../../src/util/aws-errors.js';
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

  it('never retries an InputError, an ExpectedFailure or a plain programming error', () => {
    expect(isTransientS3Error(new InputError('context', 'x', 'y'))).toBe(false);
    expect(isTransientS3Error(describeAwsError(awsError('SlowDown', 503), s3Call('PutObject', 'b')))).toBe(false);
    expect(isTransientS3Error(new TypeError('bad'))).toBe(false);
  });

  it('says what to do for permanent failures', () => {
    const denied = describeAwsError(awsError('AccessDenied', 403), s3Call('PutObject', 'b', 'k'));
    expect(denied.kind).toBe('aws-permissions');
    expect(denied.message).toContain('S3 PutObject on s3://b/k was denied');
    expect(denied.nextStep).toContain('s3:PutObject');
    const missing = describeAwsError(awsError('NoSuchBucket', 404), s3Call('PutObject', 'b'));
    expect(missing.kind).toBe('aws-not-found');
    expect(missing.nextStep).toContain('setup');
    expect(describeAwsError(awsError('ExpiredToken', 400), s3Call('HeadObject', 'b')).kind).toBe('aws-credentials');
    expect(describeAwsError(awsError('PermanentRedirect', 301), s3Call('HeadObject', 'b')).kind).toBe('aws-region');
    const original = describeAwsError(awsError('AccessDenied', 403), s3Call('PutObject', 'b'));
    expect(describeAwsError(original, s3Call('HeadObject', 'b'))).toBe(original);
  });
});
