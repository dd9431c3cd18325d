import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/build-model/events.js';
import { DockerClient, type DockerInvocation } from '../../../src/docker/client.js';
import { LocalDockerBuilder, type LocalBuildOptions } from '../../../src/docker/local-builder.js';
import type { OutputStream } from '../../../src/docker/output/parser-common.js';
import type { ProcessExit, ProcessSpawner, SpawnedProcess, SpawnOptions } from '../../../src/docker/process-spawner.js';
import type { CommandResult, CommandRunner } from '../../../src/util/command-runner.js';
import { RecordingRunner } from '../../support/fake-runner.js';
import { fixtureDockerfile, fixtureLines } from './fixture-logs.js';

interface ScriptedRun {
  lines: { line: string; stream: OutputStream }[];
  exit: ProcessExit;
  /** Written to the --iidfile path before exiting, as docker does. */
  imageId?: string;
  /** Keep running until killed (then exit with this). */
  untilKilled?: ProcessExit;
}

/** Records how docker was invoked and plays back a scripted run. */
class RecordingSpawner implements ProcessSpawner {
  readonly calls: { command: string; args: readonly string[]; env: Record<string, string> }[] = [];
  readonly kills: NodeJS.Signals[] = [];
  constructor(private readonly run: ScriptedRun) {}

  spawn(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
    this.calls.push({ command, args, env: options.env });
    const iidFile = args[args.indexOf('--iidfile') + 1]!;
    let finish: (exit: ProcessExit) => void = () => {};
    const exited = new Promise<ProcessExit>((resolve) => (finish = resolve));
    const kills = this.kills;
    const run = this.run;
    let killed = false;
    void (async () => {
      for (const { line, stream } of run.lines) {
        await Promise.resolve();
        if (killed) return; // a killed process prints nothing more
        options.onLine(line, stream);
      }
      if (run.imageId) await writeFile(iidFile, run.imageId);
      if (!run.untilKilled) finish(run.exit);
    })();
    return {
      pid: 4242,
      exited,
      kill(signal) {
        kills.push(signal);
        killed = true;
        if (run.untilKilled && signal === 'SIGTERM') finish(run.untilKilled);
      },
    };
  }
}

/** Answers every call with the same result, recording the calls. */
class FakeRunner extends RecordingRunner {
  constructor(result: Partial<CommandResult>) {
    super();
    this.on([], result);
  }
}

const stderrLines = (name: string) => fixtureLines(name).map((line) => ({ line, stream: 'stderr' as const }));
const stdoutLines = (name: string) => fixtureLines(name).map((line) => ({ line, stream: 'stdout' as const }));

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'dib-builder-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function options(overrides: Partial<LocalBuildOptions> = {}): LocalBuildOptions {
  return {
    contextDir: directory,
    dockerfilePath: 'Dockerfile',
    imageRef: 'fsdp:test',
    buildArgs: { TORCH_VERSION: '2.7.1' },
    labels: { 'dib.test': '1' },
    logFile: path.join(directory, 'logs', 'build.log'),
    dockerfileText: fixtureDockerfile('ok'),
    ...overrides,
  };
}

const INVOCATION: DockerInvocation = { path: 'docker', sudo: false, env: {}, builder: 'buildkit' };

function builderWith(
  spawner: ProcessSpawner,
  runner: CommandRunner = new FakeRunner({}),
  invocation: Partial<DockerInvocation> = {},
) {
  const docker = new DockerClient({ ...INVOCATION, ...invocation }, runner, spawner);
  return new LocalDockerBuilder({ docker, killGraceMs: 50 });
}

