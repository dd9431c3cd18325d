/**
 * The ECR login of a push: ecr:GetAuthorizationToken through the real AWS SDK against the project's emulator
 * (endpoint from AWS_ENDPOINT_URL_ECR only), then `docker login --password-stdin` into a private DOCKER_CONFIG and
 * `docker push` with it. Docker is a recording runner here: no ECR registry is reachable; the push itself is tested
 * against the real registry in tests/e2e/push-and-cache.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRequest } from '../../src/build-model/attempt.js';
import { localPushPort } from '../../src/builds/push-port.js';
import { ecrLogin } from '../../src/codebuild/ecr-auth.js';
import { DockerClient } from '../../src/docker/client.js';
import { ExpectedFailure } from '../../src/util/errors.js';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';
import { RecordingRunner } from '../support/fake-runner.js';

const REGION = 'us-west-2';
const ECR_HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const DIGEST = `sha256:${'4f'.repeat(32)}`;

let aws: AwsEmulatorHandle;
let dir: string;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  aws = await startAwsEmulator({ s3: false });
  for (const [name, value] of Object.entries(aws.env)) {
    savedEnv[name] = process.env[name];
    process.env[name] = value;
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'dib-ecr-push-'));
});
afterAll(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await aws?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ECR login for a push', () => {
  it('decodes the token of GetAuthorizationToken into the AWS user and its password', async () => {
    const login = await ecrLogin({ region: REGION });
    expect(login).toMatchObject({ username: 'AWS', password: 'emulated-ecr-password' });
    expect(login.proxyEndpoint).toBe(`https://${ECR_HOST}`);
    expect(aws.count('ecr', 'GetAuthorizationToken')).toBe(1);
  });

  it('turns a refused token call into an expected failure naming the permission', async () => {
    aws.faults.add({
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      kind: 'error',
      code: 'AccessDeniedException',
      message: 'User is not authorized to perform: ecr:GetAuthorizationToken',
    });
    const error = await ecrLogin({ region: REGION }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectedFailure);
    expect((error as ExpectedFailure).kind).toBe('aws-permissions');
    expect((error as ExpectedFailure).nextStep).toContain('ecr:GetAuthorizationToken');
  });

  it('logs in into a private config (password on stdin), pushes with it, and removes it', async () => {
    const userConfig = path.join(dir, 'user-config');
    await rm(userConfig, { recursive: true, force: true });
    await mkdir(userConfig, { recursive: true });
    await writeFile(path.join(userConfig, 'config.json'), '{"credsStore":"desktop"}');
    const runner = new RecordingRunner().on(['login'], { stdout: 'Login Succeeded' }).on(['push'], {
      stdout: `The push refers to repository [${ECR_HOST}/team/app]\nv1: digest: ${DIGEST} size: 943`,
    });
    const docker = new DockerClient(
      { path: '/usr/bin/docker', sudo: false, env: { DOCKER_CONFIG: userConfig }, builder: 'buildkit' },
      runner,
    );
    const workDir = path.join(dir, 'work');
    const request = { imageRef: `${ECR_HOST}/team/app:v1`, smokeTest: false } as BuildRequest;
    const outcome = await localPushPort({ docker })(request, workDir, new AbortController().signal);

    expect(outcome.error).toBeUndefined();
    expect(outcome.push).toEqual({ ref: `${ECR_HOST}/team/app:v1`, pushed: true, digest: DIGEST });
    const [login, push] = runner.calls;
    expect(login?.args).toEqual(['login', '--username', 'AWS', '--password-stdin', ECR_HOST]);
    expect(login?.options.input).toBe('emulated-ecr-password');
    expect(JSON.stringify(runner.calls.map((call) => call.args))).not.toContain('emulated-ecr-password');
    const privateConfig = login?.options.env?.DOCKER_CONFIG;
    expect(privateConfig).toBe(path.join(workDir, 'push-docker-config'));
    expect(push?.args).toEqual(['push', `${ECR_HOST}/team/app:v1`]);
    expect(push?.options.env?.DOCKER_CONFIG).toBe(privateConfig);
    // The private copy is gone and the user's config is as it was.
    await expect(stat(privateConfig!)).rejects.toThrow();
    expect(await readFile(path.join(userConfig, 'config.json'), 'utf8')).toBe('{"credsStore":"desktop"}');
  });
});
