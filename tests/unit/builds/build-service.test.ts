/** The attempt loop (BuildService) with fake ports and a record store on a temp dir: no Docker, no analyser. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AttemptInput,
  AttemptOutcome,
  BuildPorts,
  BuildRequest,
  FailurePlan,
  PreparedSources,
} from '../../../src/build-model/attempt.js';
import type { BuildError, BuildRecord } from '../../../src/build-model/record-schema.js';
import type { SmokeResult } from '../../../src/build-model/smoke-schema.js';
import { BuildService } from '../../../src/builds/build-service.js';
import { BuildRecordStore } from '../../../src/builds/record-store.js';
import { stateDirFailure } from '../../../src/builds/record-problems.js';
import { smokeResult } from '../../support/fake-builds.js';

const BUILD_ID = 'local-20261201T000000-abc123';

function request(overrides: Partial<BuildRequest> = {}): BuildRequest {
  return {
    contextDir: '/ctx',
    dockerfile: 'Dockerfile',
    imageRef: 'demo:latest',
    autoFix: true,
    fixBeforeBuild: true,
    smokeTest: false,
    smokeCommands: [],
    maxAttempts: 3,
    useSudo: false,
    buildArgs: {},
    noCache: false,
    pull: false,
    labels: {},
    writeFixes: false,
    timeoutSeconds: 60,
    ...overrides,
  };
}

const original: PreparedSources = { contextDir: '/ctx', dockerfilePath: '/ctx/Dockerfile', fixedTexts: {} };
const fixedSources = (n: number): PreparedSources => ({
  contextDir: '/ctx',
  dockerfilePath: `/work/fixed-${n}/Dockerfile`,
  fixedTexts: { Dockerfile: `FROM fixed ${n}\n` },
});
const fix = (n: number) => ({
  what: `fix ${n}`,
  where: 'Dockerfile:2',
  why: 'the log said so',
  source: 'diagnosis' as const,
});

type Attempt = (input: AttemptInput) => Promise<Partial<AttemptOutcome>>;
const succeeds: Attempt = async () => ({ success: true, imageId: 'sha256:built' });
const fails: Attempt = async () => ({ success: false, errorMessage: 'exit code: 1' });
/** An attempt that runs until its signal aborts, as docker build does when killed. */
const runsUntilAborted: Attempt = (input) =>
  new Promise((resolve) => {
    const stop = () => resolve({ success: false, cancelled: true });
    if (input.signal.aborted) stop();
    else input.signal.addEventListener('abort', stop, { once: true });
  });

/** Ports that record every call in order and answer from a per-attempt script. */
class FakePorts implements BuildPorts {
  readonly calls: string[] = [];
  readonly inputs: AttemptInput[] = [];
  written: PreparedSources[] = [];
  /** Whether a failure is understood and fixable (a retry is planned). */
  fixable = true;
  smoke: SmokeResult = smokeResult('demo:latest');
  attemptStarted?: () => void;

  constructor(private readonly attempts: Attempt[]) {}

  async prepare(_request: BuildRequest, _workDir: string) {
    this.calls.push('prepare');
    return { prepared: original, fixes: [] };
  }

  async runAttempt(_request: BuildRequest, input: AttemptInput): Promise<AttemptOutcome> {
    this.calls.push(`runAttempt ${input.attempt}`);
    this.inputs.push(input);
    input.onEvent({ type: 'step-started', step: 1, instruction: 'RUN true', completedSteps: 0, totalSteps: 1 });
    this.attemptStarted?.();
    const script = this.attempts[input.attempt - 1] ?? fails;
    const outcome = await script(input);
    return { success: false, cancelled: false, builder: 'buildkit', logFile: input.logFile, ...outcome };
  }

  async planAfterFailure(
    _request: BuildRequest,
    outcome: AttemptOutcome,
    _prepared: PreparedSources,
    _workDir: string,
  ): Promise<FailurePlan> {
    const attempt = this.inputs.length;
    this.calls.push(`planAfterFailure ${attempt}`);
    const error = {
      kind: 'pip-resolution-impossible',
      summary: `attempt ${attempt} failed: ${outcome.errorMessage}`,
      excerpt: 'ResolutionImpossible',
      next_step: 'Pin torchvision to the release that matches torch.',
    };
    return this.fixable ? { error, retry: { fixes: [fix(attempt)], prepared: fixedSources(attempt) } } : { error };
  }

