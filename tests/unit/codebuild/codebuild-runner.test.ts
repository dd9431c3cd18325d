/**
 * The runner's follow loop (build-follow.ts, build-outcome.ts) against in-memory CodeBuild and CloudWatch Logs fakes
 * (the real SDK command objects, a scripted build), with an injected sleep and clock so polling runs instantly. Uploads, StartBuild and real builds
 * are covered by tests/integration/codebuild-runner.test.ts against the emulator.
 */
import {
  BatchGetBuildsCommand,
  BatchGetProjectsCommand,
  StopBuildCommand,
  type Build,
  type BuildPhase,
} from '@aws-sdk/client-codebuild';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateBuildspec } from '../../../src/codebuild/buildspec.js';
import type { AwsClients } from '../../../src/codebuild/clients.js';
import { followBuild, type FollowContext } from '../../../src/codebuild/build-follow.js';
import { attemptOutcome } from '../../../src/codebuild/build-outcome.js';
import { stopBuild } from '../../../src/codebuild/build-status.js';
import { accountFromArn } from '../../../src/codebuild/codebuild-ids.js';
import { CodeBuildIo } from '../../../src/codebuild/codebuild-io.js';
import {
  CodeBuildRunner,
  buildConsoleUrl,
  describePhase,
  messageLines,
  projectNotFoundError,
  type CodeBuildAttemptOutcome,
  type CodeBuildRunnerDeps,
  type PhaseProgress,
} from '../../../src/codebuild/codebuild-runner.js';
import { AttemptSink, LogProcessor } from '../../../src/codebuild/log-processor.js';
import type { BuildEvent } from '../../../src/build-model/events.js';
import { planBuildSteps } from '../../../src/docker/dockerfile-steps.js';
import { createOutputParser } from '../../../src/docker/output/output-parser.js';
import { InputError } from '../../../src/util/errors.js';
import { fixtureDockerfile, fixtureLines } from '../docker/fixture-logs.js';

