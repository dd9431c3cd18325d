import { describe, expect, it } from 'vitest';
import { DockerClient, dockerInvocationFor, type DockerInvocation } from '../../../src/docker/client.js';
import type { ProcessSpawner, SpawnOptions } from '../../../src/docker/process-spawner.js';
import { RecordingRunner } from '../../support/fake-runner.js';

const plain: DockerInvocation = { path: '/usr/bin/docker', sudo: false, env: {}, builder: 'buildkit' };
const withHost: DockerInvocation = { ...plain, env: { DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1' } };

class RecordingSpawner implements ProcessSpawner {
  readonly calls: { command: string; args: readonly string[]; options: SpawnOptions }[] = [];
  spawn(command: string, args: readonly string[], options: SpawnOptions) {
    this.calls.push({ command, args, options });
    return { pid: 1, exited: Promise.resolve({ exitCode: 0 }), kill: () => {} };
  }
}

describe('dockerInvocationFor', () => {
  it('keeps only the Docker variables that are set, and the path made absolute', () => {
    const invocation = dockerInvocationFor({
      cliPath: '/usr/local/bin/docker',
      useSudo: true,
      builder: 'legacy',
      env: {
        PATH: '/usr/bin',
        HOME: '/home/me',
        AWS_SECRET_ACCESS_KEY: 'secret',
        DOCKER_HOST: 'unix:///run/user/1000/docker.sock',
        DOCKER_CONTEXT: '',
        DOCKER_CONFIG: '/home/me/.docker',
        BUILDX_BUILDER: 'fast',
        DOCKER_BUILDKIT: '1',
      },
    });
    expect(invocation).toEqual({
      path: '/usr/local/bin/docker',
      sudo: true,
      env: {
        DOCKER_HOST: 'unix:///run/user/1000/docker.sock',
        DOCKER_CONFIG: '/home/me/.docker',
        BUILDX_BUILDER: 'fast',
      },
      builder: 'legacy',
    });
    // A plain decision: it survives JSON, so a worker process can be handed the same one.
    expect(JSON.parse(JSON.stringify(invocation))).toEqual(invocation);
  });

  it('makes a relative path absolute, so sudo cannot read it as an option or a VAR=value argument', () => {
    const invocation = dockerInvocationFor({ cliPath: './bin/docker', useSudo: true, env: {}, builder: 'buildkit' });
    expect(invocation.path).toBe(`${process.cwd()}/bin/docker`);
  });
});

describe('DockerClient.command', () => {
  it('runs the CLI by its path, with the Docker variables and the extras in the environment, without sudo', () => {
    const client = new DockerClient(withHost, new RecordingRunner());
    expect(client.command(['build', '.'], { DOCKER_BUILDKIT: '1' })).toEqual({
      command: '/usr/bin/docker',
      args: ['build', '.'],
      env: { DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1', DOCKER_BUILDKIT: '1' },
    });
  });

  it('with sudo, passes every variable as sudo -n VAR=value before the absolute path, none in the environment', () => {
    const client = new DockerClient({ ...withHost, sudo: true }, new RecordingRunner());
    expect(client.command(['image', 'inspect', 'fsdp:latest'], { DOCKER_BUILDKIT: '0' })).toEqual({
      command: 'sudo',
      args: [
        '-n',
        'DOCKER_HOST=tcp://10.0.0.5:2376',
        'DOCKER_TLS_VERIFY=1',
        'DOCKER_BUILDKIT=0',
        '/usr/bin/docker',
        'image',
        'inspect',
        'fsdp:latest',
      ],
      env: {},
    });
  });

  it('with sudo and no variables, is just sudo -n and the path', () => {
    const client = new DockerClient({ ...plain, sudo: true }, new RecordingRunner());
    expect(client.command(['version'])).toEqual({
      command: 'sudo',
      args: ['-n', '/usr/bin/docker', 'version'],
      env: {},
    });
  });

  it('keeps values with spaces and = intact as one argument, and refuses a bad variable name', () => {
    const client = new DockerClient(
      { ...plain, sudo: true, env: { DOCKER_CONFIG: '/a b/c=d' } },
      new RecordingRunner(),
    );
    expect(client.command(['info']).args).toEqual(['-n', 'DOCKER_CONFIG=/a b/c=d', '/usr/bin/docker', 'info']);
    expect(() => client.command(['info'], { 'A=B': '1' })).toThrow(/A=B/);
  });

  it('does not let a caller change the decision through the returned arrays', () => {
    const client = new DockerClient({ ...plain, sudo: true, env: { DOCKER_HOST: 'unix:///x' } }, new RecordingRunner());
    client.command(['info']).args.push('--oops');
    expect(client.command(['info']).args).toEqual(['-n', 'DOCKER_HOST=unix:///x', '/usr/bin/docker', 'info']);
  });
});

describe('DockerClient.run and spawn', () => {
  it('hands the runner the same command, with the timeout, signal and input', async () => {
    const runner = new RecordingRunner().on([], { stdout: 'ok' });
    const client = new DockerClient({ ...withHost, sudo: true }, runner);
    const signal = new AbortController().signal;
    const result = await client.run(['load'], { timeoutMs: 5_000, signal, input: 'tar' });
    expect(result.stdout).toBe('ok');
    expect(runner.calls).toEqual([
      {
        command: 'sudo',
        args: ['-n', 'DOCKER_HOST=tcp://10.0.0.5:2376', 'DOCKER_TLS_VERIFY=1', '/usr/bin/docker', 'load'],
        options: { timeoutMs: 5_000, env: {}, signal, input: 'tar' },
      },
    ]);
  });

  it('streams through the spawner with the same command', () => {
    const spawner = new RecordingSpawner();
    const client = new DockerClient(withHost, new RecordingRunner(), spawner);
    const onLine = () => {};
    client.spawn(['build', '.'], { onLine, extraEnv: { DOCKER_BUILDKIT: '1' } });
    expect(spawner.calls).toEqual([
      {
        command: '/usr/bin/docker',
        args: ['build', '.'],
        options: { env: { ...withHost.env, DOCKER_BUILDKIT: '1' }, onLine },
      },
    ]);
  });

  it('says so when asked to stream without a spawner', () => {
    expect(() => new DockerClient(plain, new RecordingRunner()).spawn(['build'], { onLine: () => {} })).toThrow(
      /ProcessSpawner/,
    );
  });
});
