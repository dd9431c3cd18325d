/**
 * CodeBuildRunner against the local AWS emulator through the real AWS SDK, configured only by the standard
 * AWS_ENDPOINT_URL_* variables (no test-only code path). The emulator's builds really run the generated buildspec,
 * and `docker` in it uses the local engine, so a successful build leaves the image here.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptInput, BuildRequest } from '../../src/build-model/attempt.js';
import { createAwsClients } from '../../src/codebuild/clients.js';
import { CodeBuildRunner, type PhaseProgress } from '../../src/codebuild/codebuild-runner.js';
import type { BuildEvent } from '../../src/build-model/events.js';
import { diagnoseBuildLog } from '../../src/diagnosis/diagnose.js';
import { ExpectedFailure, InputError } from '../../src/util/errors.js';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';
import {
  TEST_BASE_IMAGE,
  TEST_PIP_IMAGE,
  TEST_TORCH_IMAGE,
  dockerAvailable,
  dockerRequired,
  skipWithoutDocker,
} from '../support/docker.js';

const REGION = 'us-west-2';
const PROJECT = 'dib-runner';
const RUN = randomBytes(3).toString('hex');
const FAST_POLL = { initialMs: 200, maxMs: 1_000, finalLogPollMs: 100 };

let aws: AwsEmulatorHandle;
let work: string;
let runner: CodeBuildRunner;
const saved: Record<string, string | undefined> = {};
const images: string[] = [];

function setEnv(env: Record<string, string>): void {
  for (const [key, value] of Object.entries(env)) {
    if (!(key in saved)) saved[key] = process.env[key];
    process.env[key] = value;
  }
}

beforeAll(async () => {
  aws = await startAwsEmulator({
    projects: [{ name: PROJECT, environment: { computeType: 'BUILD_GENERAL1_MEDIUM', privilegedMode: false } }],
    timing: { queuedMs: 20, provisioningMs: 20 },
  });
  setEnv(aws.env);
  runner = new CodeBuildRunner({ clients: (region) => createAwsClients({ region }), poll: FAST_POLL });
  work = await mkdtemp(path.join(tmpdir(), 'dib-cb-runner-'));
});

afterAll(async () => {
  runner?.destroy();
  await aws?.stop();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (work) await rm(work, { recursive: true, force: true });
  if (images.length > 0 && dockerAvailable) {
    try {
      execFileSync('docker', ['image', 'rm', '-f', ...images], { stdio: 'pipe' });
    } catch {
      // some were never built
    }
  }
});

async function context(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(work, name);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return dir;
}

function imageRef(name: string): string {
  const ref = `dib-cb-test/${name}:${RUN}`;
  images.push(ref);
  return ref;
}

function request(contextDir: string, ref: string, overrides: Partial<BuildRequest> = {}): BuildRequest {
  return {
    contextDir,
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
    timeoutSeconds: 600,
    ...overrides,
  };
}

function attempt(contextDir: string, name: string, overrides: Partial<AttemptInput> = {}) {
  const events: BuildEvent[] = [];
  const input: AttemptInput = {
    attempt: 1,
    contextDir,
    dockerfilePath: path.join(contextDir, 'Dockerfile'),
    logFile: path.join(work, 'logs', `${name}.log`),
    signal: new AbortController().signal,
    onEvent: (event) => events.push(event),
    ...overrides,
  };
  return { input, events };
}

function imageExists(ref: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', ref], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('CodeBuild runner, no Docker needed', () => {
  it('refuses a missing project with the seed message and the setup command, before uploading', async () => {
    const dir = await context('missing-project', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` });
    const { input } = attempt(dir, 'missing-project');
    const puts = aws.count('s3', 'PutObject');
    const error = await runner
      .runAttempt(request(dir, imageRef('missing')), input, { project: 'pytorch-fsdp', region: REGION })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('CodeBuild project not found: pytorch-fsdp');
    expect((error as InputError).message).toContain(
      'docker-image-builder setup-codebuild --project-name pytorch-fsdp --region us-west-2',
    );
    expect(aws.count('s3', 'PutObject')).toBe(puts);
    expect(aws.count('codebuild', 'StartBuild')).toBe(0);
    expect(await readFile(input.logFile, 'utf8')).toContain('CodeBuild project not found');
    const check = await runner.checkProject('pytorch-fsdp', REGION);
    expect(check).toMatchObject({ exists: false, name: 'pytorch-fsdp', region: REGION });
    expect((await runner.checkProject(PROJECT, REGION)).computeType).toBe('BUILD_GENERAL1_MEDIUM');
  });

  it('reports a CodeBuild-side failure (DOWNLOAD_SOURCE) with the phase message', async () => {
    const dir = await context('download-fails', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` });
    aws.faults.failNextBuild({ phase: 'DOWNLOAD_SOURCE', message: 'AccessDenied: Access Denied for primary source' });
    const { input } = attempt(dir, 'download-fails');
    const outcome = await runner.runAttempt(request(dir, imageRef('download')), input, {
      project: PROJECT,
      region: REGION,
    });
    expect(outcome).toMatchObject({ success: false, cancelled: false, imageBuilt: false, codebuildStatus: 'FAILED' });
    expect(outcome.errorMessage).toContain('CodeBuild phase DOWNLOAD_SOURCE FAILED');
    expect(outcome.errorMessage).toContain('AccessDenied');
    expect(outcome.errorMessage).toContain('service role may read s3://docker-image-builder-123456789012-us-west-2');
    expect(outcome.failedStep).toBeUndefined();
  });

  it('reports CodeBuild timeouts as timed out', async () => {
    const dir = await context('times-out', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` });
    aws.faults.failNextBuild({ phase: 'BUILD', status: 'TIMED_OUT' });
    const { input, events } = attempt(dir, 'times-out');
    const outcome = await runner.runAttempt(request(dir, imageRef('timeout'), { timeoutSeconds: 900 }), input, {
      project: PROJECT,
      region: REGION,
    });
    expect(outcome).toMatchObject({ success: false, timedOut: true, codebuildStatus: 'TIMED_OUT' });
    expect(outcome.errorMessage).toContain('timeout of 15 minutes');
    expect(aws.state.builds.get(outcome.codebuildBuildId ?? '')?.timeoutInMinutes).toBe(15);
    expect(events.at(-1)).toMatchObject({ type: 'build-finished', timedOut: true });
  });

  it('cancel while queued: StopBuild, and the build ends STOPPED within seconds', async () => {
    const slow = await startAwsEmulator({
      projects: [{ name: PROJECT }],
      timing: { queuedMs: 60_000, provisioningMs: 20 },
    });
    const before = { ...process.env };
    setEnv(slow.env);
    const local = new CodeBuildRunner({ clients: (region) => createAwsClients({ region }), poll: FAST_POLL });
    try {
      const dir = await context('cancel-queued', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` });
      const controller = new AbortController();
      const phases: PhaseProgress[] = [];
      const { input } = attempt(dir, 'cancel-queued', { signal: controller.signal });
      let abortedAt = 0;
      const running = local.runAttempt(request(dir, imageRef('cancel-queued')), input, {
        project: PROJECT,
        region: REGION,
        onPhase: (p) => {
          phases.push(p);
          if (p.phase === 'QUEUED') {
            abortedAt = Date.now();
            controller.abort(new Error('cancelled'));
          }
        },
      });
      const outcome = await running;
      const latency = Date.now() - abortedAt;
      expect(outcome).toMatchObject({ success: false, cancelled: true, codebuildStatus: 'STOPPED' });
      expect(slow.count('codebuild', 'StopBuild')).toBe(1);
      expect(latency).toBeLessThan(5_000);
      const build = slow.state.builds.get(outcome.codebuildBuildId ?? '');
      expect(build?.buildStatus).toBe('STOPPED');
      console.log(`cancel while queued: returned ${latency} ms after the abort`);
    } finally {
      local.destroy();
      await slow.stop();
      for (const key of Object.keys(slow.env)) {
        if (before[key] === undefined) delete process.env[key];
        else process.env[key] = before[key];
      }
    }
  });

  it('a hung endpoint fails within the client timeout instead of hanging', async () => {
    aws.faults.add({ service: 'codebuild', operation: 'BatchGetProjects', kind: 'slow', delayMs: 20_000, times: 100 });
    try {
      const perRequest = new CodeBuildRunner({
        clients: (region) => createAwsClients({ region, requestTimeoutMs: 500 }),
      });
      let started = Date.now();
      const first = await perRequest.checkProject(PROJECT, REGION).catch((e: unknown) => e);
      const perRequestMs = Date.now() - started;
      expect(first).toBeInstanceOf(ExpectedFailure);
      expect((first as ExpectedFailure).message).toContain(
        'BatchGetProjects: the AWS endpoint did not answer (TimeoutError',
      );
      expect(perRequestMs).toBeLessThan(8_000); // 5 attempts of 0.5 s plus the SDK's backoff
      perRequest.destroy();

      const perCall = new CodeBuildRunner({ clients: (region) => createAwsClients({ region }), callTimeoutMs: 1_500 });
      started = Date.now();
      const second = await perCall.checkProject(PROJECT, REGION).catch((e: unknown) => e);
      const perCallMs = Date.now() - started;
      expect(second).toBeInstanceOf(ExpectedFailure);
      expect((second as ExpectedFailure).message).toContain('an AWS call did not complete within 1.5 s');
      expect(perCallMs).toBeLessThan(3_000);
      perCall.destroy();
      console.log(
        `hung endpoint: ${perRequestMs} ms (0.5 s request timeout, 5 attempts), ${perCallMs} ms (1.5 s call deadline)`,
      );
    } finally {
      aws.faults.clear();
    }
  });
});

describe.skipIf(skipWithoutDocker)('CodeBuild runner, real builds (Docker)', () => {
  beforeAll(() => {
    if (dockerRequired && !dockerAvailable) throw new Error('DIB_REQUIRE_DOCKER=1 but no Docker daemon answers');
  });

  it('builds a tiny context: events, log file, smoke command, the image exists afterwards', async () => {
    const dir = await context('ok', {
      Dockerfile: `FROM ${TEST_BASE_IMAGE}\nARG GREETING\nRUN echo "$GREETING" > /greeting\nCOPY a.txt /a.txt\n`,
      'a.txt': 'a\n',
    });
    const ref = imageRef('ok');
    const { input, events } = attempt(dir, 'ok');
    const phases: string[] = [];
    const started = Date.now();
    const outcome = await runner.runAttempt(
      request(dir, ref, {
        smokeTest: true,
        smokeCommands: ['grep -q "hello; $(rm -rf /)" /greeting'],
        buildArgs: { GREETING: 'hello; $(rm -rf /)' },
        labels: { 'dib.test': "it's" },
      }),
      input,
      { project: PROJECT, region: REGION, onPhase: (p) => phases.push(p.phase) },
    );
    const elapsed = Date.now() - started;
    console.log(`emulated CodeBuild build (tiny context, legacy builder here): ${elapsed} ms`);
    expect(outcome.errorMessage).toBeUndefined();
    expect(outcome).toMatchObject({ success: true, cancelled: false, imageBuilt: true, codebuildStatus: 'SUCCEEDED' });
    expect(outcome.codebuildBuildId).toMatch(new RegExp(`^${PROJECT}:[0-9a-f-]{36}$`));
    expect(outcome.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(outcome.smoke?.passed).toBe(true);
    expect(outcome.smoke?.checks.map((c) => [c.name, c.status])).toEqual([
      ['container-starts', 'passed'],
      ['command-1', 'passed'],
    ]);
    expect(outcome.upload?.uploaded).toBe(true);
    expect(imageExists(ref)).toBe(true);
    const inspected = JSON.parse(execFileSync('docker', ['image', 'inspect', ref], { encoding: 'utf8' })) as [
      { Id: string; Config: { Labels: Record<string, string> } },
    ];
    expect(inspected[0].Id).toBe(outcome.imageId);
    expect(inspected[0].Config.Labels['dib.test']).toBe("it's");

    const types = events.map((e) => e.type);
    expect(events[0]).toMatchObject({ type: 'build-started', builder: 'codebuild', imageRef: ref });
    expect(events.find((e) => e.type === 'warning')).toMatchObject({
      message: expect.stringContaining('CodeBuild bills this build') as unknown,
    });
    const steps = events.filter((e) => e.type === 'step-started');
    // The legacy builder (no buildx here) numbers ARG and adds a step for --label; BuildKit would not.
    const instructions = steps.map((e) => (e as { instruction: string }).instruction);
    expect(instructions.filter((i) => !i.startsWith('LABEL') && !i.startsWith('ARG'))).toEqual([
      `FROM ${TEST_BASE_IMAGE}`,
      'RUN echo "$GREETING" > /greeting',
      'COPY a.txt /a.txt',
    ]);
    const lines = steps.map((e) => (e as { dockerfileLine?: number }).dockerfileLine).filter((l) => l !== undefined);
    expect(lines.filter((l) => l !== 2)).toEqual([1, 3, 4]);
    expect(types.filter((t) => t === 'step-done' || t === 'step-cached')).toHaveLength(steps.length);
    expect(types).toContain('image-built');
    expect(events.at(-1)).toMatchObject({ type: 'build-finished', success: true });
    expect(phases).toEqual(expect.arrayContaining(['DOWNLOAD_SOURCE', 'BUILD', 'POST_BUILD', 'COMPLETED']));

    const log = await readFile(input.logFile, 'utf8');
    expect(log).toMatch(/Step \d\/\d : RUN echo "\$GREETING" > \/greeting\n/);
    expect(log).toContain('Successfully tagged');
    expect(log).toContain("Running command : 'docker-image-builder: docker build'");
    // Every log line is an event too; the cost warning is a `warning` event (and a line of the file).
    const logLines = events.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line);
    expect(logLines).toEqual(
      log
        .trimEnd()
        .split('\n')
        .filter((line) => !line.startsWith('[docker-image-builder] warning:')),
    );
    expect(aws.state.builds.get(outcome.codebuildBuildId ?? '')?.privilegedMode).toBe(true);
  });

  it('does not upload an unchanged context twice', async () => {
    const dir = await context('same', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\nCOPY x /x\n`, x: 'same bytes' });
    const ref = imageRef('same');
    const first = await runner.runAttempt(request(dir, ref), attempt(dir, 'same-1').input, {
      project: PROJECT,
      region: REGION,
    });
    expect(first.success).toBe(true);
    expect(first.upload?.uploaded).toBe(true);
    const puts = aws.count('s3', 'PutObject') + aws.count('s3', 'CreateMultipartUpload');
    const heads = aws.count('s3', 'HeadObject');
    const second = await runner.runAttempt(request(dir, ref), attempt(dir, 'same-2').input, {
      project: PROJECT,
      region: REGION,
    });
    expect(second.success).toBe(true);
    expect(second.upload).toMatchObject({ uploaded: false, key: first.upload?.key });
    expect(aws.count('s3', 'PutObject') + aws.count('s3', 'CreateMultipartUpload')).toBe(puts);
    expect(aws.count('s3', 'HeadObject')).toBe(heads + 1);
    expect(await readFile(path.join(work, 'logs', 'same-2.log'), 'utf8')).toContain('the context is unchanged');
  });

  it('a failing RUN step gives success:false with the step and its Dockerfile line, diagnosable from the log', async () => {
    const dir = await context('runfail', {
      Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo first step\nRUN echo about to fail && \\\n    ls /nonexistent\nRUN echo never\n`,
    });
    const { input, events } = attempt(dir, 'runfail');
    const outcome = await runner.runAttempt(request(dir, imageRef('runfail')), input, {
      project: PROJECT,
      region: REGION,
    });
    expect(outcome).toMatchObject({ success: false, cancelled: false, imageBuilt: false, codebuildStatus: 'FAILED' });
    expect(outcome.failedStep).toEqual({
      instruction: 'RUN echo about to fail &&     ls /nonexistent',
      dockerfileLine: 3,
    });
    expect(outcome.errorMessage).toMatch(/returned a non-zero code: 2/);
    expect(events.find((e) => e.type === 'step-failed')).toMatchObject({ step: 3, dockerfileLine: 3, exitCode: 2 });
    const diagnoses = diagnoseBuildLog(await readFile(input.logFile, 'utf8'), {
      dockerfileText: await readFile(path.join(dir, 'Dockerfile'), 'utf8'),
      ...(outcome.failedStep?.dockerfileLine === undefined
        ? {}
        : { failedDockerfileLine: outcome.failedStep.dockerfileLine }),
    });
    expect(diagnoses[0]?.dockerfileLine).toBe(3);
    expect(diagnoses[0]?.excerpt).toContain('/nonexistent');
  });

  it('cancel during docker build: StopBuild, STOPPED within seconds, no step blamed', async () => {
    const dir = await context('cancel-running', {
      Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo sleeping && sleep 60\n`,
    });
    const controller = new AbortController();
    let abortedAt = 0;
    const { input, events } = attempt(dir, 'cancel-running', {
      signal: controller.signal,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'log' && event.line.includes('sleeping') && abortedAt === 0) {
          abortedAt = Date.now();
          controller.abort(new Error('cancelled'));
        }
      },
    });
    const outcome = await runner.runAttempt(request(dir, imageRef('cancel-running'), { noCache: true }), input, {
      project: PROJECT,
      region: REGION,
    });
    const latency = Date.now() - abortedAt;
    console.log(`cancel during docker build: returned ${latency} ms after the abort`);
    expect(abortedAt).toBeGreaterThan(0);
    expect(outcome).toMatchObject({ success: false, cancelled: true, codebuildStatus: 'STOPPED' });
    expect(outcome.failedStep).toBeUndefined();
    expect(events.some((e) => e.type === 'step-failed')).toBe(false);
    expect(latency).toBeLessThan(10_000);
    const build = await aws.waitForBuild(outcome.codebuildBuildId ?? '', 15_000);
    expect(build.buildStatus).toBe('STOPPED');
    expect(aws.count('codebuild', 'StopBuild')).toBeGreaterThanOrEqual(1);
  });

  it('retries a throttled (twice) and failing (5xx) StartBuild and starts exactly one build', async () => {
    const dir = await context('throttled', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN true\n` });
    aws.faults.add({ service: 'codebuild', operation: 'StartBuild', kind: 'throttle', times: 2 });
    aws.faults.add({ service: 'codebuild', operation: 'StartBuild', kind: '5xx', times: 1 });
    const starts = aws.count('codebuild', 'StartBuild');
    const builds = aws.state.builds.size;
    const outcome = await runner.runAttempt(request(dir, imageRef('throttled')), attempt(dir, 'throttled').input, {
      project: PROJECT,
      region: REGION,
    });
    expect(outcome.success).toBe(true);
    expect(aws.count('codebuild', 'StartBuild') - starts).toBe(4);
    expect(aws.state.builds.size - builds).toBe(1);
  });

  it('builds a fixed Dockerfile from outside the context, keeping .dockerignore and out of COPY', async () => {
    const dir = await context('fixed', {
      Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN exit 1\n`,
      '.dockerignore': 'secret.txt\n',
      'keep.txt': 'keep',
      'secret.txt': 'secret',
    });
    const fixed = path.join(work, 'fixed-work', 'Dockerfile');
    await mkdir(path.dirname(fixed), { recursive: true });
    await writeFile(
      fixed,
      `FROM ${TEST_BASE_IMAGE}\nCOPY . /ctx\nRUN test -f /ctx/keep.txt && test ! -e /ctx/secret.txt && ` +
        'test ! -e /ctx/Dockerfile.dib-fixed && test ! -e /ctx/Dockerfile.dib-fixed.dockerignore\n',
    );
    const { input } = attempt(dir, 'fixed', { dockerfilePath: fixed });
    const outcome = await runner.runAttempt(request(dir, imageRef('fixed')), input, {
      project: PROJECT,
      region: REGION,
    });
    expect(outcome.errorMessage).toBeUndefined();
    expect(outcome.success).toBe(true);
    expect(aws.state.builds.get(outcome.codebuildBuildId ?? '')?.buildspecText).toContain('-f Dockerfile.dib-fixed');
  });

  it('runs the PyTorch probe in the build container (torch image) and skips it without torch', async () => {
    const torch = await context('torch', { Dockerfile: `FROM ${TEST_TORCH_IMAGE}\n` });
    const withTorch = await runner.runAttempt(
      request(torch, imageRef('torch'), { smokeTest: true }),
      attempt(torch, 'torch').input,
      { project: PROJECT, region: REGION },
    );
    const detail = (o: typeof withTorch) => JSON.stringify({ error: o.errorMessage, smoke: o.smoke, log: o.logFile });
    expect(withTorch.success, detail(withTorch)).toBe(true);
    expect(withTorch.smoke?.passed, detail(withTorch)).toBe(true);
    expect(withTorch.smoke?.torch_version).toMatch(/^\d+\.\d+/);
    const checks = Object.fromEntries((withTorch.smoke?.checks ?? []).map((c) => [c.name, c.status]));
    expect(checks['torch-import']).toBe('passed');
    expect(checks['fsdp-import']).toBe('passed');
    expect(checks['tensor-op']).toBe('passed');
    expect(Object.keys(checks)).not.toContain('cuda-available');

    const pip = await context('pip', { Dockerfile: `FROM ${TEST_PIP_IMAGE}\n` });
    const noTorch = await runner.runAttempt(
      request(pip, imageRef('pip'), { smokeTest: true, smokeCommands: ['python3 --version', 'exit 3'] }),
      attempt(pip, 'pip').input,
      { project: PROJECT, region: REGION },
    );
    // The image built; the failing smoke command is reported as a smoke failure (as a local smoke test would be).
    expect(noTorch, detail(noTorch)).toMatchObject({ success: true, imageBuilt: true, codebuildStatus: 'FAILED' });
    expect(noTorch.smoke?.passed).toBe(false);
    expect(noTorch.smoke?.notes.join(' ')).toContain('torch is not installed');
    expect(noTorch.smoke?.checks.map((c) => [c.name, c.status])).toEqual([
      ['container-starts', 'passed'],
      ['command-1', 'passed'],
      ['command-2', 'failed'],
    ]);
  });

  it('no_wait: startDetached returns the id at once; status (polled to the end) and logTail work on it', async () => {
    const dir = await context('detached', { Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo detached\n` });
    const launch = await runner.startDetached(
      request(dir, imageRef('detached')),
      { contextDir: dir, dockerfilePath: path.join(dir, 'Dockerfile') },
      { project: PROJECT, region: REGION },
    );
    expect(launch.codebuildBuildId).toMatch(new RegExp(`^${PROJECT}:`));
    expect(launch.consoleUrl).toContain(encodeURIComponent(launch.codebuildBuildId));
    expect(aws.state.builds.get(launch.codebuildBuildId)?.buildComplete).toBe(false);
    // The CLI's `status` is how a detached build is followed: poll until CodeBuild says it is complete.
    let status = await runner.status(launch.codebuildBuildId, REGION);
    for (let i = 0; i < 600 && !status.complete; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await runner.status(launch.codebuildBuildId, REGION);
    }
    expect(status).toMatchObject({ status: 'SUCCEEDED', complete: true, currentPhase: 'COMPLETED' });
    expect(status.phases.map((p) => p.phase)).toContain('BUILD');
    expect(status.logGroup).toBe(`/aws/codebuild/${PROJECT}`);
    const tail = await runner.logTail(launch.codebuildBuildId, 5, REGION);
    expect(tail).toHaveLength(5);
    expect(tail.join('\n')).toContain('UPLOAD_ARTIFACTS');
  });
});