const work = mkdtempSync(path.join(tmpdir(), 'dib-runner-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ID = 'pytorch-fsdp:0b7c5a8e-1111-2222-3333-444455556666';
const ARN = `arn:aws:codebuild:us-west-2:123456789012:build/${ID}`;
const STAMP = '2025/01/01 00:00:00.000000';
const container = (text: string) => `[Container] ${STAMP} ${text}`;

interface Step {
  phase: string;
  lines?: string[];
  status?: Build['buildStatus'];
  phases?: BuildPhase[];
}

/** A scripted build: each BatchGetBuilds moves to the next step and appends its log lines. */
class FakeAws {
  readonly calls: string[] = [];
  readonly events: { message: string; timestamp: number }[] = [];
  private index = -1;
  stopped = false;
  failGets = 0;
  projects: Record<string, unknown>[] = [];

  constructor(
    private readonly steps: Step[],
    private readonly buildspec?: string,
  ) {}

  private build(): Build {
    const step = this.steps[Math.max(0, this.index)]!;
    const done = this.stopped || step.status !== undefined;
    return {
      id: ID,
      arn: ARN,
      projectName: 'pytorch-fsdp',
      currentPhase: this.stopped ? 'COMPLETED' : step.phase,
      buildStatus: this.stopped ? 'STOPPED' : (step.status ?? 'IN_PROGRESS'),
      buildComplete: done,
      timeoutInMinutes: 60,
      phases: step.phases ?? [],
      source: {
        type: 'S3',
        location: 'b/k.zip',
        ...(this.buildspec === undefined ? {} : { buildspec: this.buildspec }),
      },
      logs: this.index >= 1 ? { groupName: '/aws/codebuild/pytorch-fsdp', streamName: 'uuid' } : {},
      environment: { type: 'LINUX_CONTAINER', image: 'x', computeType: 'BUILD_GENERAL1_MEDIUM' },
    };
  }

  async codebuildSend(command: unknown): Promise<unknown> {
    if (command instanceof BatchGetBuildsCommand) {
      this.calls.push('BatchGetBuilds');
      if (this.failGets > 0) {
        this.failGets--;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
      if (!this.stopped && this.index < this.steps.length - 1) {
        this.index++;
        for (const message of this.steps[this.index]!.lines ?? [])
          this.events.push({ message: `${message}\n`, timestamp: 1 });
      }
      return { builds: [this.build()], buildsNotFound: [] };
    }
    if (command instanceof StopBuildCommand) {
      this.calls.push('StopBuild');
      if (this.build().buildComplete)
        throw Object.assign(new Error('Build already complete'), { name: 'InvalidInputException' });
      this.stopped = true;
      return { build: this.build() };
    }
    if (command instanceof BatchGetProjectsCommand) {
      this.calls.push('BatchGetProjects');
      const names = command.input.names ?? [];
      const found = this.projects.filter((p) => names.includes(p['name'] as string));
      return { projects: found, projectsNotFound: names.filter((n) => !found.some((p) => p['name'] === n)) };
    }
    throw new Error(`unexpected ${String(command)}`);
  }

  async logsSend(command: unknown): Promise<unknown> {
    if (!(command instanceof GetLogEventsCommand)) throw new Error('unexpected logs command');
    this.calls.push('GetLogEvents');
    if (this.index < 1)
      throw Object.assign(new Error('The specified log stream does not exist.'), { name: 'ResourceNotFoundException' });
    const input = command.input;
    if (input.startFromHead !== true) {
      const limit = input.limit ?? 10_000;
      return { events: this.events.slice(-limit), nextForwardToken: `f/${this.events.length}` };
    }
    const start = input.nextToken === undefined ? 0 : Number(input.nextToken.slice(2));
    const events = this.events.slice(start);
    return {
      events,
      nextForwardToken:
        events.length === 0 && input.nextToken !== undefined ? input.nextToken : `f/${this.events.length}`,
    };
  }

  clients(): AwsClients {
    const codebuild = { send: (c: unknown) => this.codebuildSend(c), destroy() {} };
    const logs = { send: (c: unknown) => this.logsSend(c), destroy() {} };
    const none = () => Promise.reject(new Error('not used here'));
    return {
      region: 'us-west-2',
      codebuild: async () => codebuild as never,
      logs: async () => logs as never,
      s3: none,
      sts: none,
      iam: none,
      ecr: none,
      destroy() {},
    };
  }
}

interface FollowInput {
  logFile?: string;
  signal?: AbortSignal;
  onEvent?: (event: BuildEvent) => void;
}

interface FollowOptions {
  imageRef?: string;
  dockerfileText?: string;
  hasLabels?: boolean;
  onPhase?: (progress: PhaseProgress) => void;
}

/**
 * Follows a build by id to its outcome with the runner's own follow loop and outcome (what runAttempt does after
 * StartBuild), with the same sink, events and log file; a listener that throws stops the build.
 */
async function followWith(
  io: CodeBuildIo,
  id: string,
  input: FollowInput,
  options: FollowOptions = {},
): Promise<CodeBuildAttemptOutcome> {
  const started = io.now();
  const stop = { requested: false };
  const sink = new AttemptSink(input.logFile, input.onEvent, () => {
    if (!stop.requested) {
      stop.requested = true;
      void stopBuild(io, 'us-west-2', id).catch(() => undefined);
    }
  });
  const imageRef = options.imageRef ?? '';
  sink.emit({
    type: 'build-started',
    builder: 'codebuild',
    imageRef,
    ...(input.logFile === undefined ? {} : { logFile: input.logFile }),
  });
  const context: FollowContext = {
    region: 'us-west-2',
    project: 'pytorch-fsdp',
    imageRef,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    sink,
    processor: new LogProcessor(sink, {
      ...(options.dockerfileText === undefined ? {} : { dockerfileText: options.dockerfileText }),
      ...(options.hasLabels === undefined ? {} : { hasLabels: options.hasLabels }),
    }),
    ...(options.onPhase === undefined ? {} : { onPhase: options.onPhase }),
    stop,
  };
  let outcome: CodeBuildAttemptOutcome;
  try {
    const followed = await followBuild(io, id, context);
    outcome = attemptOutcome(followed, context, io.now() - started, {
      codebuildBuildId: id,
      consoleUrl: buildConsoleUrl(id, 'us-west-2', accountFromArn(followed.build?.arn)),
    });
  } finally {
    await sink.close();
  }
  if (sink.listenerError !== undefined) throw sink.listenerError;
  return outcome;
}

function runnerFor(aws: FakeAws, onSleep?: (ms: number) => void) {
  let clock = 0;
  const sleeps: number[] = [];
  const deps: CodeBuildRunnerDeps = {
    clients: () => aws.clients(),
    defaultRegion: 'us-west-2',
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
      onSleep?.(ms);
    },
  };
  const io = new CodeBuildIo(deps);
  const follow = (id: string, input: FollowInput, options?: FollowOptions) => followWith(io, id, input, options);
  return { runner: new CodeBuildRunner(deps), sleeps, follow };
}

const BUILDSPEC = generateBuildspec({
  dockerfile: 'Dockerfile',
  imageRef: 'fsdp:latest',
  buildArgs: {},
  noCache: false,
  labels: { 'dib.test': '1' },
  smokeCommands: [],
});
const BUILD_COMMAND = BUILDSPEC.includes('docker build')
  ? (JSON.parse(/ {6}- (".*docker build.*")/.exec(BUILDSPEC)![1]!) as string)
  : '';

function startOfBuild(): Step[] {
  return [
    { phase: 'QUEUED' },
    { phase: 'PROVISIONING', lines: [container('Waiting for agent ping')] },
    {
      phase: 'BUILD',
      lines: [
        container('Phase is DOWNLOAD_SOURCE'),
        container('Entering phase INSTALL'),
        container('Entering phase PRE_BUILD'),
        container('Entering phase BUILD'),
        ...`${container('Running command ')}${BUILD_COMMAND}`.split('\n'),
        '@@dib-codebuild@@ docker-build-start builder=buildkit',
      ],
    },
  ];
}

describe('follow: a BuildKit build that fails in a RUN step', () => {
  const dockerfile = fixtureDockerfile('runfail');
  const dockerLines = fixtureLines('runfail.buildx.log');
  const failedPhase: BuildPhase = {
    phaseType: 'BUILD',
    phaseStatus: 'FAILED',
    contexts: [
      {
        statusCode: 'COMMAND_EXECUTION_ERROR',
        message: `Error while executing command: ${BUILD_COMMAND}. Reason: exit status 1`,
      },
    ],
  };
  const steps: Step[] = [
    ...startOfBuild(),
    { phase: 'BUILD', lines: dockerLines.slice(0, 20) },
    {
      phase: 'POST_BUILD',
      lines: [
        ...dockerLines.slice(20),
        '@@dib-codebuild@@ docker-build-end exit=1',
        ...`${container('Command did not exit successfully ')}${BUILD_COMMAND} exit status 1`.split('\n'),
        container('Phase complete: BUILD State: FAILED'),
        container('Entering phase POST_BUILD'),
      ],
    },
    { phase: 'COMPLETED', status: 'FAILED', phases: [failedPhase] },
  ];

  it('emits the same step events as the local parser, and the failed step with its Dockerfile line', async () => {
    const aws = new FakeAws(steps, BUILDSPEC);
    const { follow, sleeps } = runnerFor(aws);
    const events: BuildEvent[] = [];
    const phases: PhaseProgress[] = [];
    const logFile = path.join(work, 'runfail.log');
    const outcome = await follow(
      ID,
      { logFile, onEvent: (e) => events.push(e) },
      { dockerfileText: dockerfile, hasLabels: true, imageRef: 'fsdp:latest', onPhase: (p) => phases.push(p) },
    );

    const local = createOutputParser('buildkit', {
      plan: planBuildSteps(dockerfile, { builder: 'buildkit', hasLabels: true }),
    });
    const expected = [...dockerLines.flatMap((l) => local.push(l)), ...local.end(1)].filter((e) =>
      e.type.startsWith('step-'),
    );
    const stepEvents = events.filter((e) => e.type.startsWith('step-'));
    expect(stepEvents).toEqual(expected);
    expect(stepEvents.some((e) => e.type === 'step-failed')).toBe(true);

    expect(outcome.success).toBe(false);
    expect(outcome.imageBuilt).toBe(false);
    expect(outcome.codebuildStatus).toBe('FAILED');
    expect(outcome.failedStep).toEqual({
      instruction: 'RUN echo about to fail &&     ls /nonexistent',
      dockerfileLine: 4,
    });
    expect(outcome.errorMessage).toContain('did not complete successfully: exit code: 2');
    expect(outcome.consoleUrl).toBe(buildConsoleUrl(ID, 'us-west-2', '123456789012'));
    expect(outcome.logGroup).toBe('/aws/codebuild/pytorch-fsdp');

    // Every log line is an event and a line of the log file; CodeBuild's echo of the multi-line command is folded.
    const log = readFileSync(logFile, 'utf8');
    for (const line of dockerLines) expect(log).toContain(`${line}\n`);
    expect(log).toContain(container("Running command : 'docker-image-builder: docker build'"));
    expect(log).not.toContain('set -o pipefail');
    expect(log).not.toContain('--iidfile');
    const logLines = events.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line);
    expect(logLines).toEqual(log.trimEnd().split('\n'));

    expect(phases.map((p) => p.phase)).toEqual([
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'COMPLETED',
    ]);
    expect(events[0]).toMatchObject({ type: 'build-started', builder: 'codebuild' });
    expect(events.at(-1)).toMatchObject({ type: 'build-finished', success: false, cancelled: false });
    expect(sleeps.every((ms) => ms <= 10_000)).toBe(true);
  });

  it('status, logTail and stop work on the build id', async () => {
    const aws = new FakeAws(steps, BUILDSPEC);
    const { runner, follow } = runnerFor(aws);
    await follow(ID, {}, {});
    const status = await runner.status(ID);
    expect(status).toMatchObject({
      id: ID,
      project: 'pytorch-fsdp',
      region: 'us-west-2',
      status: 'FAILED',
      complete: true,
      logGroup: '/aws/codebuild/pytorch-fsdp',
      logStream: 'uuid',
      consoleUrl: buildConsoleUrl(ID, 'us-west-2', '123456789012'),
    });
    expect(status.phases[0]?.message).toBe(
      "Error while executing command: : 'docker-image-builder: docker build' … Reason: exit status 1",
    );
    expect(status.errorMessage).toContain('CodeBuild phase BUILD FAILED: COMMAND_EXECUTION_ERROR');
    const tail = await runner.logTail(ID, 2);
    expect(tail).toEqual([container('Phase complete: BUILD State: FAILED'), container('Entering phase POST_BUILD')]);
    // Stopping a finished build is not an error: the status says how it ended.
    expect((await runner.stop(ARN)).status).toBe('FAILED');
    await expect(runner.status('not an id')).rejects.toThrow(InputError);
  });
});

describe('follow: polling', () => {
  it('backs off while nothing changes (1 s growing to 10 s) and resets on news', async () => {
    const quiet = Array.from({ length: 10 }, () => ({ phase: 'BUILD' }));
    const aws = new FakeAws([
      ...startOfBuild(),
      ...quiet,
      { phase: 'BUILD', lines: ['news'] },
      { phase: 'COMPLETED', status: 'SUCCEEDED' },
    ]);
    const { follow, sleeps } = runnerFor(aws);
    await follow(ID, {}, {});
    const loop = sleeps.slice(0, -1); // the last one is between the final log reads
    expect(loop.slice(0, 3)).toEqual([1_000, 1_000, 1_000]);
    expect(loop.slice(3, 9)).toEqual([1_500, 2_250, 3_375, 5_063, 7_595, 10_000]);
    expect(Math.max(...loop)).toBe(10_000);
    expect(loop.at(-1)).toBe(1_000); // reset after the new line
  });

  it('tolerates a few failed polls, then reports lost contact', async () => {
    const aws = new FakeAws([...startOfBuild(), { phase: 'COMPLETED', status: 'SUCCEEDED' }]);
    aws.failGets = 2;
    const { follow } = runnerFor(aws);
    const events: BuildEvent[] = [];
    const ok = await follow(ID, { onEvent: (e) => events.push(e) }, {});
    expect(ok.codebuildStatus).toBe('SUCCEEDED');
    expect(events.filter((e) => e.type === 'log' && e.line.includes('polling CodeBuild failed'))).toHaveLength(2);

    const lost = new FakeAws([...startOfBuild()]);
    lost.failGets = 100;
    const result = await runnerFor(lost).follow(ID, {}, {});
    expect(result.success).toBe(false);
    expect(result.errorMessage).toContain('lost contact with CodeBuild');
    expect(lost.calls.filter((c) => c === 'BatchGetBuilds')).toHaveLength(5);
  });

  it('an abort calls StopBuild once and returns cancelled without blaming a step', async () => {
    const never = Array.from({ length: 50 }, () => ({
      phase: 'BUILD',
      lines: ['#5 [2/4] RUN sleep 600', '#5 1.0 still going'],
    }));
    const aws = new FakeAws([...startOfBuild(), ...never]);
    const controller = new AbortController();
    let slept = 0;
    const { follow } = runnerFor(aws, () => {
      if (++slept === 4) controller.abort();
    });
    const events: BuildEvent[] = [];
    const outcome = await follow(ID, { signal: controller.signal, onEvent: (e) => events.push(e) }, {});
    expect(aws.calls.filter((c) => c === 'StopBuild')).toHaveLength(1);
    expect(outcome).toMatchObject({
      success: false,
      cancelled: true,
      codebuildStatus: 'STOPPED',
      errorMessage: 'build cancelled',
    });
    expect(outcome.failedStep).toBeUndefined();
    expect(events.some((e) => e.type === 'step-failed')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'build-finished', cancelled: true });
  });

  it('a listener that throws stops the build and the error surfaces', async () => {
    const aws = new FakeAws([...startOfBuild(), { phase: 'BUILD' }, { phase: 'BUILD' }, { phase: 'BUILD' }]);
    const { follow } = runnerFor(aws);
    await expect(
      follow(ID, {
        onEvent: (e) => {
          if (e.type === 'log' && e.line.includes('docker-build-start')) throw new Error('listener broke');
        },
      }),
    ).rejects.toThrow('listener broke');
    expect(aws.calls).toContain('StopBuild');
  });
});

