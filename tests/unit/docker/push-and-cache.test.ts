import { mkdtemp, readFile, readlink, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheArgs, cacheExportProblem, parseCacheSpec, probeCacheSupport } from '../../../src/docker/cache-args.js';
import { DockerClient } from '../../../src/docker/client.js';
import {
  classifyPushFailure,
  digestFromPushOutput,
  dockerLogin,
  ecrRegionOf,
  privateDockerConfig,
  registryHostOf,
} from '../../../src/docker/push.js';
import { checkPushInput, targetProblem } from '../../../src/builds/push-cache-checks.js';
import type { BuildRequest } from '../../../src/build-model/attempt.js';
import { InputError } from '../../../src/util/errors.js';
import { RecordingRunner } from '../../support/fake-runner.js';

function inputError(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('cache_from / cache_to', () => {
  it('passes docker syntax through, a bare image as a registry source, local paths made absolute', () => {
    expect(
      cacheArgs(
        ['127.0.0.1:5000/team/app:cache', 'type=local,src=cache-dir'],
        ['type=inline', 'type=registry,ref=127.0.0.1:5000/team/app:cache,mode=max'],
      ),
    ).toEqual([
      '--cache-from',
      'type=registry,ref=127.0.0.1:5000/team/app:cache',
      '--cache-from',
      `type=local,src=${path.resolve('cache-dir')}`,
      '--cache-to',
      'type=inline',
      '--cache-to',
      'type=registry,ref=127.0.0.1:5000/team/app:cache,mode=max',
    ]);
  });

  it('refuses an unknown type, a missing ref/src/dest, inline as a source and broken attributes, with the fix', () => {
    expect(inputError(() => parseCacheSpec('type=gha', 'to')).message).toBe('cache_to: type=gha is not supported here');
    expect(inputError(() => parseCacheSpec('type=registry', 'from')).message).toContain('needs ref=');
    expect(inputError(() => parseCacheSpec('type=local', 'to')).message).toContain('needs dest=');
    expect(inputError(() => parseCacheSpec('type=local,dest=/x', 'from')).message).toContain('needs src=');
    expect(inputError(() => parseCacheSpec('type=inline', 'from')).hint).toContain('type=registry,ref=');
    expect(inputError(() => parseCacheSpec('type=registry,ref=a\nb', 'to')).message).toContain('not a key=value');
    expect(inputError(() => parseCacheSpec('ref=x', 'to')).message).toContain('has no type=');
  });

  it('lets the docker driver export inline cache only, unless the engine uses the containerd store', () => {
    const docker = { driver: 'docker', containerdStore: false };
    expect(cacheExportProblem(['type=inline'], docker)).toBeUndefined();
    const refused = cacheExportProblem(['type=inline', 'type=local,dest=/tmp/c'], docker);
    expect(refused?.message).toContain('type=local,dest=/tmp/c');
    expect(refused?.message).not.toContain('type=inline and');
    expect(refused?.nextSteps.join(' ')).toMatch(/type=inline.*docker buildx create --use --driver docker-container/s);
    expect(cacheExportProblem(['type=local,dest=/tmp/c'], { ...docker, containerdStore: true })).toBeUndefined();
    expect(
      cacheExportProblem(['type=registry,ref=r/x'], { driver: 'docker-container', containerdStore: false }),
    ).toBeUndefined();
  });
});

describe('push', () => {
  it('finds the registry host the way docker does, and ECR regions', () => {
    expect(registryHostOf('127.0.0.1:5000/team/app:v1')).toBe('127.0.0.1:5000');
    expect(registryHostOf('localhost/app')).toBe('localhost');
    expect(registryHostOf('docker.io/user/app')).toBe('docker.io');
    expect(registryHostOf('team/app:v1')).toBeUndefined();
    expect(registryHostOf('app:v1')).toBeUndefined();
    expect(ecrRegionOf('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('eu-west-1');
    expect(ecrRegionOf('registry.example.com')).toBeUndefined();
  });

  it('refuses push for a name without a registry host, naming the fix', () => {
    const error = inputError(() => checkPushInput({ push: true, imageRef: 'team/app:v1' }));
    expect(error.field).toBe('image_name');
    expect(error.hint).toContain('"127.0.0.1:5000/team/app"');
    expect(() => checkPushInput({ push: true, imageRef: '127.0.0.1:5000/team/app:v1' })).not.toThrow();
    expect(() => checkPushInput({ push: false, imageRef: 'app:v1' })).not.toThrow();
  });

  // The texts below were printed by the Docker 26 engine here (docker push / docker login to distribution 2.8).
  it('reads the digest docker push prints', () => {
    const output =
      'The push refers to repository [127.0.0.1:5000/h3/app]\nb05422596ecd: Pushed\n' +
      'v1: digest: sha256:8df1d745d7512b46ce9acfcb11db3e77d699f7f4eb72ddb0aaea7f8a3f4da369 size: 943\n';
    expect(digestFromPushOutput(output)).toBe(
      'sha256:8df1d745d7512b46ce9acfcb11db3e77d699f7f4eb72ddb0aaea7f8a3f4da369',
    );
  });

  it('puts a failed push into a reason and a next step', () => {
    const auth = classifyPushFailure('aea302862460: Preparing\nno basic auth credentials', '127.0.0.1:5001');
    expect(auth).toMatchObject({ reason: 'auth' });
    expect(auth.nextStep).toContain('docker login 127.0.0.1:5001');
    const refused = classifyPushFailure(
      'Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
      '127.0.0.1:5999',
    );
    expect(refused.reason).toBe('unreachable');
    const dns = classifyPushFailure(
      'Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid on 10.255.255.53:53: no such host',
      'registry.invalid',
    );
    expect(dns.reason).toBe('unreachable');
    expect(classifyPushFailure('denied: requested access to the resource is denied', 'docker.io').reason).toBe(
      'denied',
    );
    expect(classifyPushFailure('something new', 'r.example').reason).toBe('failed');
  });

  it('logs in with the password on stdin only, into the given config', async () => {
    const runner = new RecordingRunner().on(['login'], { exitCode: 0, stdout: 'Login Succeeded' });
    const docker = new DockerClient({ path: '/usr/bin/docker', sudo: false, env: {}, builder: 'buildkit' }, runner);
    const result = await dockerLogin(docker, {
      host: 'r.example',
      username: 'AWS',
      password: 's3cr3t-token',
      dockerConfig: '/tmp/private',
    });
    expect(result.ok).toBe(true);
    const call = runner.calls[0]!;
    expect(call.args).toEqual(['login', '--username', 'AWS', '--password-stdin', 'r.example']);
    expect(call.args.join(' ')).not.toContain('s3cr3t-token');
    expect(call.options.input).toBe('s3cr3t-token');
    expect(call.options.env).toMatchObject({ DOCKER_CONFIG: '/tmp/private' });
  });

  it('makes a private config without the credential store, linking plugins and contexts', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'dib-config-'));
    const source = path.join(root, 'user');
    await mkdir(path.join(source, 'cli-plugins'), { recursive: true });
    const userConfig = { auths: { 'a.example': { auth: 'eA==' } }, credsStore: 'desktop', currentContext: 'x' };
    await writeFile(path.join(source, 'config.json'), JSON.stringify(userConfig));
    const target = await privateDockerConfig(source, path.join(root, 'private'));
    const copy = JSON.parse(await readFile(path.join(target, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(copy).toEqual({ auths: { 'a.example': { auth: 'eA==' } }, currentContext: 'x' });
    expect(await readlink(path.join(target, 'cli-plugins'))).toBe(path.join(source, 'cli-plugins'));
    expect(JSON.parse(await readFile(path.join(source, 'config.json'), 'utf8'))).toEqual(userConfig);
  });
});

describe('push and caches against where the build runs', () => {
  const local = (builder: 'buildkit' | 'legacy') => ({
    mode: 'local' as const,
    docker: { path: '/usr/bin/docker', sudo: false, env: {}, builder },
  });
  const codebuild = { mode: 'codebuild' as const, region: 'us-west-2', project: 'p' };
  const request = (overrides: Partial<BuildRequest>) =>
    ({ imageRef: 'r.example/app:v1', ...overrides }) as BuildRequest;
  // `docker buildx inspect` of buildx 0.13 against Docker 26 here, first lines.
  const inspect = 'Name:          default\nDriver:        docker\nLast Activity: 2026-12-02 06:39:21 +0000 UTC\n';
  const runner = () =>
    new RecordingRunner()
      .on(['buildx', 'inspect'], { stdout: inspect })
      .on(['info'], { stdout: '[["Backing Filesystem","tmpfs"],["Supports d_type","true"]]' });
  const clientOf = (recording: RecordingRunner) => () => new DockerClient(local('buildkit').docker, recording);

  it('reads the driver and the image store the engine reports', async () => {
    expect(await probeCacheSupport(clientOf(runner())())).toEqual({ driver: 'docker', containerdStore: false });
  });

  it('refuses push and caches for CodeBuild and caches on the legacy builder, without asking docker', async () => {
    const recording = runner();
    const toCodebuild = await targetProblem(request({ push: true }), codebuild, clientOf(recording));
    expect(toCodebuild).toMatchObject({ refused: true, mode: 'codebuild' });
    expect(toCodebuild?.message).toContain('push run with local Docker only');
    const legacy = await targetProblem(request({ cacheFrom: ['r/x:c'] }), local('legacy'), clientOf(recording));
    expect(legacy?.message).toContain('need BuildKit');
    expect(await targetProblem(request({ push: true }), local('legacy'), clientOf(recording))).toBeUndefined();
    expect(recording.calls).toEqual([]);
  });

  it('refuses several platforms for CodeBuild (one image per build there), and lets one through', async () => {
    const recording = runner();
    const several = await targetProblem(
      request({ platform: 'linux/amd64,linux/arm64' }),
      codebuild,
      clientOf(recording),
    );
    expect(several).toMatchObject({ refused: true, mode: 'codebuild' });
    expect(several?.message).toContain('several platforms run with local Docker only');
    expect(await targetProblem(request({ platform: 'linux/arm64' }), codebuild, clientOf(recording))).toBeUndefined();
    expect(
      await targetProblem(request({ platform: 'linux/amd64,linux/arm64' }), local('buildkit'), clientOf(recording)),
    ).toBeUndefined();
  });

  it('asks the builder only for exports other than inline, and refuses what its driver cannot export', async () => {
    const recording = runner();
    const fromOnly = request({ cacheFrom: ['type=registry,ref=r/x:c'], cacheTo: ['type=inline'] });
    expect(await targetProblem(fromOnly, local('buildkit'), clientOf(recording))).toBeUndefined();
    const toLocal = request({ cacheTo: ['type=local,dest=/tmp/c'] });
    const refused = await targetProblem(toLocal, local('buildkit'), clientOf(recording));
    expect(refused).toMatchObject({ refused: true, mode: 'local' });
    expect(recording.calls.map((call) => call.args[0])).toEqual(['buildx', 'info']);
  });
});
