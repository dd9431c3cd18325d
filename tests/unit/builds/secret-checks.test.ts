import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildRequest } from '../../../src/build-model/attempt.js';
import type { TargetSpec } from '../../../src/builds/job.js';
import {
  jobRequest,
  resolveSecretInputs,
  secretTargetProblem,
  takeWorkerBuildArgs,
} from '../../../src/builds/secret-checks.js';
import { InputError } from '../../../src/util/errors.js';

const base: BuildRequest = {
  contextDir: '/ctx',
  dockerfile: 'Dockerfile',
  imageRef: 'app:latest',
  autoFix: true,
  fixBeforeBuild: true,
  smokeTest: true,
  smokeCommands: [],
  maxAttempts: 1,
  useSudo: false,
  buildArgs: {},
  noCache: false,
  pull: false,
  labels: {},
  writeFixes: false,
  timeoutSeconds: 600,
};
const local = (builder: 'buildkit' | 'legacy'): TargetSpec => ({
  mode: 'local',
  docker: { path: '/usr/bin/docker', sudo: false, env: {}, builder },
});
const codebuild: TargetSpec = { mode: 'codebuild', region: 'us-west-2', project: 'p' };

async function fieldOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof InputError)) throw new Error(`expected an InputError, got ${String(error)}`);
  return error.field;
}

describe('secret inputs checked before a build starts', () => {
  it('refuses a src that is a directory and an ssh agent that is not there, naming the field', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dib-secret-'));
    expect(await fieldOf(resolveSecretInputs({ ...base, secrets: [{ id: 'a', src: dir }] }, {}))).toBe('secrets.0.src');
    expect(await fieldOf(resolveSecretInputs({ ...base, ssh: ['default'] }, {}))).toBe('ssh.0');
    expect(await fieldOf(resolveSecretInputs({ ...base, ssh: ['gh=/no/such.sock'] }, {}))).toBe('ssh.0');
  });

  it('makes a file secret absolute and accepts a set variable', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'dib-secret-')), 'token');
    await writeFile(file, 'x');
    const request: BuildRequest = {
      ...base,
      secrets: [
        { id: 'f', src: path.relative(process.cwd(), file) },
        { id: 'e', env: 'HF_TOKEN' },
      ],
    };
    await resolveSecretInputs(request, { HF_TOKEN: 'v' });
    expect(request.secrets).toEqual([
      { id: 'f', src: file },
      { id: 'e', env: 'HF_TOKEN' },
    ]);
  });

  it('refuses each secret kind where it cannot work, with the reason', () => {
    const env = { ...base, secrets: [{ id: 'hf', env: 'HF_TOKEN' }] };
    const aws = { ...base, secrets: [{ id: 'hf', aws_secret: 'hf-token' }] };
    expect(secretTargetProblem(env, local('legacy'))?.message).toMatch(/need BuildKit/);
    expect(secretTargetProblem(env, local('buildkit'))).toBeUndefined();
    expect(secretTargetProblem(env, codebuild)?.message).toMatch(/plain text/);
    expect(secretTargetProblem(aws, codebuild)).toBeUndefined();
    expect(secretTargetProblem(aws, local('buildkit'))?.message).toMatch(/only a CodeBuild build resolves/);
    expect(secretTargetProblem({ ...base, ssh: ['default'] }, codebuild)?.message).toMatch(/SSH agent/);
  });
});

describe('build-arg values between the starting process and the worker', () => {
  it('the job names the build args; their values travel in the worker environment and leave it once read', () => {
    const { request, workerEnv } = jobRequest({ ...base, buildArgs: { HF_TOKEN: 'hf_secret', V: '1' } });
    expect(JSON.stringify(request)).not.toContain('hf_secret');
    expect(request.buildArgs).toEqual({ HF_TOKEN: '', V: '' });
    const env: NodeJS.ProcessEnv = { ...workerEnv };
    expect(takeWorkerBuildArgs(env)).toEqual({ HF_TOKEN: 'hf_secret', V: '1' });
    expect(env).toEqual({});
  });
});
