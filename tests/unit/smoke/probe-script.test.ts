import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROBE_MARKER, PROBE_SCRIPT, parseProbeOutput } from '../../../src/smoke/probe-script.js';

describe('parseProbeOutput', () => {
  it('reads marked lines and ignores banners, warnings and a line cut by a crash', () => {
    const stdout = [
      '== CUDA ==  NVIDIA Release 24.05 (build 1234)',
      `${PROBE_MARKER}{"kind": "info", "python_version": "3.10.12", "executable": "/usr/bin/python3"}`,
      `${PROBE_MARKER}{"kind": "check", "name": "torch-import", "status": "passed", "duration_ms": 1234.6, "output": "torch 2.3.0", "data": {"version": "2.3.0a0"}}`,
      'UserWarning: something printed by an import',
      `${PROBE_MARKER}{"kind": "check", "name": "bogus", "status": "exploded"}`,
      `${PROBE_MARKER}{"kind": "check", "name": "torchvision-import", "sta`,
    ].join('\n');
    const parsed = parseProbeOutput(stdout);
    expect(parsed.done).toBe(false);
    expect(parsed.info).toEqual({ python_version: '3.10.12', executable: '/usr/bin/python3' });
    expect(parsed.checks).toEqual([
      {
        name: 'torch-import',
        status: 'passed',
        duration_ms: 1235,
        output: 'torch 2.3.0',
        error: undefined,
        missing_module: undefined,
        data: { version: '2.3.0a0' },
      },
    ]);
  });
});

// The probe is real Python: run it with the host's python3 against stand-in modules, so its syntax and its
// per-check error isolation are tested without Docker.
const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;

describe.skipIf(!python)('PROBE_SCRIPT under python3', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dib-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function runProbe(modules: Record<string, string>, config = '{"gpu": false}') {
    const root = mkdtempSync(path.join(dir, 'site-'));
    for (const [file, source] of Object.entries(modules)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), source);
    }
    const result = spawnSync(python!, ['-u', '-c', PROBE_SCRIPT, config], {
      cwd: root,
      env: { PATH: process.env.PATH, PYTHONPATH: root, PYTHONNOUSERSITE: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { ...parseProbeOutput(result.stdout), status: result.status, stderr: result.stderr };
  }

  it('reports a missing torch as ModuleNotFoundError and skips the rest', () => {
    const probe = runProbe({});
    expect(probe.status).toBe(0);
    expect(probe.done).toBe(true);
    expect(probe.info?.python_version).toMatch(/^3\./);
    const torch = probe.checks.find((check) => check.name === 'torch-import');
    expect(torch).toMatchObject({ status: 'failed', missing_module: 'torch' });
    expect(probe.checks.slice(1).map((check) => [check.name, check.status])).toEqual([
      ['torchvision-import', 'skipped'],
      ['torchaudio-import', 'skipped'],
      ['torchvision-nms', 'skipped'],
      ['fsdp-import', 'skipped'],
      ['tensor-op', 'skipped'],
    ]);
  });

  it('isolates each failure: a broken torchvision op does not hide the torch result', () => {
    const probe = runProbe(
      {
        'torch/__init__.py': [
          "__version__ = '2.2.1+cpu'",
          'class version:',
          '    cuda = None',
          '    hip = None',
          'def tensor(value, **kwargs):',
          '    return value',
        ].join('\n'),
        'torchvision/__init__.py': "__version__ = '0.17.1'\n",
        'torchvision/ops/__init__.py': [
          'def nms(boxes, scores, threshold):',
          "    raise RuntimeError('operator torchvision::nms does not exist')",
        ].join('\n'),
      },
      '{"gpu": true}',
    );
    const status = Object.fromEntries(probe.checks.map((check) => [check.name, check.status]));
    expect(status).toEqual({
      'torch-import': 'passed',
      'torchvision-import': 'passed',
      'torchaudio-import': 'skipped', // not installed: optional, not a failure
      'torchvision-nms': 'failed',
      'fsdp-import': 'failed', // the stand-in torch has no torch.distributed
      'tensor-op': 'failed',
      'cuda-available': 'failed', // a CPU-only build with GPUs requested
      'cuda-version': 'skipped',
      nccl: 'skipped',
      'gpu-tensor-op': 'skipped',
    });
    const nms = probe.checks.find((check) => check.name === 'torchvision-nms');
    expect(nms?.error).toBe('RuntimeError: operator torchvision::nms does not exist');
    expect(nms?.output).toContain('Traceback');
    expect(probe.checks[0]?.data).toMatchObject({ version: '2.2.1+cpu', cuda: null });
    expect(probe.checks.find((check) => check.name === 'torchaudio-import')?.output).toBe(
      'torchaudio is not installed',
    );
    expect(probe.checks.find((check) => check.name === 'cuda-available')?.error).toMatch(/CPU-only build/);
    expect(probe.done).toBe(true);
  });

  it('fails, rather than skips, a torchvision whose own dependency is missing', () => {
    const probe = runProbe({
      'torch/__init__.py': "__version__ = '2.7.1'\nclass version:\n    cuda = '12.6'\n",
      'torchvision/__init__.py': 'import PIL_missing_dependency\n',
    });
    const vision = probe.checks.find((check) => check.name === 'torchvision-import');
    expect(vision).toMatchObject({ status: 'failed', missing_module: 'PIL_missing_dependency' });
  });
});