  /** Per-platform smoke results, for builds of several platforms (default: `smoke`). */
  smokeByPlatform: Record<string, SmokeResult> = {};

  async smokeTest(
    _request: BuildRequest,
    imageRef: string,
    _signal: AbortSignal,
    platform?: string,
  ): Promise<SmokeResult> {
    this.calls.push(`smokeTest ${imageRef}${platform ? ` as ${platform}` : ''}`);
    return (platform && this.smokeByPlatform[platform]) || this.smoke;
  }

  async imageInfo(_imageRef: string) {
    this.calls.push('imageInfo');
    return { id: 'sha256:inspected', sizeBytes: 1234 };
  }

  pushError?: BuildError;

  async push(request: BuildRequest, _workDir: string, _signal: AbortSignal) {
    this.calls.push(`push ${request.imageRef}`);
    const digest = 'sha256:' + 'ab'.repeat(32);
    const push = this.pushError
      ? { ref: request.imageRef, pushed: false }
      : { ref: request.imageRef, pushed: true, digest };
    return { push, log: 'v1: digest: ' + digest, ...(this.pushError ? { error: this.pushError } : {}) };
  }

  async writeFixes(_request: BuildRequest, prepared: PreparedSources) {
    this.calls.push('writeFixes');
    this.written.push(prepared);
    return [{ file: 'Dockerfile', backup: 'Dockerfile.bak' }];
  }
}

let stateDir: string;
let store: BuildRecordStore;
let service: BuildService;

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'dib-build-service-'));
  store = new BuildRecordStore(stateDir);
  service = new BuildService({ store });
});
afterEach(async () => {
  await service.cancelAll();
  await rm(stateDir, { recursive: true, force: true });
});

async function run(ports: FakePorts, overrides: Partial<BuildRequest> = {}): Promise<BuildRecord> {
  await service.start(BUILD_ID, request(overrides), { mode: 'local', ports });
  const record = await service.waitForEnd(BUILD_ID, 10_000);
  if (!record) throw new Error('no record');
  return record;
}

