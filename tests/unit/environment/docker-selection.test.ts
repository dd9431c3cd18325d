import { chmod, mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseContextList } from '../../../src/docker/contexts.js';
import { probeDocker } from '../../../src/environment/docker-probe.js';
import { selectTarget } from '../../../src/environment/docker-selection.js';
import { probeQemu } from '../../../src/environment/qemu-probe.js';
import { summarize } from '../../../src/environment/summary.js';
import { RecordingRunner } from '../../support/fake-runner.js';

const buildxFixture = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, '../../fixtures/buildx', name), 'utf8');
const probeFixture = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, '../../fixtures/docker-probe', name), 'utf8');
const contexts = parseContextList(buildxFixture('context-ls.jsonl'));

async function fakeDockerOnPath(): Promise<{ docker: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-fake-docker-'));
  await writeFile(path.join(dir, 'docker'), '#!/bin/sh\nexit 99\n');
  await chmod(path.join(dir, 'docker'), 0o755);
  return { docker: path.join(dir, 'docker'), env: { PATH: dir, DOCKER_HOST: 'unix:///var/run/docker.sock' } };
}

/** A runner answering as the modern engine does through context dib-modern, and `context ls` as captured. */
function modernEngineRunner(): RecordingRunner {
  return new RecordingRunner()
    .on(['context', 'ls'], { stdout: buildxFixture('context-ls.jsonl') })
    .on(['--context', 'dib-modern', 'version'], { stdout: probeFixture('version-28-on-20.10.json') })
    .on(['--context', 'dib-modern', 'info'], { stdout: probeFixture('info-20.10.json') })
    .on(['--context', 'dib-modern', 'buildx', 'version'], { stdout: buildxFixture('version-0.13.txt') })
    .on(['--context', 'dib-modern', 'buildx', 'inspect'], { stdout: buildxFixture('inspect-0.13-docker-26.txt') })
    .on(['--context', 'dib-modern', 'buildx', 'ls'], { stdout: buildxFixture('ls-0.13-two-contexts.txt') })
    .on(['--context', 'dib-modern', 'context', 'show'], { stdout: 'dib-modern\n' });
}

describe('selectTarget: docker_context and builder against the contexts that exist', () => {
  it('refuses an unknown context with the ones that exist and how to create it', () => {
    const result = selectTarget({ context: 'gpu-box' }, contexts);
    expect(result).toMatchObject({ error: expect.stringContaining('"gpu-box" does not exist') });
    expect('error' in result && result.error).toContain('default (current), dib-modern');
    expect('hint' in result && result.hint).toContain('docker context create gpu-box');
  });

  it("maps a builder that is a context's docker driver to that context, and says so", () => {
    const result = selectTarget({ builder: 'dib-modern' }, contexts);
    expect(result).toMatchObject({ context: 'dib-modern', builder: 'dib-modern' });
    expect('warnings' in result && result.warnings.join(' ')).toMatch(/docker --context dib-modern/);
  });

  it("refuses a context's docker-driver builder together with another docker_context", () => {
    const result = selectTarget({ context: 'dib-modern', builder: 'default' }, contexts);
    expect(result).toMatchObject({ error: expect.stringContaining('docker_context is "dib-modern"') });
  });

  it('keeps a builder that is no context (buildx create) for buildx to check', () => {
    expect(selectTarget({ context: 'dib-modern', builder: 'remote-arm' }, contexts)).toEqual({
      context: 'dib-modern',
      builder: 'remote-arm',
      warnings: [],
    });
  });
});

