/** Smoke results read back from a CodeBuild log, in the local smoke tester's shape. */
import { describe, expect, it } from 'vitest';
import { RemoteSmokeCollector } from '../../../src/codebuild/remote-smoke.js';
import { smokeResultSchema } from '../../../src/build-model/smoke-schema.js';

const M = '@@dib-codebuild@@';
const probe = (payload: object) => `@@dib-smoke@@ ${JSON.stringify(payload)}`;

function collect(lines: string[]) {
  const collector = new RemoteSmokeCollector();
  for (const line of lines) collector.push(line);
  return collector;
}

describe('RemoteSmokeCollector', () => {
  it('turns the probe lines and smoke commands into a SmokeResult', () => {
    const collector = collect([
      `${M} smoke-start`,
      probe({ kind: 'info', python_version: '3.12.3', executable: '/usr/bin/python3' }),
      probe({
        kind: 'check',
        name: 'torch-import',
        status: 'passed',
        duration_ms: 900,
        output: 'torch 2.7.1',
        data: { version: '2.7.1+cpu', cuda: null },
      }),
      probe({
        kind: 'check',
        name: 'torchvision-nms',
        status: 'failed',
        duration_ms: 3,
        output: 'Traceback…',
        error: 'RuntimeError: boom',
        data: {},
      }),
      probe({ kind: 'done' }),
      `${M} smoke-probe status=failed exit=0`,
      `${M} smoke-command-start n=1`,
      'hello',
      `${M} smoke-command-end n=1 exit=0`,
      `${M} smoke-command-start n=2`,
      'nope',
      `${M} smoke-command-end n=2 exit=3`,
    ]);
    const result = collector.result('fsdp:latest');
    expect(smokeResultSchema.parse(result)).toEqual(result);
    expect(collector.ran).toBe(true);
    expect(result.passed).toBe(false);
    expect(result.checks.map((c) => [c.name, c.status])).toEqual([
      ['container-starts', 'passed'],
      ['torch-import', 'passed'],
      ['torchvision-nms', 'failed'],
      ['command-1', 'passed'],
      ['command-2', 'failed'],
    ]);
    expect(result).toMatchObject({
      torch_version: '2.7.1+cpu',
      python_version: '3.12.3',
      python: '/usr/bin/python3',
      gpu_runtime: false,
    });
    expect(result.checks[2]?.detail).toBe('RuntimeError: boom');
    expect(result.checks[4]).toMatchObject({ output_excerpt: 'nope', detail: 'The command exited with code 3.' });
  });

  it('a container that cannot start is a failed container-starts check', () => {
    const result = collect([
      `${M} smoke-start`,
      'docker: Error response from daemon: no space',
      `${M} smoke-probe status=failed reason=container-failed exit=125`,
    ]).result('x');
    expect(result.passed).toBe(false);
    expect(result.checks).toHaveLength(1);
    expect(result.checks[0]).toMatchObject({
      name: 'container-starts',
      status: 'failed',
      output_excerpt: 'docker: Error response from daemon: no space',
    });
  });

  it('no torch, no python or a failed build are skips, not failures', () => {
    const noTorch = collect([
      `${M} smoke-start`,
      probe({ kind: 'check', name: 'torch-import', status: 'failed', missing_module: 'torch', data: {} }),
      `${M} smoke-probe status=skipped reason=no-torch`,
    ]).result('x');
    expect(noTorch.passed).toBe(true);
    expect(noTorch.notes.join(' ')).toContain('torch is not installed');
    expect(collect([`${M} smoke-start`, `${M} smoke-probe status=skipped reason=no-python`]).result('x').passed).toBe(
      true,
    );
    const skipped = collect([
      `${M} smoke-probe status=skipped reason=build-failed`,
      `${M} smoke-command-end n=1 status=skipped reason=build-failed`,
    ]);
    expect(skipped.ran).toBe(false);
    expect(new RemoteSmokeCollector().passed).toBeUndefined();
  });
});
