/**
 * The AWS emulator, driven only through the real AWS SDK v3 clients configured by AWS_ENDPOINT_URL_* variables.
 * Builds really run (including `docker version` against the local engine).
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  BatchGetProjectsCommand,
  CodeBuildClient,
  CreateProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
  type Build,
} from '@aws-sdk/client-codebuild';
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { ensureBucket, uploadBuildContext } from '../../src/codebuild/s3-upload.js';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';

const REGION = 'us-west-2';
const BUCKET = 'emulator-test-sources';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/dib-codebuild';

let aws: AwsEmulatorHandle;
const savedEnv: Record<string, string | undefined> = {};
let codebuild: CodeBuildClient;
let logs: CloudWatchLogsClient;
let s3: S3Client;

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

function zipOf(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(Buffer.from(content), name, { mode: name.endsWith('.sh') ? 0o100755 : 0o100644 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

async function uploadSource(key: string, files: Record<string, string>): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await zipOf(files) }));
  return `${BUCKET}/${key}`;
}

async function waitForBuild(id: string, timeoutMs = 90_000): Promise<Build> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { builds } = await codebuild.send(new BatchGetBuildsCommand({ ids: [id] }));
    const build = builds?.[0];
    if (build?.buildComplete) return build;
    if (Date.now() > deadline) throw new Error(`build ${id} still ${build?.currentPhase} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** Reads the whole log stream with forward tokens until the token repeats. */
async function readLog(build: Build): Promise<string[]> {
  const lines: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const out = await logs.send(
      new GetLogEventsCommand({
        logGroupName: build.logs?.groupName,
        logStreamName: build.logs?.streamName,
        startFromHead: true,
        nextToken: token,
        limit: 5,
      }),
    );
    for (const event of out.events ?? []) lines.push(event.message ?? '');
    if (out.nextForwardToken === token) return lines;
    token = out.nextForwardToken;
  }
  throw new Error('log paging did not converge');
}

const phaseStatuses = (build: Build) =>
  Object.fromEntries((build.phases ?? []).map((p) => [p.phaseType ?? '?', p.phaseStatus ?? '-']));

beforeAll(async () => {
  aws = await startAwsEmulator({
    projects: [
      {
        name: 'dib-demo',
        source: { type: 'S3', location: `${BUCKET}/none.zip` },
        environment: { privilegedMode: true, image: 'aws/codebuild/standard:7.0' },
        serviceRole: ROLE_ARN,
      },
      {
        name: 'dib-always-fails',
        source: { type: 'S3' },
        environment: { privilegedMode: true },
        serviceRole: ROLE_ARN,
        failPhase: 'PRE_BUILD',
      },
    ],
    timing: { queuedMs: 20, provisioningMs: 20, minuteMs: 200, killGraceMs: 1_000 },
  });
  for (const [key, value] of Object.entries(aws.env)) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  codebuild = new CodeBuildClient({ region: REGION });
  logs = new CloudWatchLogsClient({ region: REGION });
  s3 = new S3Client({ region: REGION });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }));
});

afterAll(async () => {
  codebuild?.destroy();
  logs?.destroy();
  s3?.destroy();
  await aws?.stop();
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('STS and IAM (query protocol)', () => {
  it('answers GetCallerIdentity with the configured account', async () => {
    const sts = new STSClient({ region: REGION });
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe('123456789012');
    expect(identity.Arn).toBe('arn:aws:iam::123456789012:user/dib-test');
    expect(identity.UserId).toMatch(/^AIDA/);
    sts.destroy();
  });

  it('supports an idempotent role setup: GetRole NoSuchEntity, CreateRole, PutRolePolicy, GetRolePolicy', async () => {
    const iam = new IAMClient({ region: REGION });
    const missing = await iam.send(new GetRoleCommand({ RoleName: 'dib-setup-role' })).catch((e: unknown) => e);
    expect((missing as Error).name).toBe('NoSuchEntityException');
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const created = await iam.send(
      new CreateRoleCommand({ RoleName: 'dib-setup-role', AssumeRolePolicyDocument: trust }),
    );
    expect(created.Role?.Arn).toBe('arn:aws:iam::123456789012:role/dib-setup-role');
    const again = await iam
      .send(new CreateRoleCommand({ RoleName: 'dib-setup-role', AssumeRolePolicyDocument: trust }))
      .catch((e: unknown) => e);
    expect((again as Error).name).toBe('EntityAlreadyExistsException');
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    });
    await iam.send(
      new PutRolePolicyCommand({ RoleName: 'dib-setup-role', PolicyName: 'inline', PolicyDocument: policy }),
    );
    const got = await iam.send(new GetRolePolicyCommand({ RoleName: 'dib-setup-role', PolicyName: 'inline' }));
    // IAM returns policy documents URL-encoded, like the real service.
    expect(decodeURIComponent(got.PolicyDocument ?? '')).toBe(policy);
    const role = await iam.send(new GetRoleCommand({ RoleName: 'dib-setup-role' }));
    expect(JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? ''))).toEqual(JSON.parse(trust));
    iam.destroy();
  });

  it('retries a throttled query-protocol call transparently', async () => {
    const sts = new STSClient({ region: REGION });
    const before = aws.count('sts', 'GetCallerIdentity');
    aws.faults.add({ service: 'sts', operation: 'GetCallerIdentity', kind: 'throttle', times: 2 });
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe('123456789012');
    expect(identity.$metadata.attempts).toBe(3);
    expect(aws.count('sts', 'GetCallerIdentity') - before).toBe(3);
    sts.destroy();
  });
});