describe('probeDocker with docker_context and builder', () => {
  it('sends every call but the context listing through --context, and hands the build that invocation', async () => {
    const { docker, env } = await fakeDockerOnPath();
    const runner = modernEngineRunner();
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: false,
      env,
      timeoutMs: 1000,
      context: 'dib-modern',
    });
    expect(status.daemon.state).toBe('reachable');
    expect(status.context).toMatchObject({ name: 'dib-modern', source: 'docker_context' });
    expect(status.buildx.builder).toMatchObject({ name: 'dib-modern', driver: 'docker' });
    expect(status.invocation).toMatchObject({ path: docker, context: 'dib-modern' });
    expect(status.invocation?.buildxBuilder).toBeUndefined();
    const withoutContext = runner.calls.filter((call) => call.args[0] !== '--context');
    expect(withoutContext.map((call) => call.args)).toEqual([['context', 'ls', '--format', '{{json .}}']]);
  });

  it('refuses an unknown docker_context without asking any daemon', async () => {
    const { env } = await fakeDockerOnPath();
    const runner = modernEngineRunner();
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: false,
      env,
      timeoutMs: 1000,
      context: 'nope',
    });
    expect(status.selection).toMatchObject({ docker_context: 'nope', ok: false });
    expect(status.daemon.error).toContain('Contexts here: default (current), dib-modern');
    expect(status.invocation).toBeUndefined();
    expect(runner.calls.map((call) => call.args[0])).toEqual(['context']);
  });

  it('refuses an unknown builder with the builders buildx lists', async () => {
    const { env } = await fakeDockerOnPath();
    const runner = modernEngineRunner().on(['--context', 'dib-modern', 'buildx', 'inspect', 'fast'], {
      exitCode: 1,
      stderr: 'ERROR: no builder "fast" found\n',
    });
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: false,
      env,
      timeoutMs: 1000,
      context: 'dib-modern',
      builder: 'fast',
    });
    expect(status.selection).toMatchObject({ ok: false, builder: 'fast' });
    expect(status.selection?.error).toContain('Builders here: default (current) [docker], dib-modern [docker]');
    expect(status.selection?.hint).toContain('docker --context dib-modern buildx ls');
    expect(status.invocation).toBeUndefined();
  });

  it('gives a known builder to the build as a BuildKit invocation with that builder', async () => {
    const { env } = await fakeDockerOnPath();
    const runner = modernEngineRunner().on(['--context', 'dib-modern', 'buildx', 'inspect', 'dib-modern'], {
      stdout: buildxFixture('inspect-0.13-docker-26.txt'),
    });
    const status = await probeDocker({
      runner,
      dockerCommand: 'docker',
      useSudo: false,
      env: { ...env, DOCKER_BUILDKIT: '0' },
      timeoutMs: 1000,
      builder: 'dib-modern',
    });
    expect(status.selection).toMatchObject({ ok: true, note: expect.stringContaining('--context dib-modern') });
    expect(status.invocation).toMatchObject({
      context: 'dib-modern',
      buildxBuilder: 'dib-modern',
      builder: 'buildkit',
    });
    // The one-line summary people read names the builder and what it can build.
    const aws = { credentials: { found: false }, region: { name: 'us-west-2' }, identity: {} } as never;
    const recommendation = { mode: 'local' as const, ready: true, reason: 'ok', warnings: [], next_steps: [] };
    expect(summarize({ docker: status, aws, recommendation, duration_ms: 1 })).toContain(
      'buildx builder dib-modern (docker) for linux/amd64, linux/amd64/v2',
    );
  });
});

describe('probeQemu', () => {
  it('lists registered emulators with whether they are enabled', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-binfmt-'));
    await writeFile(path.join(dir, 'status'), 'enabled\n');
    await writeFile(
      path.join(dir, 'qemu-aarch64'),
      'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n',
    );
    await writeFile(path.join(dir, 'qemu-riscv64'), 'disabled\ninterpreter /usr/bin/qemu-riscv64-static\n');
    expect(await probeQemu({ dir, timeoutMs: 1000 })).toEqual({
      emulators: [
        {
          name: 'qemu-aarch64',
          arch: 'aarch64',
          enabled: true,
          interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P',
        },
        { name: 'qemu-riscv64', arch: 'riscv64', enabled: false, interpreter: '/usr/bin/qemu-riscv64-static' },
      ],
    });
  });

  it('fails soft with a reason when binfmt_misc is not there or has no emulator', async () => {
    const missing = await probeQemu({ dir: '/nonexistent/binfmt_misc', timeoutMs: 1000 });
    expect(missing.emulators).toEqual([]);
    expect(missing.reason).toMatch(/not mounted/);
    const empty = await mkdtemp(path.join(os.tmpdir(), 'dib-binfmt-'));
    await mkdir(path.join(empty, 'sub'));
    expect((await probeQemu({ dir: empty, timeoutMs: 1000 })).reason).toMatch(/No QEMU emulator/);
  });
});
