/**
 * `setup-codebuild` against the local AWS emulator through the real SDK: creates the role, its policy, the bucket
 * and the project, tolerating IAM propagation delay; a second run finds everything and changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRequest } from '../../src/build-model/attempt.js';
import { createAwsClients, type AwsClients } from '../../src/codebuild/clients.js';
import { CodeBuildRunner } from '../../src/codebuild/codebuild-runner.js';
import { planSetup, runSetup, setupCodebuildCommand, type SetupOptions } from '../../src/codebuild/setup/setup.js';
import { ExpectedFailure } from '../../src/util/errors.js';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';
import { TEST_BASE_IMAGE, dockerAvailable, dockerRequired, skipWithoutDocker } from '../support/docker.js';

const REGION = 'us-west-2';
const ACCOUNT = '123456789012';
const PROPAGATION = { initialDelayMs: 250, maxDelayMs: 1_000, attempts: 12 };

let aws: AwsEmulatorHandle;
let clients: AwsClients;
let work: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  aws = await startAwsEmulator({ validateServiceRole: true, iamPropagationDelayMs: 1_200 });
  for (const [key, value] of Object.entries(aws.env)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  clients = createAwsClients({ region: REGION });
  work = await mkdtemp(path.join(tmpdir(), 'dib-cb-setup-'));
});

afterAll(async () => {
  clients?.destroy();
  await aws?.stop();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (work) await rm(work, { recursive: true, force: true });
});

const OPTIONS: SetupOptions = { project: 'pytorch-fsdp', region: REGION };

function mutatingCalls(): number {
  return aws.state.requests.filter((r) => /^(Create|Put|Update|Delete|Attach)/.test(r.operation)).length;
}

describe('setup-codebuild', () => {
  it('--dry-run calls nothing', async () => {
    const before = aws.state.requests.length;
    const out: string[] = [];
    await setupCodebuildCommand({ ...OPTIONS, dryRun: true }, { clients: () => clients, out: (t) => out.push(t) });
    expect(aws.state.requests.length).toBe(before);
    expect(out.join('\n')).toContain('Dry run: nothing was called or changed.');
  });

  it('creates the role, policy, bucket and project, waiting out IAM propagation', async () => {
    const progress: string[] = [];
    const result = await runSetup(planSetup(OPTIONS), clients, {
      propagation: PROPAGATION,
      onProgress: (line) => progress.push(line),
    });
    const roleName = 'docker-image-builder-codebuild-pytorch-fsdp';
    const bucket = `docker-image-builder-${ACCOUNT}-${REGION}`;
    expect(result.accountId).toBe(ACCOUNT);
    expect(result.created).toEqual([
      `iam-role ${roleName}`,
      `iam-role-policy ${roleName}/docker-image-builder-codebuild`,
      `s3-bucket ${bucket}`,
      'codebuild-project pytorch-fsdp',
    ]);
    expect(result.found).toEqual([]);
    // The new role was "not yet assumable" at first: CreateProject was retried until IAM caught up.
    expect(aws.count('codebuild', 'CreateProject')).toBeGreaterThan(1);
    expect(progress.some((line) => line.includes('propagate'))).toBe(true);

    const role = aws.state.iam.roles.get(roleName);
    expect(role?.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/${roleName}`);
    expect(JSON.parse(role?.assumeRolePolicyDocument ?? '{}')).toEqual(result.plan.trustPolicy);
    expect(JSON.parse(role?.inlinePolicies.get('docker-image-builder-codebuild') ?? '{}')).toEqual(
      result.plan.rolePolicy,
    );
    const project = aws.state.projects.get('pytorch-fsdp');
    expect(project?.serviceRole).toBe(role?.arn);
    expect(project?.environment).toMatchObject({
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/standard:7.0',
      computeType: 'BUILD_GENERAL1_MEDIUM',
      privilegedMode: true,
    });
    expect(project?.source?.type).toBe('NO_SOURCE');
    expect(aws.s3?.bucketConfig.get(bucket)?.encryption?.sseAlgorithm).toBe('AES256');
  });

  it('a second run finds the same resources and changes nothing', async () => {
    const mutations = mutatingCalls();
    const out: string[] = [];
    const { result } = await setupCodebuildCommand(OPTIONS, {
      clients: () => createAwsClients({ region: REGION }),
      out: (t) => out.push(t),
    });
    expect(result?.created).toEqual([]);
    expect(result?.updated).toEqual([]);
    expect(result?.found).toHaveLength(4);
    expect(mutatingCalls()).toBe(mutations);
    expect(out.join('\n')).toMatch(/found {4}codebuild-project pytorch-fsdp/);
  });

  it('rewrites a policy that drifted, and adds ECR push with the repository when asked', async () => {
    const roleName = 'docker-image-builder-codebuild-pytorch-fsdp';
    aws.state.iam.roles
      .get(roleName)
      ?.inlinePolicies.set('docker-image-builder-codebuild', '{"Version":"2012-10-17","Statement":[]}');
    const drift = await runSetup(planSetup(OPTIONS), clients, { propagation: PROPAGATION });
    expect(drift.updated).toEqual([`iam-role-policy ${roleName}/docker-image-builder-codebuild`]);

    const withEcr = await runSetup(planSetup({ ...OPTIONS, ecr: true, ecrRepositories: ['fsdp'] }), clients, {
      propagation: PROPAGATION,
    });
    expect(withEcr.created).toEqual(['ecr-repository fsdp']);
    expect(withEcr.updated).toEqual([`iam-role-policy ${roleName}/docker-image-builder-codebuild`]);
    expect(aws.state.ecr.repositories.get('fsdp')?.scanOnPush).toBe(true);
    const policy = JSON.parse(
      aws.state.iam.roles.get(roleName)?.inlinePolicies.get('docker-image-builder-codebuild') ?? '{}',
    ) as {
      Statement: { Sid: string; Resource: unknown }[];
    };
    expect(policy.Statement.find((s) => s.Sid === 'EcrPush')?.Resource).toEqual([
      `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/fsdp`,
    ]);
    const again = await runSetup(planSetup({ ...OPTIONS, ecr: true, ecrRepositories: ['fsdp'] }), clients);
    expect(again.created).toEqual([]);
    expect(again.found).toContain('ecr-repository fsdp');
  });

  it('reports an existing project that differs, without changing it', async () => {
    aws.state.codebuild.addProject({
      name: 'theirs',
      serviceRole: 'arn:aws:iam::123456789012:role/someone-elses',
      environment: { computeType: 'BUILD_GENERAL1_SMALL', privilegedMode: false },
    });
    const result = await runSetup(planSetup({ project: 'theirs', region: REGION }), clients, {
      propagation: PROPAGATION,
    });
    expect(result.found).toContain('codebuild-project theirs');
    expect(result.notes.join('\n')).toMatch(/BUILD_GENERAL1_SMALL, not BUILD_GENERAL1_MEDIUM/);
    expect(result.notes.join('\n')).toMatch(/privileged mode off/);
    expect(aws.state.projects.get('theirs')?.environment?.computeType).toBe('BUILD_GENERAL1_SMALL');
  });

  it('gives up on IAM propagation after its attempts with a clear error', async () => {
    const error = await runSetup(planSetup({ project: 'impatient', region: REGION }), clients, {
      propagation: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectedFailure);
    expect((error as ExpectedFailure).message).toContain('not authorized to perform: sts:AssumeRole');
    expect((error as ExpectedFailure).nextStep).toContain('again in a minute');
  });

  it('a hung STS endpoint fails within the client timeout', async () => {
    aws.faults.add({ service: 'sts', operation: 'GetCallerIdentity', kind: 'slow', delayMs: 20_000, times: 100 });
    const hung = createAwsClients({ region: REGION, requestTimeoutMs: 400 });
    const started = Date.now();
    try {
      const error = await runSetup(planSetup(OPTIONS), hung).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExpectedFailure);
      expect((error as ExpectedFailure).kind).toBe('aws-unreachable');
      expect((error as ExpectedFailure).message).toContain('STS GetCallerIdentity');
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      hung.destroy();
      aws.faults.clear();
    }
  });
});

describe.skipIf(skipWithoutDocker)('a project made by setup-codebuild builds (Docker)', () => {
  beforeAll(() => {
    if (dockerRequired && !dockerAvailable) throw new Error('DIB_REQUIRE_DOCKER=1 but no Docker daemon answers');
  });

  it('runs a real build on it', async () => {
    const dir = path.join(work, 'ctx');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), `FROM ${TEST_BASE_IMAGE}\nRUN echo built-by-setup-project\n`);
    const ref = `dib-cb-test/setup:${randomBytes(3).toString('hex')}`;
    const runner = new CodeBuildRunner({
      clients: (region) => createAwsClients({ region }),
      poll: { initialMs: 200, maxMs: 1_000, finalLogPollMs: 100 },
    });
    const request: BuildRequest = {
      contextDir: dir,
      dockerfile: 'Dockerfile',
      imageRef: ref,
      autoFix: false,
      fixBeforeBuild: false,
      smokeTest: false,
      smokeCommands: [],
      maxAttempts: 1,
      useSudo: false,
      buildArgs: {},
      noCache: false,
      pull: false,
      labels: {},
      writeFixes: false,
      timeoutSeconds: 3600,
    };
    try {
      const outcome = await runner.runAttempt(
        request,
        {
          attempt: 1,
          contextDir: dir,
          dockerfilePath: path.join(dir, 'Dockerfile'),
          logFile: path.join(work, 'setup-build.log'),
          signal: new AbortController().signal,
          onEvent: () => undefined,
        },
        { project: 'pytorch-fsdp', region: REGION },
      );
      expect(outcome.errorMessage).toBeUndefined();
      expect(outcome.success).toBe(true);
      expect(outcome.costEstimate?.per_minute_usd).toBe(0.01);
      expect(outcome.upload?.bucket).toBe(`docker-image-builder-${ACCOUNT}-${REGION}`);
    } finally {
      runner.destroy();
      try {
        execFileSync('docker', ['image', 'rm', '-f', ref], { stdio: 'pipe' });
      } catch {
        // not built
      }
    }
  });
});
