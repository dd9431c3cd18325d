/**
 * Context packaging + S3 upload against the local S3 server (s3rver behind the proxy), through the real SDK
 * configured only by AWS_ENDPOINT_URL_S3 — the S3 client has no test-only options.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { hashContext, listContext, packageContext } from '../../src/codebuild/context-package.js';
import {
  contextKey,
  defaultBucketName,
  ensureBucket,
  uploadBuildContext,
  uploadContext,
} from '../../src/codebuild/s3-upload.js';
import { ExpectedFailure } from '../../src/util/errors.js';
import { engines, ready } from '../support/engines.js';
import { startS3Server, type S3ServerHandle } from '../support/s3-server.js';

const REGION = 'us-west-2';
const ACCOUNT = '123456789012';
const BUCKET = defaultBucketName(ACCOUNT, REGION);
const ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_REGION: REGION,
  AWS_EC2_METADATA_DISABLED: 'true',
};

let server: S3ServerHandle;
let s3: S3Client;
let work: string;
const savedEnv: Record<string, string | undefined> = {};

async function makeContext(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = path.join(work, name);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return dir;
}

async function download(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = await startS3Server({ account: ACCOUNT, foreignBuckets: ['someone-elses-bucket'] });
  for (const [key, value] of Object.entries({ ...ENV, AWS_ENDPOINT_URL_S3: server.url })) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  s3 = new S3Client({ region: REGION });
  work = await mkdtemp(path.join(tmpdir(), 'dib-upload-'));
});

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('ensureBucket', () => {
  it('creates a missing bucket, private and encrypted, in the requested region', async () => {
    const result = await ensureBucket({ s3, bucket: BUCKET, region: REGION, expectedOwner: ACCOUNT });
    expect(result).toEqual({ bucket: BUCKET, created: true });
    const config = server.bucketConfig.get(BUCKET);
    expect(config?.locationConstraint).toBe(REGION);
    expect(config?.publicAccessBlock).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    expect(config?.encryption?.sseAlgorithm).toBe('AES256');
  });

  it('is idempotent: an existing bucket is only checked', async () => {
    const creates = server.count('CreateBucket');
    const result = await ensureBucket({ s3, bucket: BUCKET, region: REGION, expectedOwner: ACCOUNT });
    expect(result.created).toBe(false);
    expect(server.count('CreateBucket')).toBe(creates);
  });

  it('refuses a bucket owned by another account (ExpectedBucketOwner / name taken)', async () => {
    const wrongOwner = await ensureBucket({ s3, bucket: BUCKET, region: REGION, expectedOwner: '999999999999' }).catch(
      (e: unknown) => e,
    );
    expect(wrongOwner).toBeInstanceOf(ExpectedFailure);
    expect((wrongOwner as ExpectedFailure).message).toContain('not owned by account 999999999999');
    const taken = await ensureBucket({
      s3,
      bucket: 'someone-elses-bucket',
      region: REGION,
      expectedOwner: ACCOUNT,
    }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(ExpectedFailure);
    expect((taken as ExpectedFailure).message).toContain('someone-elses-bucket');
    expect((taken as ExpectedFailure).nextStep).toContain('--s3-bucket');
  });

  it('retries a throttled HeadBucket (SDK retries, then ours) without surfacing it', async () => {
    server.faults.add({ service: 's3', operation: 'HeadBucket', kind: 'throttle', times: 4 });
    const heads = server.count('HeadBucket');
    const result = await ensureBucket({ s3, bucket: BUCKET, region: REGION, expectedOwner: ACCOUNT, retryDelayMs: 10 });
    expect(result.created).toBe(false);
    expect(server.count('HeadBucket') - heads).toBe(5);
  });
});

describe('uploadBuildContext', () => {
  it('uploads once, then skips the unchanged context after a HeadObject hit', async () => {
    const contextDir = await makeContext('small', {
      Dockerfile: 'FROM scratch\nCOPY . /app\n',
      'app.py': 'print(1)\n',
      '.dockerignore': '*.log\n',
      'debug.log': 'noise',
    });
    const puts = server.count('PutObject');
    const first = await uploadBuildContext({ s3, bucket: BUCKET, expectedOwner: ACCOUNT, context: { contextDir } });
    expect(first.uploaded).toBe(true);
    expect(first.key).toBe(contextKey(first.sha256));
    expect(first.key).toMatch(/^docker-image-builder\/contexts\/[0-9a-f]{64}\.zip$/);
    expect(first.sourceLocation).toBe(`${BUCKET}/${first.key}`);
    expect(server.count('PutObject') - puts).toBe(1);
    const stored = await download(first.key);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(first.sha256);
    expect(stored.length).toBe(first.byteLength);

    const heads = server.count('HeadObject');
    const second = await uploadBuildContext({ s3, bucket: BUCKET, expectedOwner: ACCOUNT, context: { contextDir } });
    expect(second.uploaded).toBe(false);
    expect(second.key).toBe(first.key);
    expect(server.count('HeadObject') - heads).toBe(1);
    expect(server.count('PutObject') - puts).toBe(1);

    await writeFile(path.join(contextDir, 'debug.log'), 'ignored change');
    const third = await uploadBuildContext({ s3, bucket: BUCKET, expectedOwner: ACCOUNT, context: { contextDir } });
    expect(third.uploaded).toBe(false);
    await writeFile(path.join(contextDir, 'app.py'), 'print(2)\n');
    const fourth = await uploadBuildContext({ s3, bucket: BUCKET, expectedOwner: ACCOUNT, context: { contextDir } });
    expect(fourth.uploaded).toBe(true);
    expect(fourth.key).not.toBe(first.key);
  });

  it('sends a 50 MB generated context as a multipart upload, streamed', async () => {
    const files: Record<string, Buffer> = { Dockerfile: Buffer.from('FROM scratch\nCOPY . /data\n') };
    for (let i = 0; i < 40; i++) files[`weights/part-${String(i).padStart(2, '0')}.bin`] = randomBytes(1024 * 1024);
    let text = '';
    while (text.length < 10 * 1024 * 1024) text += `row ${text.length} value=${(text.length * 7) % 1013} ok\n`;
    files['data/table.csv'] = Buffer.from(text.slice(0, 10 * 1024 * 1024));
    const contextDir = await makeContext('big', files);
    const manifest = await listContext({ contextDir });
    expect(manifest.totalBytes).toBeGreaterThanOrEqual(50 * 1024 * 1024);

    const counts = () => ({
      create: server.count('CreateMultipartUpload'),
      part: server.count('UploadPart'),
      complete: server.count('CompleteMultipartUpload'),
      put: server.count('PutObject'),
    });
    const before = counts();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const progress: number[] = [];
    const hashStarted = performance.now();
    const hashed = await hashContext({ contextDir });
    const hashMs = performance.now() - hashStarted;
    const started = performance.now();
    const result = await uploadBuildContext({
      s3,
      bucket: BUCKET,
      expectedOwner: ACCOUNT,
      context: { contextDir },
      onProgress: (loaded) => progress.push(loaded),
    });
    const totalMs = performance.now() - started;
    clearInterval(sampler);
    expect(result.uploaded).toBe(true);
    expect(result.sha256).toBe(hashed.sha256);
    const after = counts();
    expect(after.create - before.create).toBe(1);
    expect(after.complete - before.complete).toBe(1);
    expect(after.part - before.part).toBe(Math.ceil(result.byteLength / (8 * 1024 * 1024)));
    expect(after.put - before.put).toBe(0);
    expect(progress.at(-1)).toBe(result.byteLength);
    const stored = await download(result.key);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(result.sha256);

    const mb = manifest.totalBytes / 1024 / 1024;
    console.log(
      `[measure] 50 MB context: zip ${(result.byteLength / 1024 / 1024).toFixed(1)} MB; ` +
        `hash pass ${(mb / (hashMs / 1000)).toFixed(1)} MB/s; ` +
        `uploadBuildContext (hash pass, HeadObject, package pass into multipart upload to the in-process s3rver) ` +
        `${(totalMs / 1000).toFixed(2)} s (${(mb / (totalMs / 1000)).toFixed(1)} MB/s of context); ` +
        `RSS baseline ${(baseline / 1048576).toFixed(0)} MB, peak ${(peak / 1048576).toFixed(0)} MB (+${((peak - baseline) / 1048576).toFixed(0)} MB)`,
    );
    // Streamed: memory grows by the upload queue (4 parts of 8 MiB) and buffers, not by the context size.
    expect(peak - baseline).toBeLessThan(150 * 1024 * 1024);
  }, 120_000);
});

describe('uploadContext failures', () => {
  const zipFactory = (contextDir: string) => async () => (await packageContext({ contextDir })).stream;

  it('retries transient failures with backoff after the SDK gives up', async () => {
    const contextDir = await makeContext('transient', {
      Dockerfile: 'FROM scratch\n',
      'x.txt': randomBytes(16).toString('hex'),
    });
    const { sha256 } = await hashContext({ contextDir });
    server.faults.add({ service: 's3', operation: 'PutObject', kind: '5xx', times: 3 }); // one full SDK attempt budget
    const puts = server.count('PutObject');
    const result = await uploadContext({
      s3,
      bucket: BUCKET,
      key: contextKey(sha256),
      expectedOwner: ACCOUNT,
      body: zipFactory(contextDir),
      retryDelayMs: 10,
    });
    expect(result.uploaded).toBe(true);
    expect(result.attempts).toBe(2);
    expect(server.count('PutObject') - puts).toBe(4);
  });

  it('stops at once on AccessDenied with an ExpectedFailure that says what to do', async () => {
    const contextDir = await makeContext('denied', {
      Dockerfile: 'FROM scratch\n',
      'y.txt': randomBytes(16).toString('hex'),
    });
    const { sha256 } = await hashContext({ contextDir });
    const fault = server.faults.add({
      service: 's3',
      operation: 'PutObject',
      kind: 'error',
      status: 403,
      code: 'AccessDenied',
      message: 'Access Denied',
      times: 10,
    });
    const error = await uploadContext({
      s3,
      bucket: BUCKET,
      key: contextKey(sha256),
      body: zipFactory(contextDir),
      retryDelayMs: 10,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectedFailure);
    expect((error as ExpectedFailure).message).toContain('denied');
    expect((error as ExpectedFailure).nextStep).toContain('s3:PutObject');
    expect(fault.hits).toBe(1);
    server.faults.clear();
  });

  it('reports a missing bucket without retrying', async () => {
    const contextDir = await makeContext('nobucket', { Dockerfile: 'FROM scratch\n' });
    const { sha256 } = await hashContext({ contextDir });
    const puts = server.count('PutObject');
    const error = await uploadContext({
      s3,
      bucket: 'no-such-bucket-here',
      key: contextKey(sha256),
      body: zipFactory(contextDir),
      retryDelayMs: 10,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectedFailure);
    expect((error as ExpectedFailure).message).toContain('does not exist');
    expect(server.count('PutObject') - puts).toBe(1);
  });

  it('refuses HeadObject on a bucket of another owner', async () => {
    const error = await uploadContext({
      s3,
      bucket: BUCKET,
      key: contextKey('0'.repeat(64)),
      expectedOwner: '999999999999',
      body: () => {
        throw new Error('must not be called');
      },
      retryDelayMs: 10,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectedFailure);
    expect((error as ExpectedFailure).kind).toBe('aws-permissions');
  });
});

// Both engines: the legacy builder filters the context in the CLI, BuildKit in its own file sync; the zip must match
// what either puts in the image.
describe.each(engines())('the zip holds what docker build sends on the $title', (engine) => {
  if (!ready(engine)) return;
  it('matches the files a real `COPY . /ctx` sees, for a tricky .dockerignore', async () => {
    const contextDir = await makeContext('docker-compare', {
      Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
      '.dockerignore': [
        '# comment',
        '*.log',
        'node_modules',
        'build/',
        '**/*.tmp',
        'docs/**',
        '!docs/keep.md',
        '/abs.txt',
        'readme.md',
        'vendor',
        '!vendor/keep/**',
        '*.txt',
        '!important.txt',
        'important.txt',
        '!also.txt',
      ].join('\n'),
      'app.py': 'x',
      'debug.log': 'x',
      'sub/trace.log': 'x',
      'node_modules/pkg/index.js': 'x',
      'build/out.bin': 'x',
      'x.tmp': 'x',
      'a/b/c/x.tmp': 'x',
      'a/b/c/keep.py': 'x',
      'docs/a.md': 'x',
      'docs/keep.md': 'x',
      'docs/sub/z.md': 'x',
      'abs.txt': 'x',
      'README.md': 'x',
      'vendor/drop.py': 'x',
      'vendor/keep/one.py': 'x',
      'vendor/keep/deep/two.py': 'x',
      'important.txt': 'x',
      'also.txt': 'x',
      'other.txt': 'x',
    });
    const tag = `dib-ignore-check:${process.pid}`;
    // The builder each engine's users get: legacy on the host, buildx on the modern engine.
    const env = { ...process.env, ...engine.env, DOCKER_BUILDKIT: engine.name === 'host' ? '0' : '1' };
    execFileSync('docker', ['build', '-q', '-t', tag, contextDir], { env, stdio: 'pipe', timeout: 60_000 });
    let container = '';
    try {
      container = execFileSync('docker', ['create', tag, '/none'], { encoding: 'utf8', env }).trim();
      const listing = execFileSync('sh', ['-c', `docker export ${container} | tar -t`], { encoding: 'utf8', env });
      const inImage = listing
        .split('\n')
        .filter((l) => l.startsWith('ctx/') && !l.endsWith('/'))
        .map((l) => l.slice('ctx/'.length))
        .sort();
      const zipped: string[] = [];
      const pkg = await packageContext({ contextDir });
      const chunks: Buffer[] = [];
      for await (const chunk of pkg.stream) chunks.push(chunk as Buffer);
      const zip = await yauzl.fromBufferPromise(Buffer.concat(chunks), { lazyEntries: true });
      for await (const entry of zip.eachEntry()) if (!entry.fileName.endsWith('/')) zipped.push(entry.fileName);
      zip.close();
      expect(zipped.sort()).toEqual(inImage);
      expect(inImage).toContain('vendor/keep/deep/two.py');
      expect(inImage).not.toContain('sub/trace.log'.replace('sub', 'nope'));
    } finally {
      if (container) execFileSync('docker', ['rm', container], { stdio: 'pipe', env });
      execFileSync('docker', ['rmi', tag], { stdio: 'pipe', env });
    }
  });
});
