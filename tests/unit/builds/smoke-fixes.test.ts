import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildRequest, PreparedSources } from '../../../src/build-model/attempt.js';
import type { SmokeResult } from '../../../src/build-model/smoke-schema.js';
import { planAfterSmokeFailure } from '../../../src/builds/fixes.js';

async function setup(dockerfile: string): Promise<{ request: BuildRequest; prepared: PreparedSources; work: string }> {
  const contextDir = await mkdtemp(path.join(tmpdir(), 'smoke-fix-'));
  await writeFile(path.join(contextDir, 'Dockerfile'), dockerfile);
  const request = {
    contextDir,
    dockerfile: 'Dockerfile',
    imageRef: 'smoke-fix:latest',
    autoFix: true,
    fixBeforeBuild: true,
    smokeTest: true,
    smokeCommands: [],
    maxAttempts: 3,
    useSudo: false,
    buildArgs: {},
    noCache: false,
    pull: false,
    labels: {},
    writeFixes: false,
    timeoutSeconds: 600,
  } satisfies BuildRequest;
  const prepared = { contextDir, dockerfilePath: path.join(contextDir, 'Dockerfile'), fixedTexts: {} };
  return { request, prepared, work: await mkdtemp(path.join(tmpdir(), 'smoke-work-')) };
}

function failedSmoke(name: string, output: string, extra: Partial<SmokeResult> = {}): SmokeResult {
  return {
    image: 'smoke-fix:latest',
    passed: false,
    checks: [
      { name: 'container-starts', status: 'passed', output_excerpt: '' },
      { name, status: 'failed', output_excerpt: output, detail: `${name} failed` },
    ],
    ...extra,
  } as SmokeResult;
}

describe('planAfterSmokeFailure (smoke-test failures fixed by the build loop)', () => {
  it('repins torchvision to the release paired with the torch in the image', async () => {
    const { request, prepared, work } = await setup(
      'FROM pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime\nRUN pip install --no-cache-dir torchvision==0.17.0\n',
    );
    // The traceback a real user pasted (fudan-generative-vision/hallo#98), as the nms check prints it.
    const plan = await planAfterSmokeFailure(
      request,
      failedSmoke('torchvision-nms', 'RuntimeError: operator torchvision::nms does not exist', {
        torch_version: '2.3.1+cu121',
        torchvision_version: '0.17.0',
      }),
      prepared,
      work,
    );
    expect(plan.error.kind).toBe('runtime-torch-companion-mismatch');
    expect(plan.retry?.fixes[0]?.what).toBe('torchvision==0.17.0 -> torchvision==0.18.1');
    expect(plan.retry?.prepared.fixedTexts['Dockerfile']).toContain('torchvision==0.18.1');
  });

  it('installs libgl1 libglib2.0-0 when cv2 cannot load libGL.so.1', async () => {
    const { request, prepared, work } = await setup('FROM python:3.11-slim\nRUN pip install opencv-python\n');
    const plan = await planAfterSmokeFailure(
      request,
      failedSmoke('command-1', 'ImportError: libGL.so.1: cannot open shared object file: No such file or directory'),
      prepared,
      work,
    );
    expect(plan.error.kind).toBe('runtime-libgl-missing');
    expect(plan.retry?.prepared.fixedTexts['Dockerfile']).toMatch(
      /apt-get install -y --no-install-recommends libgl1 libglib2\.0-0/,
    );
  });

  it('pins numpy<2 for the NumPy 2 ABI break, and leaves unknown failures to a human', async () => {
    const { request, prepared, work } = await setup('FROM python:3.11-slim\nRUN pip install torch\n');
    const numpy = await planAfterSmokeFailure(
      request,
      failedSmoke(
        'torch-import',
        'A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.2 as it may crash.',
      ),
      prepared,
      work,
    );
    expect(numpy.retry?.prepared.fixedTexts['Dockerfile']).toContain('"numpy<2"');
    const unknown = await planAfterSmokeFailure(request, failedSmoke('command-1', 'exit status 3'), prepared, work);
    expect(unknown).toMatchObject({ error: { kind: 'smoke-test-failed' } });
    expect(unknown.retry).toBeUndefined();
  });
});