describe('projects and small helpers', () => {
  it('a missing project gives the seed message with the setup command', async () => {
    const aws = new FakeAws([{ phase: 'QUEUED' }]);
    const { runner } = runnerFor(aws);
    const check = await runner.checkProject('pytorch-fsdp', 'us-west-2');
    expect(check.exists).toBe(false);
    expect(check.message).toContain('CodeBuild project not found');
    expect(check.setupCommand).toBe(
      'docker-image-builder setup-codebuild --project-name pytorch-fsdp --region us-west-2',
    );
    const error = await runner.requireProject('pytorch-fsdp', 'us-west-2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(
      'CodeBuild project not found: pytorch-fsdp (region us-west-2). Create it with: docker-image-builder setup-codebuild --project-name pytorch-fsdp --region us-west-2',
    );
    expect(projectNotFoundError('p1', 'eu-west-1').field).toBe('codebuild_project');
  });

  it('reports an existing project and refuses one that cannot run Docker', async () => {
    const aws = new FakeAws([{ phase: 'QUEUED' }]);
    aws.projects = [
      {
        name: 'ok',
        arn: 'arn:x',
        environment: { type: 'LINUX_CONTAINER', computeType: 'BUILD_GENERAL1_MEDIUM', privilegedMode: true },
        serviceRole: 'arn:role',
      },
      { name: 'lambda', environment: { type: 'LINUX_LAMBDA_CONTAINER', computeType: 'BUILD_LAMBDA_4GB' } },
    ];
    const { runner } = runnerFor(aws);
    expect(await runner.checkProject('ok', 'us-west-2')).toMatchObject({
      exists: true,
      computeType: 'BUILD_GENERAL1_MEDIUM',
      environmentType: 'LINUX_CONTAINER',
      privilegedMode: true,
      serviceRole: 'arn:role',
      warnings: [],
    });
    await expect(runner.requireProject('lambda', 'us-west-2')).rejects.toThrow(/cannot run Docker/);
  });

  it('splits CloudWatch messages into lines and describes phases', () => {
    expect(messageLines('one\n')).toEqual(['one']);
    expect(messageLines('one\r\ntwo\n')).toEqual(['one', 'two']);
    expect(messageLines('')).toEqual([]);
    expect(messageLines('\n')).toEqual(['']);
    expect(describePhase('BUILD').message).toBe('docker build');
    expect(describePhase('SOMETHING_NEW').message).toBe('something new');
    expect(buildConsoleUrl('p:1', 'eu-west-1')).toBe(
      'https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/projects/p/build/p%3A1/?region=eu-west-1',
    );
  });
});
