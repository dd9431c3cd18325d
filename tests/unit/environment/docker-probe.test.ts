import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildKitProgressFor,
  classifyDaemonError,
  probeDocker,
  resolveBuilder,
} from '../../../src/environment/docker-probe.js';
import { ExecaCommandRunner } from '../../../src/util/command-runner.js';
import { RecordingRunner } from '../../support/fake-runner.js';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/docker-probe');
const fixture = (name: string) => readFile(path.join(fixtures, name), 'utf8');

/** A stand-in docker executable so findExecutable succeeds; the RecordingRunner answers for it. */
async function fakeDockerOnPath(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-fake-docker-'));
  await writeFile(path.join(dir, 'docker'), '#!/bin/sh\nexit 99\n');
  await chmod(path.join(dir, 'docker'), 0o755);
  return { dir, env: { PATH: dir } };
}

describe('probeDocker with recorded docker output', () => {
  it('reports a reachable 20.10 engine driven by a newer CLI without buildx as the legacy builder', async () => {
    const { dir, env } = await fakeDockerOnPath();
    const runner = new RecordingRunner()
      .on(['version'], { stdout: await fixture('version-28-on-20.10.json') })
      .on(['info'], { stdout: await fixture('info-20.10.json') })
      .on(['buildx'], { exitCode: 1, stderr: 'docker: unknown command: docker buildx' })
      .on(['context', 'show'], { stdout: 'default' });
    const status = await probeDocker({ runner, dockerCommand: 'docker', useSudo: false, env, timeoutMs: 1000 });
    expect(status.cli).toEqual({ found: true, path: path.join(dir, 'docker'), version: '28.2.2', api_version: '1.41' });
    expect(status.daemon).toMatchObject({
      state: 'reachable',
      server_version: '20.10.24+dfsg1',
      api_version: '1.41',
      os: 'linux',
      arch: 'amd64',
      storage_driver: 'overlay2',
    });
    expect(status.builder).toMatchObject({ default: 'legacy', selected: 'legacy', buildkit_available: false });
    expect(status.warnings.join(' ')).toMatch(/legacy builder/);
    expect(status.gpu.available).toBe(false);
    expect(status.context).toEqual({ name: 'default', source: 'default' });
    // Exact arguments: JSON formats, never a shell string.
    expect(runner.calls.map((call) => call.args)).toEqual(
      expect.arrayContaining([
        ['version', '--format', '{{json .}}'],
        ['info', '--format', '{{json .}}'],
        ['buildx', 'version'],
        ['context', 'show'],
      ]),
    );
    expect(runner.calls.every((call) => call.command === path.join(dir, 'docker'))).toBe(true);
    // The decision the build gets: the CLI the probe ran, no sudo, the selected builder.
    expect(status.invocation).toEqual({ path: path.join(dir, 'docker'), sudo: false, env: {}, builder: 'legacy' });
  });

  it('hands a reachable daemon its invocation: sudo, the Docker variables as sudo arguments, the builder', async () => {
    const { dir, env } = await fakeDockerOnPath();
    const dockerHost = 'unix:///run/docker-alt.sock';
    const sudoPrefix = ['-n', `DOCKER_HOST=${dockerHost}`, path.join(dir, 'docker')];
    const runner = new RecordingRunner()
      .on([...sudoPrefix, 'version'], { stdout: await fixture('version-28-on-20.10.json') })
      .on([...sudoPrefix, 'info'], { stdout: await fixture('info-20.10.json') })
      .on([...sudoPrefix, 'buildx'], { stdout: 'github.com/docker/buildx v0.24.0 abc' });
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: true,
      env: { ...env, DOCKER_HOST: dockerHost, AWS_PROFILE: 'not-for-docker' },
      timeoutMs: 1000,
    });
    const docker = path.join(dir, 'docker');
    expect(status.daemon.state).toBe('reachable');
    expect(status.invocation).toEqual({
      path: docker,
      sudo: true,
      env: { DOCKER_HOST: dockerHost },
      builder: 'buildkit',
      // A Docker 28 CLI hands the build to buildx, whose JSON progress gives exact step timings.
      progress: 'rawjson',
    });
    // Every probe call already ran the way a build will: through sudo, DOCKER_HOST passed across its reset.
    for (const call of runner.calls) {
      expect(call.command).toBe('sudo');
      expect(call.args.slice(0, 3)).toEqual(['-n', `DOCKER_HOST=${dockerHost}`, docker]);
    }
  });

  it('classifies the real permission-denied error and points at use_sudo', async () => {
    const { env } = await fakeDockerOnPath();
    const runner = new RecordingRunner().on(['version'], {
      exitCode: 1,
      stdout: await fixture('version-permission-denied.stdout'),
      stderr: await fixture('version-permission-denied.stderr'),
    });
    const status = await probeDocker({ runner, dockerCommand: 'docker', useSudo: false, env, timeoutMs: 1000 });
    expect(status.daemon.state).toBe('permission-denied');
    expect(status.daemon.hint).toMatch(/use_sudo/);
    expect(status.invocation).toBeUndefined();
    // `info` runs beside `version` (one round trip), but a daemon that refused `version` reports nothing of it.
    expect(status.daemon.storage_driver).toBeUndefined();
    expect(status.containerd_image_store.enabled).toBeUndefined();
  });

  it('classifies a daemon that is down as unreachable', async () => {
    const { env } = await fakeDockerOnPath();
    const runner = new RecordingRunner().on(['version'], {
      exitCode: 1,
      stdout: await fixture('version-daemon-down.json'),
      stderr: await fixture('version-daemon-down.stderr'),
    });
    const status = await probeDocker({ runner, dockerCommand: 'docker', useSudo: false, env, timeoutMs: 1000 });
    expect(status.daemon.state).toBe('unreachable');
    expect(status.daemon.error).toContain('Cannot connect to the Docker daemon');
    expect(status.cli.version).toBe('28.2.2');
  });

  it('runs every docker call through `sudo -n` when use_sudo is set', async () => {
    const { dir, env } = await fakeDockerOnPath();
    const runner = new RecordingRunner().on([], { exitCode: 1, stderr: 'sudo: a password is required' });
    const status = await probeDocker({ runner, dockerCommand: 'docker', useSudo: true, env, timeoutMs: 1000 });
    expect(runner.calls.every((call) => call.command === 'sudo' && call.args[0] === '-n')).toBe(true);
    expect(runner.calls[0]!.args).toEqual(['-n', path.join(dir, 'docker'), 'version', '--format', '{{json .}}']);
    expect(status.daemon.state).toBe('permission-denied');
    expect(status.daemon.error).toMatch(/password/);
  });

  it('reports no-cli when docker is not on PATH', async () => {
    const runner = new RecordingRunner();
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: false,
      env: { PATH: '/nonexistent' },
      timeoutMs: 1000,
    });
    expect(status.daemon.state).toBe('no-cli');
    expect(status.daemon.hint).toMatch(/Install Docker/);
    expect(runner.calls).toHaveLength(0);
  });

  it('finds an nvidia runtime and CDI GPU devices in docker info', async () => {
    const { env } = await fakeDockerOnPath();
    const info = JSON.parse(await fixture('info-20.10.json')) as Record<string, unknown>;
    info.Runtimes = { ...(info.Runtimes as object), nvidia: { path: 'nvidia-container-runtime' } };
    info.DiscoveredDevices = [{ Source: 'cdi', ID: 'nvidia.com/gpu=0' }];
    const runner = new RecordingRunner()
      .on(['version'], { stdout: await fixture('version-28-on-20.10.json') })
      .on(['info'], { stdout: JSON.stringify(info) });
    const status = await probeDocker({ runner, dockerCommand: 'docker', useSudo: false, env, timeoutMs: 1000 });
    expect(status.gpu).toMatchObject({ available: true, cdi_devices: ['nvidia.com/gpu=0'] });
    expect(status.gpu.runtimes).toContain('nvidia');
  });

  it('reports DOCKER_HOST as the endpoint source', async () => {
    const { env } = await fakeDockerOnPath();
    const runner = new RecordingRunner();
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: false,
      env: { ...env, DOCKER_HOST: 'tcp://127.0.0.1:1' },
      timeoutMs: 1000,
    });
    expect(status.context).toMatchObject({ docker_host: 'tcp://127.0.0.1:1', source: 'DOCKER_HOST' });
    for (const call of runner.calls) expect(call.options.env).toEqual({ DOCKER_HOST: 'tcp://127.0.0.1:1' });
  });
});

