import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnoseBuildLog } from '../../../src/diagnosis/diagnose.js';
import { normalizeLog } from '../../../src/diagnosis/normalize.js';

const DIR = path.join(import.meta.dirname, '../../fixtures/real-failures');

function realLog(name: string): string {
  return readFileSync(path.join(DIR, `${name}.log`), 'utf8').replace(/^# source: .*\n/, '');
}

function prefixed(log: string, prefix: string): string {
  return log
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

/** The same output as `docker buildx build --progress=rawjson` would carry it: one vertex, base64 logs. */
function asRawJson(log: string, instruction: string, error: string): string {
  const digest = 'sha256:0f3c0d8b6b1e2a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4';
  const data = (text: string) => Buffer.from(`${text}\n`).toString('base64');
  return [
    JSON.stringify({ vertexes: [{ digest, name: `[2/3] ${instruction}`, started: '2024-01-01T00:00:00Z' }] }),
    ...log
      .split('\n')
      .map((line) =>
        JSON.stringify({ logs: [{ vertex: digest, stream: 1, data: data(line), timestamp: '2024-01-01T00:00:01Z' }] }),
      ),
    JSON.stringify({ vertexes: [{ digest, name: `[2/3] ${instruction}`, error }] }),
  ].join('\n');
}

describe('log forms', () => {
  it('legacy builder output', () => {
    const [primary] = diagnoseBuildLog(realLog('conda-not-found-1'));
    expect(normalizeLog(realLog('conda-not-found-1')).forms).toEqual(['legacy']);
    expect(primary?.kind).toBe('conda-not-found');
  });

  it('BuildKit plain output (#N timestamps)', () => {
    expect(normalizeLog(realLog('pip-hash-mismatch-2')).forms).toEqual(['buildkit-plain']);
    expect(diagnoseBuildLog(realLog('pip-hash-mismatch-2'))[0]?.kind).toBe('pip-hash-mismatch');
  });

  it('BuildKit error summary: `3.183 ` prefixes and the Dockerfile:N context block give the line', () => {
    const log = realLog('pip-hash-mismatch-1');
    expect(normalizeLog(log).forms).toEqual(['buildkit-error-summary']);
    const [primary] = diagnoseBuildLog(log);
    expect(primary).toMatchObject({ kind: 'pip-hash-mismatch', dockerfileLine: 49 });
  });

  it('maps a failure to its Dockerfile line by the instruction text when no line is printed', () => {
    const dockerfile = [
      'FROM nvidia/cuda:10.2-cudnn7-devel-ubuntu18.04',
      'ENV DEBIAN_FRONTEND=noninteractive',
      'RUN apt-get update && apt-get install -y ffmpeg libsm6 libxext6 git ninja-build libglib2.0-0 libsm6 libxrender-dev libxext6 \\',
      '    && apt-get clean \\',
      '    && rm -rf /var/lib/apt/lists/*',
      '',
    ].join('\n');
    const [primary] = diagnoseBuildLog(realLog('apt-nvidia-repo-key-2'), { dockerfileText: dockerfile });
    expect(primary).toMatchObject({ kind: 'apt-nvidia-repo-key', dockerfileLine: 3 });
  });

  it('buildx rawjson (vertexes, logs with base64 data)', () => {
    const raw = asRawJson(
      realLog('pip-resolution-impossible-2'),
      'RUN pip install torch==2.2.1+cu118 torchvision==0.16.1+cu118',
      'process "/bin/sh -c pip install torch==2.2.1+cu118 torchvision==0.16.1+cu118" did not complete successfully: exit code: 1',
    );
    expect(normalizeLog(raw).forms).toEqual(['buildx-rawjson', 'buildkit-plain']);
    const [primary] = diagnoseBuildLog(raw, {
      dockerfileText: 'FROM python:3.10\nRUN pip install torch==2.2.1+cu118 torchvision==0.16.1+cu118\n',
    });
    expect(primary).toMatchObject({ kind: 'pip-resolution-impossible', dockerfileLine: 2 });
    expect(primary!.summary).toContain('torchvision 0.16.1+cu118');
  });

  it('docker compose service prefixes', () => {
    expect(normalizeLog(realLog('runtime-libgl-missing-2')).forms[0]).toBe('compose');
    expect(diagnoseBuildLog(realLog('runtime-libgl-missing-2'))[0]?.kind).toBe('runtime-libgl-missing');
  });

  it('GitHub Actions timestamps (and ##[error] commands)', () => {
    const log = prefixed(realLog('buildkit-required-3'), '2024-01-01T00:00:00.0000000Z ');
    expect(normalizeLog(log).forms).toEqual(['github-actions', 'legacy']);
    expect(diagnoseBuildLog(log)[0]?.kind).toBe('buildkit-required');
    // A real log with the same ISO timestamps (a Docker Hub build).
    expect(normalizeLog(realLog('pip-hash-mismatch-3')).forms).toEqual(['github-actions', 'buildkit-plain']);
  });

  it('CodeBuild [Container] prefixes', () => {
    const log = prefixed(realLog('apt-python-version-unavailable-1'), '[Container] 2024/01/01 00:00:00.000000 ');
    expect(normalizeLog(log).forms).toEqual(['codebuild', 'buildkit-error-summary']);
    expect(diagnoseBuildLog(log)[0]).toMatchObject({ kind: 'apt-python-version-unavailable', dockerfileLine: 5 });
  });

  it('a bare pasted fragment', () => {
    expect(normalizeLog(realLog('pip-resolution-impossible-3')).forms).toEqual(['fragment']);
    const [primary] = diagnoseBuildLog(realLog('pip-resolution-impossible-3'));
    expect(primary?.fix).toMatchObject({ action: 'repin', package: 'torchvision', currentVersion: '0.15.2' });
  });
});

describe('fixes the build loop can apply', () => {
  it('adds --no-build-isolation to the flash-attn install when torch is installed before it', () => {
    const dockerfile = [
      'FROM nvidia/cuda:12.1.1-devel-ubuntu22.04',
      'RUN pip install torch==2.3.1',
      'RUN pip install flash-attn==2.5.9.post1',
      '',
    ].join('\n');
    const [primary] = diagnoseBuildLog(realLog('cuda-ext-build-isolation-1'), {
      dockerfileText: dockerfile,
      failedDockerfileLine: 3,
    });
    expect(primary).toMatchObject({ kind: 'cuda-ext-build-isolation', fixable: true });
    expect(primary!.fix).toMatchObject({
      action: 'dockerfile-edit',
      edit: { startLine: 3, newText: ' --no-build-isolation' },
    });
  });

  it('moves a -runtime base to -devel when nvcc is missing', () => {
    const dockerfile = 'FROM pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime\nRUN pip install ./ext\n';
    const [primary] = diagnoseBuildLog(realLog('cuda-home-missing-1'), {
      dockerfileText: dockerfile,
      failedDockerfileLine: 2,
    });
    expect(primary!.summary).toContain('pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime');
    expect(primary!.fix).toMatchObject({
      action: 'dockerfile-edit',
      edit: { startLine: 1, newText: 'pytorch/pytorch:2.3.1-cuda12.1-cudnn8-devel' },
    });
  });

  it('appends numpy<2 and libgl1 to the final stage for runtime failures', () => {
    const dockerfile = 'FROM python:3.11-slim\nRUN pip install opencv-python\n';
    const numpy = diagnoseBuildLog(realLog('runtime-numpy2-abi-2'), { dockerfileText: dockerfile })[0]!;
    expect(numpy.fix).toMatchObject({
      action: 'dockerfile-edit',
      edit: { newText: expect.stringContaining('numpy<2') },
    });
    const gl = diagnoseBuildLog(realLog('runtime-libgl-missing-1'), { dockerfileText: dockerfile })[0]!;
    expect(gl.fix).toMatchObject({ edit: { newText: expect.stringContaining('libgl1 libglib2.0-0') } });
  });
});