describe('ECR', () => {
  it('creates and describes repositories and hands out a token', async () => {
    const ecr = new ECRClient({ region: REGION });
    const missing = await ecr
      .send(new DescribeRepositoriesCommand({ repositoryNames: ['fsdp'] }))
      .catch((e: unknown) => e);
    expect((missing as Error).name).toBe('RepositoryNotFoundException');
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fsdp' }));
    expect(created.repository?.repositoryUri).toBe('123456789012.dkr.ecr.us-west-2.amazonaws.com/fsdp');
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['fsdp'] }));
    expect(described.repositories?.[0]?.repositoryName).toBe('fsdp');
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = token.authorizationData?.[0];
    expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString()).toMatch(/^AWS:/);
    expect(data?.expiresAt).toBeInstanceOf(Date);
    ecr.destroy();
  });
});

describe('CodeBuild projects', () => {
  it('BatchGetProjects reports found and missing projects', async () => {
    const out = await codebuild.send(new BatchGetProjectsCommand({ names: ['dib-demo', 'no-such-project'] }));
    expect(out.projects?.map((p) => p.name)).toEqual(['dib-demo']);
    expect(out.projects?.[0]?.arn).toBe('arn:aws:codebuild:us-west-2:123456789012:project/dib-demo');
    expect(out.projects?.[0]?.environment?.privilegedMode).toBe(true);
    expect(out.projectsNotFound).toEqual(['no-such-project']);
  });

  it('CreateProject makes a project visible to BatchGetProjects and refuses duplicates', async () => {
    const input = {
      name: 'dib-created',
      source: {
        type: 'NO_SOURCE' as const,
        buildspec: 'version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n',
      },
      artifacts: { type: 'NO_ARTIFACTS' as const },
      environment: {
        type: 'LINUX_CONTAINER' as const,
        image: 'aws/codebuild/standard:7.0',
        computeType: 'BUILD_GENERAL1_MEDIUM' as const,
        privilegedMode: true,
      },
      serviceRole: ROLE_ARN,
    };
    const created = await codebuild.send(new CreateProjectCommand(input));
    expect(created.project?.arn).toBe('arn:aws:codebuild:us-west-2:123456789012:project/dib-created');
    const dup = await codebuild.send(new CreateProjectCommand(input)).catch((e: unknown) => e);
    expect((dup as Error).name).toBe('ResourceAlreadyExistsException');
    const out = await codebuild.send(new BatchGetProjectsCommand({ names: ['dib-created'] }));
    expect(out.projects?.[0]?.environment?.computeType).toBe('BUILD_GENERAL1_MEDIUM');
  });

  it('StartBuild of a missing project is ResourceNotFoundException', async () => {
    const error = await codebuild.send(new StartBuildCommand({ projectName: 'nope' })).catch((e: unknown) => e);
    expect((error as Error).name).toBe('ResourceNotFoundException');
  });

  it('retries throttling and 5xx answers transparently, and the request log shows every attempt', async () => {
    const before = aws.count('codebuild', 'BatchGetProjects');
    aws.faults.add({ service: 'codebuild', operation: 'BatchGetProjects', kind: 'throttle', times: 1 });
    aws.faults.add({ service: 'codebuild', operation: 'BatchGetProjects', kind: '5xx', status: 503, times: 1 });
    const out = await codebuild.send(new BatchGetProjectsCommand({ names: ['dib-demo'] }));
    expect(out.projects).toHaveLength(1);
    expect(out.$metadata.attempts).toBe(3);
    const attempts = aws.state.requests.filter((r) => r.service === 'codebuild' && r.operation === 'BatchGetProjects');
    expect(attempts.length - before).toBe(3);
    expect(attempts.slice(-3).map((r) => r.fault)).toEqual(['throttle', '5xx', undefined]);
    expect(attempts.slice(-3).map((r) => r.status)).toEqual([400, 503, 200]);
  });

  it('gives up after the SDK retry budget on persistent 500s', async () => {
    aws.faults.add({ service: 'codebuild', operation: 'BatchGetProjects', kind: '5xx', times: 3 });
    const error = await codebuild.send(new BatchGetProjectsCommand({ names: ['dib-demo'] })).catch((e: unknown) => e);
    expect((error as Error).name).toBe('InternalFailure');
    expect((error as { $metadata: { attempts: number } }).$metadata.attempts).toBe(3);
  });

  it('retries a dropped connection transparently', async () => {
    aws.faults.add({ service: 'codebuild', operation: 'BatchGetProjects', kind: 'reset' });
    const out = await codebuild.send(new BatchGetProjectsCommand({ names: ['dib-demo'] }));
    expect(out.projects).toHaveLength(1);
    expect(out.$metadata.attempts).toBe(2);
  });

  it('can require the service role to exist in IAM and model IAM propagation delay', async () => {
    const strict = await startAwsEmulator({ s3: false, validateServiceRole: true, iamPropagationDelayMs: 400 });
    const endpoint = { endpoint: strict.url, region: REGION };
    const iam = new IAMClient(endpoint);
    const cb = new CodeBuildClient(endpoint);
    try {
      const trust = JSON.stringify({ Version: '2012-10-17', Statement: [] });
      const role = await iam.send(new CreateRoleCommand({ RoleName: 'fresh', AssumeRolePolicyDocument: trust }));
      const project = {
        name: 'strict',
        source: { type: 'NO_SOURCE' as const, buildspec: 'version: 0.2\n' },
        artifacts: { type: 'NO_ARTIFACTS' as const },
        environment: {
          type: 'LINUX_CONTAINER' as const,
          image: 'aws/codebuild/standard:7.0',
          computeType: 'BUILD_GENERAL1_SMALL' as const,
        },
        serviceRole: role.Role?.Arn,
      };
      const early = await cb.send(new CreateProjectCommand(project)).catch((e: unknown) => e);
      expect((early as Error).name).toBe('InvalidInputException');
      expect((early as Error).message).toContain('not authorized to perform: sts:AssumeRole');
      await new Promise((resolve) => setTimeout(resolve, 450));
      const created = await cb.send(new CreateProjectCommand(project));
      expect(created.project?.serviceRole).toBe(role.Role?.Arn);
    } finally {
      iam.destroy();
      cb.destroy();
      await strict.stop();
    }
  });

  it('delays slow answers', async () => {
    aws.faults.add({ service: 'codebuild', operation: 'BatchGetProjects', kind: 'slow', delayMs: 600 });
    const started = Date.now();
    await codebuild.send(new BatchGetProjectsCommand({ names: ['dib-demo'] }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });
});

describe('CodeBuild builds', () => {
  it.skipIf(!dockerAvailable())(
    'runs a build from an S3 zip to SUCCEEDED, with phases and logs (echo, then real docker version)',
    async () => {
      const location = await uploadSource('ok.zip', {
        'hello.txt': 'from the zip\n',
        'run.sh': '#!/bin/sh\necho script-ran\n',
      });
      const putsBefore = aws.count('codebuild', 'StartBuild');
      aws.faults.add({ service: 'codebuild', operation: 'StartBuild', kind: 'throttle', times: 1 });
      const started = await codebuild.send(
        new StartBuildCommand({
          projectName: 'dib-demo',
          sourceTypeOverride: 'S3',
          sourceLocationOverride: location,
          privilegedModeOverride: true,
          timeoutInMinutesOverride: 60,
          environmentVariablesOverride: [{ name: 'IMAGE_TAG', value: 'v1', type: 'PLAINTEXT' }],
          buildspecOverride: [
            'version: 0.2',
            'env:',
            '  variables:',
            '    GREETING: "hello"',
            'phases:',
            '  install:',
            '    commands:',
            '      - echo "$GREETING"',
            '      - export CARRIED=over',
            '      - cd sub 2>/dev/null || mkdir sub && cd sub',
            '  pre_build:',
            '    commands:',
            '      - echo "carried=$CARRIED pwd=$(basename "$PWD") tag=$IMAGE_TAG id=$CODEBUILD_BUILD_ID"',
            '      - cat "$CODEBUILD_SRC_DIR/hello.txt"',
            '      - $CODEBUILD_SRC_DIR/run.sh',
            '  build:',
            '    commands:',
            "      - docker version --format 'server={{.Server.Version}}'",
            '  post_build:',
            '    commands:',
            '      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"',
            '',
          ].join('\n'),
        }),
      );
      expect(started.$metadata.attempts).toBe(2);
      expect(aws.count('codebuild', 'StartBuild') - putsBefore).toBe(2);
      const id = started.build?.id ?? '';
      expect(id).toMatch(/^dib-demo:[0-9a-f-]{36}$/);
      expect(started.build?.buildStatus).toBe('IN_PROGRESS');

      const build = await waitForBuild(id);
      expect(build.buildStatus).toBe('SUCCEEDED');
      expect(build.currentPhase).toBe('COMPLETED');
      expect(build.phases?.map((p) => p.phaseType)).toEqual([
        'SUBMITTED',
        'QUEUED',
        'PROVISIONING',
        'DOWNLOAD_SOURCE',
        'INSTALL',
        'PRE_BUILD',
        'BUILD',
        'POST_BUILD',
        'UPLOAD_ARTIFACTS',
        'FINALIZING',
        'COMPLETED',
      ]);
      for (const phase of build.phases ?? []) {
        if (phase.phaseType === 'COMPLETED') continue;
        expect(phase.phaseStatus).toBe('SUCCEEDED');
        expect(phase.startTime).toBeInstanceOf(Date);
        expect(phase.endTime).toBeInstanceOf(Date);
        expect(typeof phase.durationInSeconds).toBe('number');
      }
      expect(build.logs?.groupName).toBe('/aws/codebuild/dib-demo');
      expect(build.logs?.streamName).toBe(id.split(':')[1]);
      expect(build.logs?.deepLink).toContain('region=us-west-2');

      const lines = await readLog(build);
      expect(lines).toContain('hello');
      expect(
        lines.some((l) =>
          /^\[Container\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} Running command echo "\$GREETING"$/.test(l),
        ),
      ).toBe(true);
      expect(lines).toContain(`carried=over pwd=sub tag=v1 id=${id}`);
      expect(lines).toContain('from the zip');
      expect(lines).toContain('script-ran');
      expect(lines.some((l) => /^server=\d+\.\d+/.test(l))).toBe(true);
      expect(lines).toContain('succeeding=1');
      expect(lines.some((l) => l.endsWith('Phase complete: BUILD State: SUCCEEDED'))).toBe(true);

      // A poller that already has everything gets its own token back and no events.
      const tail = await logs.send(
        new GetLogEventsCommand({
          logGroupName: build.logs?.groupName,
          logStreamName: build.logs?.streamName,
          startFromHead: true,
        }),
      );
      const again = await logs.send(
        new GetLogEventsCommand({
          logGroupName: build.logs?.groupName,
          logStreamName: build.logs?.streamName,
          startFromHead: true,
          nextToken: tail.nextForwardToken,
        }),
      );
      expect(again.events).toEqual([]);
      expect(again.nextForwardToken).toBe(tail.nextForwardToken);
    },
  );

  it.skipIf(!dockerAvailable())(
    'builds a context packaged and uploaded by the product with a real docker build (.dockerignore applied)',
    async () => {
      const contextDir = await mkdtemp(path.join(tmpdir(), 'dib-e2e-ctx-'));
      try {
        await writeFile(path.join(contextDir, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /\n');
        await writeFile(path.join(contextDir, '.dockerignore'), 'secret.txt\n');
        await writeFile(path.join(contextDir, 'app.txt'), 'app\n');
        await writeFile(path.join(contextDir, 'secret.txt'), 'do not ship\n');
        const bucket = 'docker-image-builder-123456789012-us-west-2';
        await ensureBucket({ s3, bucket, region: REGION, expectedOwner: '123456789012' });
        const uploaded = await uploadBuildContext({
          s3,
          bucket,
          expectedOwner: '123456789012',
          context: {
            contextDir,
            extraFiles: [{ path: 'Dockerfile.dib-fixed', content: 'FROM scratch\nCOPY . /ctx/\n' }],
          },
        });
        const tag = `dib-emulator-e2e:${process.pid}`;
        const started = await codebuild.send(
          new StartBuildCommand({
            projectName: 'dib-demo',
            sourceTypeOverride: 'S3',
            sourceLocationOverride: uploaded.sourceLocation,
            privilegedModeOverride: true,
            environmentVariablesOverride: [{ name: 'TAG', value: tag }],
            buildspecOverride: [
              'version: 0.2',
              'phases:',
              '  build:',
              '    commands:',
              '      - ls -A',
              '      - docker build -q -t "$TAG" -f Dockerfile.dib-fixed .',
              '      - cid=$(docker create "$TAG" /none) && docker export "$cid" | tar -t | grep "^ctx/" ; docker rm "$cid"',
              '  post_build:',
              '    commands:',
              '      - docker rmi "$TAG"',
              '',
            ].join('\n'),
          }),
        );
        const build = await waitForBuild(started.build?.id ?? '');
        const lines = await readLog(build);
        expect(build.buildStatus, lines.join('\n')).toBe('SUCCEEDED');
        // The zip left secret.txt out; docker on the "CodeBuild" side applies .dockerignore again anyway.
        expect(lines).toContain('Dockerfile.dib-fixed');
        expect(lines).not.toContain('secret.txt');
        expect(lines).toContain('ctx/app.txt');
        expect(lines).toContain('ctx/Dockerfile.dib-fixed');
        expect(lines.some((l) => l.includes('ctx/secret.txt'))).toBe(false);
      } finally {
        await rm(contextDir, { recursive: true, force: true });
      }
    },
  );

  it('fails in BUILD, still runs POST_BUILD, and reports the failing command', async () => {
    const location = await uploadSource('fail.zip', { 'a.txt': 'a' });
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        buildspecOverride: JSON.stringify({
          version: 0.2,
          phases: {
            build: { commands: ['echo before', 'sh -c "exit 3"', 'echo never'] },
            post_build: { commands: ['echo "post succeeding=$CODEBUILD_BUILD_SUCCEEDING"'] },
          },
        }),
      }),
    );
    const build = await waitForBuild(started.build?.id ?? '');
    expect(build.buildStatus).toBe('FAILED');
    expect(phaseStatuses(build)).toMatchObject({
      INSTALL: 'SUCCEEDED',
      PRE_BUILD: 'SUCCEEDED',
      BUILD: 'FAILED',
      POST_BUILD: 'SUCCEEDED',
      UPLOAD_ARTIFACTS: 'SUCCEEDED',
      FINALIZING: 'SUCCEEDED',
    });
    const buildPhase = build.phases?.find((p) => p.phaseType === 'BUILD');
    expect(buildPhase?.contexts?.[0]).toEqual({
      statusCode: 'COMMAND_EXECUTION_ERROR',
      message: 'Error while executing command: sh -c "exit 3". Reason: exit status 3',
    });
    const lines = await readLog(build);
    expect(lines).toContain('before');
    expect(lines).not.toContain('never');
    expect(lines).toContain('post succeeding=0');
  });

  it('a failure in PRE_BUILD skips BUILD and POST_BUILD (project failPhase injection)', async () => {
    const location = await uploadSource('inj.zip', { 'a.txt': 'a' });
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-always-fails',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        buildspecOverride: 'version: 0.2\nphases:\n  build:\n    commands:\n      - echo should-not-run\n',
      }),
    );
    const build = await waitForBuild(started.build?.id ?? '');
    expect(build.buildStatus).toBe('FAILED');
    expect(build.phases?.map((p) => p.phaseType)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'FINALIZING',
      'COMPLETED',
    ]);
    expect(phaseStatuses(build)['PRE_BUILD']).toBe('FAILED');
  });

  it('failNextBuild injects a FAULT into exactly one build', async () => {
    const location = await uploadSource('once.zip', { 'a.txt': 'a' });
    aws.faults.failNextBuild({ phase: 'BUILD', status: 'FAULT', project: 'dib-demo' });
    const spec = 'version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n';
    const first = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        buildspecOverride: spec,
      }),
    );
    const second = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        buildspecOverride: spec,
      }),
    );
    expect((await waitForBuild(first.build?.id ?? '')).buildStatus).toBe('FAULT');
    expect((await waitForBuild(second.build?.id ?? '')).buildStatus).toBe('SUCCEEDED');
  });

  it('a missing source object fails DOWNLOAD_SOURCE with CLIENT_ERROR', async () => {
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: `${BUCKET}/does-not-exist.zip`,
        buildspecOverride: 'version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n',
      }),
    );
    const build = await waitForBuild(started.build?.id ?? '');
    expect(build.buildStatus).toBe('FAILED');
    const download = build.phases?.find((p) => p.phaseType === 'DOWNLOAD_SOURCE');
    expect(download?.phaseStatus).toBe('FAILED');
    expect(download?.contexts?.[0]?.statusCode).toBe('CLIENT_ERROR');
    expect(download?.contexts?.[0]?.message).toContain('NoSuchKey');
  });

  it('StopBuild kills the running command within seconds', async () => {
    const location = await uploadSource('stop.zip', { 'a.txt': 'a' });
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        buildspecOverride:
          'version: 0.2\nphases:\n  build:\n    commands:\n      - echo sleeping\n      - sleep 60 & wait\n',
      }),
    );
    const id = started.build?.id ?? '';
    // Wait until the long command is running.
    for (let i = 0; i < 200 && !aws.buildLog(id).includes('sleeping'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(aws.buildLog(id)).toContain('sleeping');
    const stopAt = Date.now();
    const stopped = await codebuild.send(new StopBuildCommand({ id }));
    expect(stopped.build?.id).toBe(id);
    const build = await waitForBuild(id, 10_000);
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    expect(build.buildStatus).toBe('STOPPED');
    expect(phaseStatuses(build)['BUILD']).toBe('STOPPED');
    expect(build.phases?.some((p) => p.phaseType === 'POST_BUILD')).toBe(false);
  });

  it('times out a build that runs past timeoutInMinutes (minutes scaled for the test)', async () => {
    const location = await uploadSource('slow.zip', { 'a.txt': 'a' });
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        timeoutInMinutesOverride: 5, // 5 x 200 ms here
        buildspecOverride: 'version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n',
      }),
    );
    const build = await waitForBuild(started.build?.id ?? '', 15_000);
    expect(build.buildStatus).toBe('TIMED_OUT');
    expect(phaseStatuses(build)['BUILD']).toBe('TIMED_OUT');
  });

  it.skipIf(!dockerAvailable())('without privileged mode docker cannot reach a daemon, as in CodeBuild', async () => {
    const location = await uploadSource('unpriv.zip', { 'a.txt': 'a' });
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        privilegedModeOverride: false,
        buildspecOverride: 'version: 0.2\nphases:\n  build:\n    commands:\n      - docker info\n',
      }),
    );
    const build = await waitForBuild(started.build?.id ?? '');
    expect(build.buildStatus).toBe('FAILED');
    const lines = await readLog(build);
    expect(lines.some((l) => l.includes('Cannot connect to the Docker daemon'))).toBe(true);
  });

  it('refuses an invalid buildspec in DOWNLOAD_SOURCE with YAML_FILE_ERROR', async () => {
    const location = await uploadSource('badspec.zip', { 'a.txt': 'a' });
    const started = await codebuild.send(
      new StartBuildCommand({
        projectName: 'dib-demo',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: location,
        buildspecOverride: 'version: 0.3\nphases:\n  build:\n    commands:\n      - echo hi\n',
      }),
    );
    const build = await waitForBuild(started.build?.id ?? '');
    const download = build.phases?.find((p) => p.phaseType === 'DOWNLOAD_SOURCE');
    expect(download?.contexts?.[0]?.statusCode).toBe('YAML_FILE_ERROR');
  });

  it('GetLogEvents on a missing stream is ResourceNotFoundException', async () => {
    const error = await logs
      .send(new GetLogEventsCommand({ logGroupName: '/aws/codebuild/dib-demo', logStreamName: 'nope' }))
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('ResourceNotFoundException');
  });
});