describe('LocalDockerBuilder.build', () => {
  it('runs docker with exactly these arguments and environment', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: { exitCode: 0 } });
    await builderWith(spawner, undefined, { path: '/usr/bin/docker' }).build(
      options({ target: 'runtime', noCache: true }),
    );
    expect(spawner.calls).toEqual([
      {
        command: '/usr/bin/docker',
        args: [
          'build',
          '--progress=plain',
          '-f',
          path.join(directory, 'Dockerfile'),
          '-t',
          'fsdp:test',
          '--build-arg',
          'TORCH_VERSION',
          '--label',
          'dib.test=1',
          '--target',
          'runtime',
          '--no-cache',
          '--iidfile',
          path.join(directory, 'logs', 'build.log.iid'),
          directory,
        ],
        // The build-arg value reaches docker through its environment: any local user can read an argv.
        env: { DOCKER_BUILDKIT: '1', TORCH_VERSION: '2.7.1' },
      },
    ]);
  });

  it('runs the legacy builder through sudo -n when asked', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: { exitCode: 0 } });
    const iidFile = path.join(directory, 'image.iid');
    await builderWith(spawner, undefined, {
      builder: 'legacy',
      sudo: true,
      path: '/usr/bin/docker',
      env: { DOCKER_HOST: 'unix:///run/alt.sock' },
    }).build(options({ iidFile, buildArgs: {}, labels: {} }));
    // sudo resets the environment: the Docker variables and the builder choice go as its VAR=value arguments.
    expect(spawner.calls[0]).toEqual({
      command: 'sudo',
      args: [
        '-n',
        'DOCKER_HOST=unix:///run/alt.sock',
        'DOCKER_BUILDKIT=0',
        '/usr/bin/docker',
        'build',
        '--force-rm',
        '-f',
        path.join(directory, 'Dockerfile'),
        '-t',
        'fsdp:test',
        '--iidfile',
        iidFile,
        directory,
      ],
      env: {},
    });
  });

  it('streams events in order, writes the full log, and takes the image id from the iid file', async () => {
    const imageId = 'sha256:4503eb53df3624ea43d41e26c092f6a89aa460577c1dde414140aa704920b1ea';
    const spawner = new RecordingSpawner({ lines: stderrLines('ok.buildkit.log'), exit: { exitCode: 0 }, imageId });
    const events: BuildEvent[] = [];
    const result = await builderWith(spawner).build(options(), { onEvent: (event) => events.push(event) });

    const structured = events.filter((event) => event.type !== 'log').map((event) => event.type);
    expect(structured[0]).toBe('build-started');
    expect(structured.slice(-2)).toEqual(['image-built', 'build-finished']);
    expect(structured.filter((type) => type === 'image-built')).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'build-started',
      builder: 'buildkit',
      totalSteps: 4,
      imageRef: 'fsdp:test',
    });
    expect(result).toMatchObject({
      success: true,
      exitCode: 0,
      imageId,
      cancelled: false,
      timedOut: false,
      totalSteps: 4,
      completedSteps: 4,
      logFile: path.join(directory, 'logs', 'build.log'),
    });
    expect(result.errorMessage).toBeUndefined();
    const log = await readFile(result.logFile, 'utf8');
    expect(log.split('\n')).toHaveLength(fixtureLines('ok.buildkit.log').length + 1);
    expect(log).toContain('#8 [4/4] RUN echo building && cat /app/hello.txt');
  });

  it('with a rawjson invocation, asks for --progress=rawjson and saves the plain lines it stands for', async () => {
    const spawner = new RecordingSpawner({
      lines: stderrLines('runfail-gpu.rawjson.log'),
      exit: { exitCode: 1 },
    });
    const events: BuildEvent[] = [];
    const result = await builderWith(spawner, undefined, { progress: 'rawjson' }).build(
      options({ dockerfilePath: 'build/gpu.Dockerfile', dockerfileText: fixtureDockerfile('runfail-gpu') }),
      { onEvent: (event) => events.push(event) },
    );
    expect(spawner.calls[0]!.args.slice(0, 2)).toEqual(['build', '--progress=rawjson']);
    expect(result.failedStep).toMatchObject({ stage: 'stage-1', dockerfileLine: 8, exitCode: 100 });
    expect(result.errorMessage).toMatch(/^ERROR: failed to solve: process .*libcudnn9-dev-cuda-12.* exit code: 100$/);
    const starts = events.filter((event) => event.type === 'step-started');
    expect(starts.map((event) => event.step)).toEqual([1, 2, 3, 4]);
    // The log file is what diagnosis and the log resource read: plain text, not JSON.
    const log = await readFile(result.logFile, 'utf8');
    expect(log).not.toMatch(/^\s*["{}]/m);
    expect(log).toMatch(/^#\d+ \d+\.\d{3} E: Unable to locate package libcudnn9-dev-cuda-12$/m);
    expect(log).toContain('gpu.Dockerfile:8');
  });

  it('reports the failed step with its Dockerfile line and the builder error', async () => {
    const spawner = new RecordingSpawner({ lines: stdoutLines('runfail.legacy.log'), exit: { exitCode: 2 } });
    const result = await builderWith(spawner, undefined, { builder: 'legacy' }).build(
      options({ dockerfileText: fixtureDockerfile('runfail') }),
    );
    expect(result).toMatchObject({
      success: false,
      exitCode: 2,
      failedStep: { step: 4, dockerfileLine: 4, exitCode: 2 },
      errorMessage: "The command '/bin/sh -c echo about to fail &&     ls /nonexistent' returned a non-zero code: 2",
    });
    expect(result.imageId).toBeUndefined();
  });

  it('reads the Dockerfile from disk when its text is not given', async () => {
    await writeFile(path.join(directory, 'Dockerfile'), fixtureDockerfile('runfail'));
    const spawner = new RecordingSpawner({ lines: stderrLines('runfail.buildkit.log'), exit: { exitCode: 1 } });
    const { dockerfileText: _unused, ...withoutText } = options();
    const result = await builderWith(spawner).build(withoutText);
    expect(result.failedStep?.dockerfileLine).toBe(4);
  });

  it('cancels: SIGTERM to the client, no step blamed, cancelled result', async () => {
    const spawner = new RecordingSpawner({
      lines: stderrLines('cancelled.buildkit.log'),
      exit: { exitCode: 0 },
      untilKilled: { signal: 'SIGTERM' },
    });
    const controller = new AbortController();
    const events: BuildEvent[] = [];
    const result = await builderWith(spawner).build(options({ dockerfileText: fixtureDockerfile('cancelled') }), {
      signal: controller.signal,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'log' && event.line.endsWith('sleeping')) controller.abort();
      },
    });
    expect(spawner.kills).toEqual(['SIGTERM']);
    expect(result).toMatchObject({ success: false, cancelled: true, timedOut: false, errorMessage: 'build cancelled' });
    expect(result.failedStep).toBeUndefined();
    expect(events.some((event) => event.type === 'step-failed')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'build-finished', cancelled: true, success: false });
  });

  it('escalates to SIGKILL when the client ignores SIGTERM', async () => {
    let finish: (exit: ProcessExit) => void = () => {};
    const kills: NodeJS.Signals[] = [];
    let spawned: () => void = () => {};
    const started = new Promise<void>((resolve) => (spawned = resolve));
    const stubborn: ProcessSpawner = {
      spawn: () => (
        spawned(),
        {
          pid: 1,
          exited: new Promise<ProcessExit>((resolve) => (finish = resolve)),
          kill: (signal) => {
            kills.push(signal);
            if (signal === 'SIGKILL') finish({ signal: 'SIGKILL' });
          },
        }
      ),
    };
    const controller = new AbortController();
    const pending = builderWith(stubborn).build(options(), { signal: controller.signal });
    // Abort once docker runs (a fixed wait raced the build's set-up under load and aborted before the spawn).
    await started;
    controller.abort();
    const result = await pending;
    expect(kills).toEqual(['SIGTERM', 'SIGKILL']);
    expect(result.cancelled).toBe(true);
  });

  it('does not start docker when already cancelled', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: { exitCode: 0 } });
    const controller = new AbortController();
    controller.abort();
    const result = await builderWith(spawner).build(options(), { signal: controller.signal });
    expect(spawner.calls).toEqual([]);
    expect(result).toMatchObject({ cancelled: true, success: false });
  });

  it('stops the build at the timeout', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: { exitCode: 0 }, untilKilled: { signal: 'SIGTERM' } });
    const result = await builderWith(spawner).build(options({ timeoutMs: 30 }));
    expect(spawner.kills).toEqual(['SIGTERM']);
    expect(result).toMatchObject({ success: false, timedOut: true, cancelled: false });
    expect(result.errorMessage).toMatch(/timeout/);
  });

  it('says so when docker cannot be started', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: { spawnError: 'ENOENT' } });
    const result = await builderWith(spawner, undefined, { path: '/nope/docker' }).build(options());
    expect(result).toMatchObject({ success: false, errorMessage: 'could not run /nope/docker: ENOENT' });
  });

  it('stops the build and rethrows when an event listener throws', async () => {
    const spawner = new RecordingSpawner({
      lines: stderrLines('ok.buildkit.log'),
      exit: { exitCode: 0 },
      untilKilled: { signal: 'SIGTERM' },
    });
    const failing = builderWith(spawner).build(options(), {
      onEvent: (event) => {
        if (event.type === 'step-started') throw new Error('listener bug');
      },
    });
    await expect(failing).rejects.toThrow('listener bug');
    expect(spawner.kills).toEqual(['SIGTERM']);
  });

  it('validates options before running anything', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: { exitCode: 0 } });
    await expect(builderWith(spawner).build(options({ imageRef: 'Bad Ref' }))).rejects.toThrow(/imageRef/);
    expect(spawner.calls).toEqual([]);
  });
});