describe('probeDocker against a docker command that never answers', () => {
  it('gives up after its timeout and reports the daemon as unresponsive', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-hung-docker-'));
    const hung = path.join(dir, 'docker');
    await writeFile(hung, '#!/bin/sh\nexec sleep 600\n');
    await chmod(hung, 0o755);
    const started = performance.now();
    const status = await probeDocker({
      runner: new ExecaCommandRunner(),
      dockerCommand: hung,
      useSudo: false,
      env: process.env,
      timeoutMs: 700,
    });
    const elapsed = performance.now() - started;
    expect(status.daemon.state).toBe('unresponsive');
    expect(status.daemon.hint).toMatch(/Restart/);
    expect(elapsed).toBeLessThan(4_000);
  });
});

describe('resolveBuilder', () => {
  it('uses buildx when the plugin is there', () => {
    expect(resolveBuilder('28.2.2', 'github.com/docker/buildx v0.24.0', {})).toMatchObject({
      default: 'buildx',
      selected: 'buildkit',
    });
  });
  it('honours DOCKER_BUILDKIT=0 even with buildx', () => {
    expect(resolveBuilder('28.2.2', 'v0.24.0', { DOCKER_BUILDKIT: '0' })).toMatchObject({ selected: 'legacy' });
  });
  it('treats DOCKER_BUILDKIT=1 without buildx on a new CLI as broken and falls back to legacy', () => {
    const builder = resolveBuilder('28.2.2', undefined, { DOCKER_BUILDKIT: '1' });
    expect(builder).toMatchObject({ default: 'broken', selected: 'legacy' });
    expect(builder.note).toMatch(/buildx/);
  });
  it('uses the built-in BuildKit of a 20.10 CLI', () => {
    expect(resolveBuilder('20.10.24+dfsg1', undefined, {})).toMatchObject({ default: 'legacy', selected: 'buildkit' });
    expect(resolveBuilder('20.10.24+dfsg1', undefined, { DOCKER_BUILDKIT: '1' })).toMatchObject({
      default: 'buildkit-env',
      selected: 'buildkit',
    });
  });
});

