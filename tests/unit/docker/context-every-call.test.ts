import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildJobSchema } from '../../../src/builds/job.js';
import { dockerBuildArgs } from '../../../src/docker/build-args.js';
import { DockerClient, type DockerInvocation } from '../../../src/docker/client.js';
import { LocalDockerBuilder } from '../../../src/docker/local-builder.js';
import type { ProcessSpawner, SpawnOptions } from '../../../src/docker/process-spawner.js';
import { pushImage } from '../../../src/docker/push.js';
import { removeSmokeContainers, SmokeTester } from '../../../src/smoke/smoke-tester.js';
import { RecordingRunner } from '../../support/fake-runner.js';

const invocation: DockerInvocation = {
  path: '/usr/bin/docker',
  sudo: false,
  env: { DOCKER_HOST: 'unix:///var/run/docker.sock' },
  builder: 'buildkit',
  context: 'dib-modern',
  buildxBuilder: 'fast',
};

class RecordingSpawner implements ProcessSpawner {
  readonly calls: { command: string; args: readonly string[] }[] = [];
  spawn(command: string, args: readonly string[], _options: SpawnOptions) {
    this.calls.push({ command, args });
    return { pid: 1, exited: Promise.resolve({ exitCode: 0 }), kill: () => {} };
  }
}

describe('a docker context and a builder, decided once', () => {
  it('survive the job file the worker reads', () => {
    const job = buildJobSchema.parse({
      version: 1,
      buildId: 'local-1',
      request: {},
      target: { mode: 'local', docker: invocation },
    });
    expect(job.target).toEqual({ mode: 'local', docker: invocation });
  });

  it('put --context before the subcommand, also through sudo', () => {
    const runner = new RecordingRunner();
    expect(new DockerClient(invocation, runner).command(['push', 'x:1']).args).toEqual([
      '--context',
      'dib-modern',
      'push',
      'x:1',
    ]);
    const sudo = new DockerClient({ ...invocation, sudo: true }, runner).command(['ps']);
    expect(sudo).toEqual({
      command: 'sudo',
      args: ['-n', 'DOCKER_HOST=unix:///var/run/docker.sock', '/usr/bin/docker', '--context', 'dib-modern', 'ps'],
      env: {},
    });
  });

  it('build with docker buildx build --builder NAME --load, and refuse a builder without BuildKit', () => {
    const options = { contextDir: '/ctx', dockerfilePath: 'Dockerfile', imageRef: 'app:1', buildArgs: {}, labels: {} };
    const args = dockerBuildArgs({ ...options, builder: 'buildkit', buildxBuilder: 'fast' });
    expect(args.slice(0, 6)).toEqual(['buildx', 'build', '--builder', 'fast', '--load', '--progress=plain']);
    expect(dockerBuildArgs({ ...options, builder: 'buildkit' })[0]).toBe('build');
    expect(() => dockerBuildArgs({ ...options, builder: 'legacy', buildxBuilder: 'fast' })).toThrow(/BuildKit/);
  });

  it('reach every docker call of a build: build, image inspect, smoke test, push, clean-up', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-context-'));
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    const imageId = `sha256:${'1'.repeat(64)}`;
    const runner = new RecordingRunner()
      .on([], { stdout: '' })
      .on(['--context', 'dib-modern', 'image', 'inspect'], { stdout: JSON.stringify({ Id: imageId, Size: 1 }) })
      .on(['--context', 'dib-modern', 'push'], { stdout: `1: digest: ${imageId} size: 1` });
    const spawner = new RecordingSpawner();
    const docker = new DockerClient(invocation, runner, spawner);
    const builder = new LocalDockerBuilder({ docker });
    await builder.build({
      contextDir: dir,
      dockerfilePath: 'Dockerfile',
      imageRef: 'app:1',
      buildArgs: {},
      labels: {},
      logFile: path.join(dir, 'build.log'),
    });
    await builder.imageInfo('app:1');
    await new SmokeTester({ docker, idGenerator: () => 'run1' }).run({ image: 'app:1', commands: ['true'] }, {});
    await pushImage(docker, '127.0.0.1:5000/app:1', { timeoutMs: 1000 });
    await removeSmokeContainers({ docker, runId: 'run1', timeoutMs: 1000 });
    const calls = [...spawner.calls, ...runner.calls];
    expect(spawner.calls[0]!.args.slice(0, 5)).toEqual(['--context', 'dib-modern', 'buildx', 'build', '--builder']);
    const subcommands = new Set(calls.map((call) => call.args[2]));
    for (const subcommand of ['buildx', 'image', 'run', 'push', 'ps']) expect(subcommands).toContain(subcommand);
    for (const call of calls) expect(call.args.slice(0, 2), call.args.join(' ')).toEqual(['--context', 'dib-modern']);
  });
});