describe('LocalDockerBuilder.imageInfo', () => {
  it('returns id, size and tags from docker image inspect', async () => {
    const runner = new FakeRunner({
      stdout: JSON.stringify({
        Id: 'sha256:abc',
        Size: 116669960,
        RepoTags: ['fsdp:test'],
        Created: '2026-01-01T00:00:00Z',
      }),
    });
    const info = await builderWith(new RecordingSpawner({ lines: [], exit: {} }), runner).imageInfo('fsdp:test', {
      timeoutMs: 5000,
    });
    expect(info).toEqual({
      id: 'sha256:abc',
      sizeBytes: 116669960,
      repoTags: ['fsdp:test'],
      created: '2026-01-01T00:00:00Z',
    });
    expect(runner.calls).toEqual([
      {
        command: 'docker',
        args: ['image', 'inspect', '--format', '{{json .}}', 'fsdp:test'],
        options: { timeoutMs: 5000, env: {} },
      },
    ]);
  });

  it('returns undefined for a missing image and throws when docker fails', async () => {
    const spawner = new RecordingSpawner({ lines: [], exit: {} });
    const missing = new FakeRunner({ exitCode: 1, stderr: 'Error response from daemon: No such image: fsdp:nope' });
    expect(await builderWith(spawner, missing).imageInfo('fsdp:nope')).toBeUndefined();
    const timedOut = new FakeRunner({ exitCode: undefined, timedOut: true });
    await expect(builderWith(spawner, timedOut).imageInfo('fsdp:test')).rejects.toThrow(/timed out/);
  });

  it('uses sudo -n when the client does: the inspect after a sudo build runs the same way', async () => {
    const runner = new FakeRunner({ stdout: JSON.stringify({ Id: 'sha256:abc', Size: 1 }) });
    await builderWith(new RecordingSpawner({ lines: [], exit: {} }), runner, {
      sudo: true,
      path: '/usr/bin/docker',
    }).imageInfo('fsdp:test');
    expect(runner.calls[0]).toMatchObject({
      command: 'sudo',
      args: ['-n', '/usr/bin/docker', 'image', 'inspect', '--format', '{{json .}}', 'fsdp:test'],
    });
  });
});
