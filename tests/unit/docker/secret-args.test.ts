// Secrets, ssh and build-arg values on the docker command line: which words reach argv (any local user reads it
// with `ps`) and which only the CLI's environment.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildArgEnv, dockerBuildArgs, type DockerBuildOptions } from '../../../src/docker/build-args.js';
import { DockerClient } from '../../../src/docker/client.js';
import { InputError } from '../../../src/util/errors.js';
import { redactor, REDACTED } from '../../../src/util/redact.js';
import { looksLikeSecretName } from '../../../src/util/secret-names.js';
import { RecordingRunner } from '../../support/fake-runner.js';

const base: DockerBuildOptions = {
  contextDir: '/work/ctx',
  dockerfilePath: 'Dockerfile',
  imageRef: 'fsdp:latest',
  buildArgs: {},
  labels: {},
  builder: 'buildkit',
};

function fieldOfError(options: Partial<DockerBuildOptions>): string {
  try {
    dockerBuildArgs({ ...base, ...options });
  } catch (error) {
    if (error instanceof InputError) return error.field;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('secrets and build args on the docker command line', () => {
  it('names build args in argv and carries their values in the environment only', () => {
    const buildArgs = { HF_TOKEN: 'hf_abcdef123456', TORCH_VERSION: '2.7.1' };
    const args = dockerBuildArgs({ ...base, buildArgs });
    expect(args).toEqual(expect.arrayContaining(['--build-arg', 'HF_TOKEN', '--build-arg', 'TORCH_VERSION']));
    expect(args.join(' ')).not.toContain('hf_abcdef123456');
    expect(buildArgEnv(buildArgs)).toEqual(buildArgs);
  });

  it('keeps in argv the values of build args named like variables the docker CLI reads itself', () => {
    const buildArgs = { DOCKER_HOST: 'tcp://x:2375', PATH: '/opt/bin', HOME: '/root', APP: 'x' };
    expect(dockerBuildArgs({ ...base, buildArgs })).toEqual(
      expect.arrayContaining(['DOCKER_HOST=tcp://x:2375', 'PATH=/opt/bin', 'HOME=/root', 'APP']),
    );
    expect(buildArgEnv(buildArgs)).toEqual({ APP: 'x' });
  });

  it('passes env secrets by variable name and file secrets by absolute path, ssh as given', () => {
    const args = dockerBuildArgs({
      ...base,
      secrets: [
        { id: 'hf', env: 'HF_TOKEN' },
        { id: 'pip.conf', src: 'conf/pip.conf' },
      ],
      ssh: ['default', 'github=/run/agent.sock'],
    });
    expect(args).toEqual(
      expect.arrayContaining([
        '--secret',
        'id=hf,env=HF_TOKEN',
        '--secret',
        `id=pip.conf,src=${path.resolve('conf/pip.conf')}`,
        '--ssh',
        'default',
        '--ssh',
        'github=/run/agent.sock',
      ]),
    );
  });

  it.each([
    ['secrets.0.id', { secrets: [{ id: 'a,src=/etc/shadow', env: 'X' }] }],
    [
      'secrets.1.id',
      {
        secrets: [
          { id: 'hf', env: 'X' },
          { id: 'hf', env: 'Y' },
        ],
      },
    ],
    ['secrets.0.env', { secrets: [{ id: 'hf', env: 'HF-TOKEN' }] }],
    ['secrets.0.src', { secrets: [{ id: 'hf', src: '/tmp/a,b' }] }],
    ['ssh.0', { ssh: ['default=/a.sock other'] }],
    ['ssh.0', { ssh: [''] }],
  ] as const)('refuses an invalid %s', (field, options) => {
    expect(fieldOfError(options as unknown as Partial<DockerBuildOptions>)).toBe(field);
  });

  it('through sudo, names private variables with --preserve-env instead of writing their values', () => {
    const sudo = new DockerClient(
      { path: '/usr/bin/docker', sudo: true, env: { DOCKER_HOST: 'unix:///run/d.sock' }, builder: 'buildkit' },
      new RecordingRunner(),
    );
    const command = sudo.command(
      ['build', '--build-arg', 'HF_TOKEN', '.'],
      { DOCKER_BUILDKIT: '1' },
      {
        HF_TOKEN: 'hf_abcdef123456',
      },
    );
    expect(command).toEqual({
      command: 'sudo',
      args: [
        '-n',
        '--preserve-env=HF_TOKEN',
        'DOCKER_HOST=unix:///run/d.sock',
        'DOCKER_BUILDKIT=1',
        '/usr/bin/docker',
        'build',
        '--build-arg',
        'HF_TOKEN',
        '.',
      ],
      env: { HF_TOKEN: 'hf_abcdef123456' },
    });
  });
});

describe('secret names and redaction', () => {
  it.each(['HF_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'DB_PASSWORD', 'api_key', 'AUTH', 'GITHUB_CREDENTIALS'])(
    '%s looks like a secret, as BuildKit judges it',
    (name) => expect(looksLikeSecretName(name)).toBe(true),
  );

  it.each(['PUBLIC_KEY', 'TOKEN_FILE', 'KEY_VERSION', 'TORCH_VERSION', 'MONKEY', 'TOKENIZER', 'CUDA_VERSION'])(
    '%s does not',
    (name) => expect(looksLikeSecretName(name)).toBe(false),
  );

  it('replaces every occurrence of a value, and each line of a multi-line one', () => {
    const redact = redactor(['hf_abcdef123456', 'line-one\nline-two\n', 'ab']);
    expect(redact('token=hf_abcdef123456 again hf_abcdef123456')).toBe(`token=${REDACTED} again ${REDACTED}`);
    expect(redact('#5 0.2 line-two')).toBe(`#5 0.2 ${REDACTED}`);
    // Too short to tell from ordinary text.
    expect(redact('ab cd')).toBe('ab cd');
  });
});
