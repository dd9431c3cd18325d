import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builderEnv, dockerBuildArgs, type DockerBuildOptions } from '../../../src/docker/build-args.js';
import { DockerClient } from '../../../src/docker/client.js';
import { RecordingRunner } from '../../support/fake-runner.js';
import { InputError } from '../../../src/util/errors.js';

const base: DockerBuildOptions = {
  contextDir: '/work/ctx',
  dockerfilePath: 'Dockerfile',
  imageRef: 'fsdp:latest',
  buildArgs: {},
  labels: {},
  builder: 'buildkit',
};

function inputErrorOf(options: Partial<DockerBuildOptions>): InputError {
  try {
    dockerBuildArgs({ ...base, ...options });
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('dockerBuildArgs', () => {
  it('builds the BuildKit arguments with plain progress, selected by DOCKER_BUILDKIT=1', () => {
    expect(dockerBuildArgs(base)).toEqual([
      'build',
      '--progress=plain',
      '-f',
      '/work/ctx/Dockerfile',
      '-t',
      'fsdp:latest',
      '/work/ctx',
    ]);
    expect(builderEnv('buildkit')).toEqual({ DOCKER_BUILDKIT: '1' });
  });

  it('builds the legacy arguments without --progress, removing failed containers', () => {
    expect(dockerBuildArgs({ ...base, builder: 'legacy' })).toEqual([
      'build',
      '--force-rm',
      '-f',
      '/work/ctx/Dockerfile',
      '-t',
      'fsdp:latest',
      '/work/ctx',
    ]);
    expect(builderEnv('legacy')).toEqual({ DOCKER_BUILDKIT: '0' });
  });

  it('passes every option as its own argument, values with spaces intact', () => {
    const args = dockerBuildArgs({
      ...base,
      dockerfilePath: 'docker/Dockerfile.gpu',
      buildArgs: { TORCH_VERSION: '2.7.1', EXTRA: 'a b;c' },
      labels: { 'dib.test': '1', 'org.opencontainers.image.title': 'my image' },
      target: 'runtime',
      platform: 'linux/amd64',
      noCache: true,
      pull: true,
      iidFile: '/tmp/out/image.iid',
    });
    expect(args).toEqual([
      'build',
      '--progress=plain',
      '-f',
      '/work/ctx/docker/Dockerfile.gpu',
      '-t',
      'fsdp:latest',
      '--build-arg',
      'TORCH_VERSION',
      '--build-arg',
      'EXTRA',
      '--label',
      'dib.test=1',
      '--label',
      'org.opencontainers.image.title=my image',
      '--target',
      'runtime',
      '--platform',
      'linux/amd64',
      '--no-cache',
      '--pull',
      '--iidfile',
      '/tmp/out/image.iid',
      '/work/ctx',
    ]);
  });

  it('runs through sudo -n, passing the builder choice as an argument because sudo resets the environment', () => {
    const sudo = new DockerClient(
      { path: '/usr/bin/docker', sudo: true, env: {}, builder: 'buildkit' },
      new RecordingRunner(),
    );
    expect(sudo.command(dockerBuildArgs(base), builderEnv('buildkit'))).toEqual({
      command: 'sudo',
      args: [
        '-n',
        'DOCKER_BUILDKIT=1',
        '/usr/bin/docker',
        'build',
        '--progress=plain',
        '-f',
        '/work/ctx/Dockerfile',
        '-t',
        'fsdp:latest',
        '/work/ctx',
      ],
      env: {},
    });
  });

  it('makes relative paths absolute so none can be read as a flag', () => {
    const args = dockerBuildArgs({ ...base, contextDir: '-ctx', dockerfilePath: '-f' });
    expect(args.at(-1)).toBe(path.resolve('-ctx'));
    expect(args).toContain(path.resolve('-ctx', '-f'));
  });

  it('accepts registry hosts with ports and untagged names', () => {
    expect(() => dockerBuildArgs({ ...base, imageRef: 'localhost:5000/team/fsdp:v1.0' })).not.toThrow();
    expect(() =>
      dockerBuildArgs({ ...base, imageRef: '123456789012.dkr.ecr.us-west-2.amazonaws.com/fsdp' }),
    ).not.toThrow();
  });

  it.each([
    ['imageRef', { imageRef: 'FSDP:latest' }],
    ['imageRef', { imageRef: 'fsdp:latest --push' }],
    ['imageRef', { imageRef: 'fsdp@sha256:abc' }],
    ['imageRef', { imageRef: '' }],
    ['buildArgs.1BAD', { buildArgs: { '1BAD': 'x' } }],
    ['buildArgs.A-B', { buildArgs: { 'A-B': 'x' } }],
    ['labels.a=b', { labels: { 'a=b': 'x' } }],
    ['labels.', { labels: { '': 'x' } }],
    ['target', { target: '--push' }],
    ['platform', { platform: 'amd64' }],
    ['contextDir', { contextDir: ' ' }],
  ] as const)('refuses an invalid %s', (field, options) => {
    const error = inputErrorOf(options as Partial<DockerBuildOptions>);
    expect(error.field).toBe(field);
    expect(error.hint).not.toBe('');
  });
});
