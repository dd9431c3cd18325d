import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerClient, type DockerInvocation } from '../../../src/docker/client.js';
import { LocalDockerBuilder } from '../../../src/docker/local-builder.js';
import { buildPlatforms } from '../../../src/docker/platform-builds.js';
import {
  imageStoreFromInfo,
  parsePlatforms,
  planPlatformBuilds,
  platformImageRef,
} from '../../../src/docker/platforms.js';
import type { ProcessExit, ProcessSpawner, SpawnedProcess, SpawnOptions } from '../../../src/docker/process-spawner.js';
import { InputError } from '../../../src/util/errors.js';
import { RecordingRunner } from '../../support/fake-runner.js';

// What `docker info --format '{{json .Driver}} {{json .DriverStatus}}'` printed on the two modern engines here
// (Docker 26.1, classic store; and the same engine with "containerd-snapshotter": true).
const CLASSIC_INFO =
  '"overlay2" [["Backing Filesystem","tmpfs"],["Supports d_type","true"],["Using metacopy","false"],["Native Overlay Diff","true"],["userxattr","false"]]\n';
const CONTAINERD_INFO = '"overlayfs" [["driver-type","io.containerd.snapshotter.v1"]]\n';

describe('parsePlatforms', () => {
  it('takes one platform, a comma list, or a list, in order and without repeats', () => {
    expect(parsePlatforms('linux/arm64')).toEqual(['linux/arm64']);
    expect(parsePlatforms('linux/amd64, linux/arm64')).toEqual(['linux/amd64', 'linux/arm64']);
    expect(parsePlatforms(['linux/amd64,linux/arm/v7', 'linux/amd64'])).toEqual(['linux/amd64', 'linux/arm/v7']);
    expect(parsePlatforms(undefined)).toEqual([]);
  });

  it('refuses an entry that is not os/arch[/variant], naming it', () => {
    expect(() => parsePlatforms('linux/amd64,arm64')).toThrow(InputError);
    expect(() => parsePlatforms('linux/amd64,arm64')).toThrow(/"arm64" is not a platform/);
    expect(() => parsePlatforms('linux/amd64,')).toThrow(/empty entry/);
  });
});