describe('BuildService attempt loop', () => {
  it('retries after a fix with the fixed sources and succeeds, keeping the record on disk', async () => {
    const ports = new FakePorts([fails, succeeds]);
    const record = await run(ports);
    expect(record).toMatchObject({ status: 'succeeded', phase: 'finished', attempt: 2, image_id: 'sha256:built' });
    expect(record.attempts.map((a) => a.success)).toEqual([false, true]);
    expect(record.attempts[0]?.diagnosis).toMatch(/attempt 1 failed/);
    expect(record.fixes_applied).toEqual([{ ...fix(1), attempt: 2 }]);
    expect(record.fixed_dockerfile).toBe(fixedSources(1).dockerfilePath);
    expect(ports.inputs.map((input) => input.dockerfilePath)).toEqual([
      original.dockerfilePath,
      fixedSources(1).dockerfilePath,
    ]);
    expect(ports.calls).toEqual(['prepare', 'runAttempt 1', 'planAfterFailure 1', 'runAttempt 2', 'imageInfo']);
    expect(await store.load(BUILD_ID)).toEqual(record);
    expect(service.isActive(BUILD_ID)).toBe(false);
  });

  it('stops at max_attempts and says the limit was reached', async () => {
    const ports = new FakePorts([fails, fails, fails, fails]);
    const record = await run(ports, { maxAttempts: 2 });
    expect(record.status).toBe('failed');
    expect(record.attempt).toBe(2);
    expect(ports.calls.filter((call) => call.startsWith('runAttempt'))).toEqual(['runAttempt 1', 'runAttempt 2']);
    expect(record.error?.next_step).toMatch(/max_attempts 2 reached/);
  });

  it('does not retry when auto_fix is off, or when the failure is not understood', async () => {
    const noAutoFix = await run(new FakePorts([fails, succeeds]), { autoFix: false });
    expect(noAutoFix).toMatchObject({ status: 'failed', attempt: 1 });
    expect(noAutoFix.error?.next_step).toBe('Pin torchvision to the release that matches torch.');

    service = new BuildService({ store: new BuildRecordStore(path.join(stateDir, 'second')) });
    const ports = new FakePorts([fails, succeeds]);
    ports.fixable = false;
    const unfixable = await run(ports);
    expect(unfixable).toMatchObject({ status: 'failed', attempt: 1, error: { kind: 'pip-resolution-impossible' } });
  });

  it('cancels mid-attempt: the attempt sees the abort and the build ends cancelled', async () => {
    const ports = new FakePorts([runsUntilAborted]);
    const started = new Promise<void>((resolve) => (ports.attemptStarted = resolve));
    await service.start(BUILD_ID, request(), { mode: 'local', ports });
    await started;
    expect((await service.get(BUILD_ID))?.status).toBe('running');
    expect(await service.cancel(BUILD_ID)).toBe(true);
    const record = await service.get(BUILD_ID);
    expect(record).toMatchObject({ status: 'cancelled', phase: 'finished', error: { kind: 'cancelled' } });
    expect(ports.inputs[0]?.signal.aborted).toBe(true);
    expect(ports.calls).not.toContain('planAfterFailure 1');
    expect(service.isActive(BUILD_ID)).toBe(false);
    expect(await service.cancel(BUILD_ID)).toBe(false);
    expect((await store.load(BUILD_ID))?.status).toBe('cancelled');
  });

  it('fails a build stopped by a fault outside it with that fault, not as cancelled', async () => {
    const ports = new FakePorts([runsUntilAborted]);
    const started = new Promise<void>((resolve) => (ports.attemptStarted = resolve));
    await service.start(BUILD_ID, request(), { mode: 'local', ports });
    await started;
    const full = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    expect(await service.fail(BUILD_ID, stateDirFailure(stateDir, 'Writing the build events', full))).toBe(true);
    const record = await store.load(BUILD_ID);
    expect(record).toMatchObject({ status: 'failed', phase: 'finished', error: { kind: 'no-space' } });
    expect(record?.error?.next_step).toContain('DIB_STATE_DIR');
    expect(ports.inputs[0]?.signal.aborted).toBe(true);
  });

  it('stops a build that passes its timeout and says to raise it', async () => {
    const ports = new FakePorts([runsUntilAborted]);
    const record = await run(ports, { timeoutSeconds: 0.05 });
    expect(record.status).toBe('cancelled');
    expect(record.error).toMatchObject({ kind: 'timeout' });
    expect(record.error?.next_step).toMatch(/Raise timeout/);
  });

  it('writes fixes into the user files only after a successful attempt, with the sources that built', async () => {
    const ports = new FakePorts([fails, succeeds]);
    const record = await run(ports, { writeFixes: true });
    expect(record.status).toBe('succeeded');
    expect(ports.calls.indexOf('writeFixes')).toBeGreaterThan(ports.calls.indexOf('runAttempt 2'));
    expect(ports.written).toEqual([fixedSources(1)]);
    expect(record.written_fixes).toEqual([{ file: 'Dockerfile', backup: 'Dockerfile.bak' }]);
  });

  it('never writes fixes after a failed build, even with write_fixes', async () => {
    const ports = new FakePorts([fails, fails]);
    const record = await run(ports, { writeFixes: true, maxAttempts: 2 });
    expect(record.status).toBe('failed');
    expect(ports.calls).not.toContain('writeFixes');
    expect(record.written_fixes).toBeUndefined();
  });

  it('does not write fixes unless asked', async () => {
    const ports = new FakePorts([fails, succeeds]);
    await run(ports);
    expect(ports.calls).not.toContain('writeFixes');
  });

  it('fails a build whose image fails the smoke test, naming the failed checks', async () => {
    const ports = new FakePorts([succeeds]);
    ports.smoke = smokeResult('demo:latest', false);
    const record = await run(ports, { smokeTest: true });
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ kind: 'smoke-test-failed' });
    expect(record.error?.summary).toContain('torch-import');
    expect(record.smoke?.passed).toBe(false);
    // The image this attempt built, by id: another build may have moved the tag by now.
    expect(ports.calls.at(-1)).toBe('smokeTest sha256:built');
  });

  it('smoke-tests each platform of a per-platform build as its platform, and fails when one fails', async () => {
    const perPlatform: Attempt = async () => ({
      success: true,
      imageId: 'sha256:amd',
      platformBuild: {
        mode: 'per-platform',
        reason: 'the classic image store holds one platform per tag',
        images: [
          { platform: 'linux/amd64', imageRef: 'demo:latest-amd64', imageId: 'sha256:amd' },
          { platform: 'linux/arm64', imageRef: 'demo:latest-arm64', imageId: 'sha256:arm' },
        ],
      },
    });
    const ports = new FakePorts([perPlatform]);
    ports.smokeByPlatform = { 'linux/arm64': smokeResult('sha256:arm', false) };
    const record = await run(ports, { smokeTest: true, maxAttempts: 1 });
    expect(ports.calls.filter((call) => call.startsWith('smokeTest'))).toEqual([
      'smokeTest sha256:amd as linux/amd64',
      'smokeTest sha256:arm as linux/arm64',
    ]);
    expect(record.platform_build?.images).toEqual([
      { platform: 'linux/amd64', image_ref: 'demo:latest-amd64', image_id: 'sha256:amd', smoke_passed: true },
      {
        platform: 'linux/arm64',
        image_ref: 'demo:latest-arm64',
        image_id: 'sha256:arm',
        smoke_passed: false,
        smoke_failed_checks: ['torch-import'],
      },
    ]);
    expect(record.status).toBe('failed');
    expect(record.smoke?.passed).toBe(false);
    expect(record.smoke?.notes.at(-1)).toBe(
      'smoke test per platform: linux/amd64: passed; linux/arm64: failed (torch-import)',
    );
  });

  it('succeeds with the smoke result when the smoke test passes', async () => {
    const ports = new FakePorts([succeeds]);
    const record = await run(ports, { smokeTest: true });
    expect(record).toMatchObject({ status: 'succeeded', smoke: { passed: true } });
  });

  it('pushes after a passed smoke test and records the digest', async () => {
    const ports = new FakePorts([succeeds]);
    const record = await run(ports, { smokeTest: true, push: true, imageRef: 'r.example/demo:v1' });
    expect(record).toMatchObject({ status: 'succeeded', push: { ref: 'r.example/demo:v1', pushed: true } });
    expect(record.push?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The smoke test checks the image this attempt built (by id); the push names the tag the user asked for.
    expect(ports.calls.slice(-2)).toEqual(['smokeTest sha256:built', 'push r.example/demo:v1']);
  });

  it('never pushes an image that failed its smoke test, nor a build without push', async () => {
    const ports = new FakePorts([succeeds]);
    ports.smoke = smokeResult('demo:latest', false);
    ports.fixable = false;
    await run(ports, { smokeTest: true, push: true, autoFix: false });
    expect(ports.calls.some((call) => call.startsWith('push'))).toBe(false);
    const plain = new FakePorts([succeeds]);
    await service.cancelAll();
    service = new BuildService({ store });
    await rm(path.join(stateDir, BUILD_ID), { recursive: true, force: true });
    expect((await run(plain)).push).toBeUndefined();
    expect(plain.calls.some((call) => call.startsWith('push'))).toBe(false);
  });

  it('fails a build whose push fails, with the push error, and keeps what was built', async () => {
    const ports = new FakePorts([succeeds]);
    ports.pushError = { kind: 'push-failed', summary: 'no login', excerpt: '', next_step: 'docker login r.example' };
    const record = await run(ports, { push: true, imageRef: 'r.example/demo:v1' });
    expect(record).toMatchObject({
      status: 'failed',
      phase: 'finished',
      image_id: 'sha256:built',
      push: { pushed: false },
      error: { kind: 'push-failed', next_step: 'docker login r.example' },
    });
  });

  it('records a port that throws as an internal error instead of losing the build', async () => {
    const ports = new FakePorts([
      async () => {
        throw new Error('boom');
      },
    ]);
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      const record = await run(ports);
      expect(record).toMatchObject({ status: 'failed', error: { kind: 'internal-error', summary: 'boom' } });
    } finally {
      process.stderr.write = stderr;
    }
  });

  it('reports progress from step events on the live record', async () => {
    const ports = new FakePorts([runsUntilAborted]);
    const started = new Promise<void>((resolve) => (ports.attemptStarted = resolve));
    const events: string[] = [];
    service.events.on('event', (_id: string, event: { type: string }) => events.push(event.type));
    await service.start(BUILD_ID, request(), { mode: 'local', ports });
    await started;
    const live = await service.get(BUILD_ID);
    expect(live?.progress).toMatchObject({ steps_done: 0, steps_total: 1, message: 'attempt 1: RUN true' });
    expect(events).toEqual(['step-started']);
    await service.cancel(BUILD_ID);
  });
});