describe('buildKitProgressFor: the progress mode decided with the invocation', () => {
  it('reads rawjson where buildx runs docker build and knows the mode', () => {
    expect(buildKitProgressFor('26.1.5+dfsg1', 'github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3', 'buildkit')).toBe(
      'rawjson',
    );
    expect(buildKitProgressFor('28.2.2', 'github.com/docker/buildx v0.24.0 abc', 'buildkit')).toBe('rawjson');
  });

  it('keeps plain for the 20.10 CLI (its own BuildKit, even with the plugin), an old buildx, or no buildx', () => {
    expect(buildKitProgressFor('20.10.24+dfsg1', 'github.com/docker/buildx v0.13.1 abc', 'buildkit')).toBe('plain');
    expect(buildKitProgressFor('20.10.24+dfsg1', undefined, 'buildkit')).toBe('plain');
    expect(buildKitProgressFor('24.0.7', 'github.com/docker/buildx v0.11.2 9872040', 'buildkit')).toBe('plain');
    expect(buildKitProgressFor('28.2.2', 'github.com/docker/buildx v0.24.0 abc', 'legacy')).toBe('plain');
  });
});

describe('classifyDaemonError', () => {
  it('prefers the timeout over any text', () => {
    const result = {
      command: 'docker',
      args: [],
      exitCode: undefined,
      stdout: '',
      stderr: '',
      timedOut: true,
      notFound: false,
      cancelled: false,
      durationMs: 4000,
    };
    expect(classifyDaemonError(result).state).toBe('unresponsive');
  });
});