describe('image store probe', () => {
  it('reads the containerd image store and the classic one from docker info', () => {
    expect(imageStoreFromInfo({ exitCode: 0, stdout: CONTAINERD_INFO, stderr: '' })).toEqual({
      kind: 'containerd',
      driver: 'overlayfs',
    });
    expect(imageStoreFromInfo({ exitCode: 0, stdout: CLASSIC_INFO, stderr: '' })).toEqual({
      kind: 'classic',
      driver: 'overlay2',
    });
    expect(imageStoreFromInfo({ exitCode: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon' }).kind).toBe(
      'unknown',
    );
  });
});

describe('planPlatformBuilds', () => {
  const two = ['linux/amd64', 'linux/arm64'];

  it('builds one manifest list on the containerd image store', () => {
    const plan = planPlatformBuilds({
      imageRef: 'app:v1',
      platforms: two,
      store: { kind: 'containerd', driver: 'overlayfs' },
      builder: 'buildkit',
    });
    expect(plan.mode).toBe('manifest-list');
    expect(plan.builds).toEqual([{ platform: 'linux/amd64,linux/arm64', imageRef: 'app:v1' }]);
  });

  it('builds one image per platform on the classic store, each under <tag>-<arch>, and says why', () => {
    const plan = planPlatformBuilds({
      imageRef: 'registry.example.com:5000/team/app:v1',
      platforms: [...two, 'linux/arm/v7'],
      store: { kind: 'classic', driver: 'overlay2' },
      builder: 'buildkit',
    });
    expect(plan.mode).toBe('per-platform');
    expect(plan.builds).toEqual([
      { platform: 'linux/amd64', imageRef: 'registry.example.com:5000/team/app:v1-amd64' },
      { platform: 'linux/arm64', imageRef: 'registry.example.com:5000/team/app:v1-arm64' },
      { platform: 'linux/arm/v7', imageRef: 'registry.example.com:5000/team/app:v1-arm-v7' },
    ]);
    expect(plan.reason).toMatch(/classic image store \(overlay2\) holds one platform per tag/);
    expect(plan.reason).toMatch(/containerd-snapshotter/);
  });

  it('builds one platform per build with the legacy builder, even on the containerd store', () => {
    const plan = planPlatformBuilds({
      imageRef: 'app:v1',
      platforms: two,
      store: { kind: 'containerd' },
      builder: 'legacy',
    });
    expect(plan.mode).toBe('per-platform');
    expect(plan.reason).toMatch(/legacy builder/);
  });

  it('keeps a single platform a single build under the asked tag', () => {
    expect(
      planPlatformBuilds({
        imageRef: 'app:v1',
        platforms: ['linux/arm64'],
        store: { kind: 'classic' },
        builder: 'buildkit',
      }),
    ).toMatchObject({ mode: 'single', builds: [{ platform: 'linux/arm64', imageRef: 'app:v1' }] });
  });

  it('names a non-linux platform with its OS and defaults a missing tag to latest', () => {
    expect(platformImageRef('app', 'windows/amd64')).toBe('app:latest-windows-amd64');
  });
});

/** Records each `docker build` and writes the scripted image id into its --iidfile, as docker does. */
class BuildRecorder implements ProcessSpawner {
  readonly builds: string[][] = [];
  constructor(private readonly exitFor: (args: readonly string[]) => number = () => 0) {}
  spawn(_command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
    this.builds.push([...args]);
    const iidFile = args[args.indexOf('--iidfile') + 1]!;
    const platform = args[args.indexOf('--platform') + 1]!;
    const exitCode = this.exitFor(args);
    const exited = (async (): Promise<ProcessExit> => {
      options.onLine(`#1 building ${platform}`, 'stderr');
      if (exitCode === 0) await writeFile(iidFile, `sha256:${platform.replace(/[^a-z0-9]/g, '')}`);
      return { exitCode };
    })();
    return { pid: 1, exited, kill() {} };
  }
}

describe('buildPlatforms: the docker calls for each image store', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'dib-platforms-'));
    await writeFile(path.join(directory, 'Dockerfile'), 'FROM scratch\n');
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  const invocation: DockerInvocation = { path: '/usr/bin/docker', sudo: false, env: {}, builder: 'buildkit' };
  function setup(info: string, exitFor?: (args: readonly string[]) => number) {
    const runner = new RecordingRunner().on(['info'], { stdout: info }).on(['tag'], {});
    const spawner = new BuildRecorder(exitFor);
    const docker = new DockerClient(invocation, runner, spawner);
    return { runner, spawner, deps: { docker, builder: new LocalDockerBuilder({ docker }) } };
  }
  const options = () => ({
    contextDir: directory,
    dockerfilePath: 'Dockerfile',
    imageRef: 'app:v1',
    buildArgs: {},
    labels: {},
    platform: 'linux/amd64,linux/arm64',
    logFile: path.join(directory, 'attempt-1.log'),
  });
  const platformOf = (args: string[]) => args[args.indexOf('--platform') + 1];
  const tagOf = (args: string[]) => args[args.indexOf('-t') + 1];

  it('containerd store: one build with --platform a,b under the asked tag', async () => {
    const { spawner, runner, deps } = setup(CONTAINERD_INFO);
    const result = await buildPlatforms(deps, options());
    expect(spawner.builds.map((args) => [platformOf(args), tagOf(args)])).toEqual([
      ['linux/amd64,linux/arm64', 'app:v1'],
    ]);
    expect(result.success).toBe(true);
    expect(result.platformBuild?.mode).toBe('manifest-list');
    expect(result.platformBuild?.images.map((image) => image.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(runner.calls.some((call) => call.args[0] === 'tag')).toBe(false);
  });

  it('classic store: one build per platform into one log, then name:tag on the first platform', async () => {
    const { spawner, runner, deps } = setup(CLASSIC_INFO);
    const result = await buildPlatforms(deps, options());
    expect(spawner.builds.map((args) => [platformOf(args), tagOf(args)])).toEqual([
      ['linux/amd64', 'app:v1-amd64'],
      ['linux/arm64', 'app:v1-arm64'],
    ]);
    expect(result.platformBuild?.images).toEqual([
      { platform: 'linux/amd64', imageRef: 'app:v1-amd64', imageId: 'sha256:linuxamd64' },
      { platform: 'linux/arm64', imageRef: 'app:v1-arm64', imageId: 'sha256:linuxarm64' },
    ]);
    expect(result.imageId).toBe('sha256:linuxamd64');
    expect(runner.calls.find((call) => call.args[0] === 'tag')?.args).toEqual(['tag', 'sha256:linuxamd64', 'app:v1']);
    const log = await readFile(path.join(directory, 'attempt-1.log'), 'utf8');
    expect(log).toMatch(/building linux\/amd64[\s\S]*building linux\/arm64/);
    expect(log).toMatch(/^# per-platform build: .*classic image store/);
  });

  it('classic store: stops at the first platform that fails and tags nothing', async () => {
    const { spawner, runner, deps } = setup(CLASSIC_INFO, (args) => (platformOf([...args]) === 'linux/amd64' ? 1 : 0));
    const result = await buildPlatforms(deps, options());
    expect(spawner.builds).toHaveLength(1);
    expect(result.success).toBe(false);
    expect(runner.calls.some((call) => call.args[0] === 'tag')).toBe(false);
  });

  it('one platform: a plain build, no image store probe', async () => {
    const { spawner, runner, deps } = setup(CLASSIC_INFO);
    await buildPlatforms(deps, { ...options(), platform: 'linux/arm64' });
    expect(spawner.builds.map((args) => [platformOf(args), tagOf(args)])).toEqual([['linux/arm64', 'app:v1']]);
    expect(runner.calls).toHaveLength(0);
  });
});
