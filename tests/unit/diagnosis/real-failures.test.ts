import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnoseBuildLog } from '../../../src/diagnosis/diagnose.js';

const DIR = path.join(import.meta.dirname, '../../fixtures/real-failures');

/** The log without its `# source:` header line. */
function realLog(name: string): string {
  return readFileSync(path.join(DIR, `${name}.log`), 'utf8').replace(/^# source: .*\n/, '');
}

interface Expected {
  /** Strings the primary diagnosis' summary must contain (the specifics: packages, versions, image, line). */
  names: string[];
  dockerfileLine?: number;
  fixAction?: string;
}

const EXPECTED: Record<string, Expected> = {
  'cuda-ext-build-isolation-1': { names: ['flash-attn', "No module named 'torch'"] },
  'cuda-ext-wheel-build-failed-1': { names: ['flash-attn'] },
  'cuda-ext-wheel-build-failed-2': { names: ['flash-attn', 'unpinned'] },
  'cuda-home-missing-1': { names: ['CUDA_HOME'] },
  'cuda-home-missing-2': { names: ['CUDA_HOME'] },
  'nvcc-unsupported-gpu-arch-1': { names: ['compute_89'] },
  'nvcc-unsupported-gpu-arch-2': { names: ['empty GPU architecture'] },
  'nvcc-unsupported-host-compiler-1': { names: ['gcc up to 11'] },
  'nvcc-unsupported-host-compiler-2': { names: ['gcc up to 6'] },
  'cuda-version-mismatch-1': { names: ['CUDA 12.3', 'CUDA 12.1'] },
  'cuda-version-mismatch-2': { names: ['CUDA 10.2'] },
  'out-of-memory-1': { names: ['137', 'compiling'] },
  'out-of-memory-2': { names: ['compiling'] },
  'pip-resolution-impossible-1': {
    names: ['torch==1.12.1+cpu', 'torchvision 0.13.0+cpu', 'torch==1.12.0'],
    fixAction: 'repin',
  },
  'pip-resolution-impossible-2': {
    names: ['torch==2.2.1+cu118', 'torchvision 0.16.1+cu118', 'torch==2.1.1+cu118'],
    fixAction: 'repin',
  },
  'pip-resolution-impossible-3': { names: ['torch==1.13.0', 'torchvision 0.15.2', 'torch==2.0.1'], fixAction: 'repin' },
  'pip-hash-mismatch-1': { names: ['sha256'], dockerfileLine: 49, fixAction: 'retry' },
  'pip-hash-mismatch-2': {
    names: ['torch', 'torch-1.6.0-cp37-cp37m-manylinux1_x86_64.whl', 'cut short'],
    fixAction: 'retry',
  },
  'pip-hash-mismatch-3': { names: ['tensorflow', 'tensorflow-2.5.1'], fixAction: 'retry' },
  'conda-packages-not-found-1': { names: ['python=3.8.5', 'linux-aarch64'] },
  'conda-packages-not-found-2': { names: ['mysql-connector-python=2', 'ipython-notebook=4.0.4'] },
  'conda-not-found-1': { names: ['conda is not on PATH'] },
  'conda-not-found-2': { names: ['/miniconda/bin/conda does not exist'] },
  'apt-nvidia-repo-key-1': { names: ['ubuntu2004/x86_64', 'A4B469963BF863CC'] },
  'apt-nvidia-repo-key-2': { names: ['ubuntu1804/x86_64', 'A4B469963BF863CC'] },
  'apt-tzdata-prompt-1': { names: ['tzdata', 'Geographic area'] },
  'apt-tzdata-prompt-2': { names: ['tzdata'] },
  'apt-python-version-unavailable-1': { names: ['Python 3.9'], dockerfileLine: 5 },
  'apt-python-version-unavailable-2': { names: ['Python 3.9', 'python3.9-dev'] },
  'base-image-not-found-1': { names: ['nvidia/cuda:11.1-base-ubuntu20.04', 'patch version'] },
  'base-image-not-found-2': { names: ['nvidia/cuda:11.0-base-ubuntu20.04', 'patch version'] },
  'base-image-not-found-3': { names: ['nvidia/cuda:11.1-cudnn8-devel-ubuntu20.04', 'patch version'] },
  'base-image-not-found-4': { names: ['uf-mil'] },
  'platform-mismatch-1': { names: ['linux/amd64', 'linux/arm64/v8'] },
  'platform-mismatch-2': { names: ['linux/amd64', 'linux/arm64/v8'] },
  'platform-mismatch-3': { names: ['linux/amd64', 'linux/arm64/v8'] },
  // docker run --platform linux/arm64 on an amd64 host without QEMU: exec format error is a platform mismatch.
  'platform-mismatch-4': { names: ['/usr/local/bin/python3', 'exec format error', 'linux/arm64'] },
  'buildkit-required-1': { names: ['--mount'], fixAction: 'use-builder' },
  'buildkit-required-2': { names: ['--mount'], fixAction: 'use-builder' },
  'buildkit-required-3': { names: ['--mount'], fixAction: 'use-builder' },
  'runtime-torch-companion-mismatch-1': { names: ['torchvision::nms', 'different torch'] },
  'runtime-torch-companion-mismatch-2': { names: ['flash_attn', 'undefined symbol'] },
  'runtime-torch-companion-mismatch-3': { names: ['flash_attn', 'undefined symbol'] },
  'runtime-no-kernel-image-1': { names: ['no kernel image'] },
  'runtime-no-kernel-image-2': { names: ['no kernel image'] },
  'runtime-driver-too-old-1': { names: ['CUDA up to 11.4', '11040'] },
  'runtime-driver-too-old-2': { names: ['CUDA up to 11', '11000'] },
  'runtime-nvidia-toolkit-missing-1': { names: ['NVIDIA Container Toolkit'] },
  'runtime-nvidia-toolkit-missing-2': { names: ['NVIDIA Container Toolkit'] },
  'runtime-shm-too-small-1': { names: ['/dev/shm'], fixAction: 'run-options' },
  'runtime-shm-too-small-2': { names: ['/dev/shm'], fixAction: 'run-options' },
  'runtime-libgl-missing-1': { names: ['OpenCV (cv2)', 'libGL.so.1'] },
  'runtime-libgl-missing-2': { names: ['libGL.so.1'] },
  'runtime-numpy2-abi-1': { names: ['NumPy 2.2.6'] },
  'runtime-numpy2-abi-2': { names: ['NumPy 2.0.2'] },
  'runtime-bitsandbytes-cuda-1': { names: ['bitsandbytes', 'CUDA_VERSION=118'] },
  'runtime-bitsandbytes-cuda-2': { names: ['bitsandbytes', 'CUDA_VERSION=117'] },
};

const fixtures = readdirSync(DIR)
  .filter((file) => file.endsWith('.log'))
  .map((file) => file.replace(/\.log$/, ''))
  .sort();

describe('real failure logs from public issue threads', () => {
  it('every fixture has expectations, and every expectation a fixture', () => {
    expect(fixtures).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const name of fixtures) {
    it(name, () => {
      const expected = EXPECTED[name]!;
      const kind = name.replace(/-\d+$/, '');
      const [primary] = diagnoseBuildLog(realLog(name));
      expect(primary?.kind).toBe(kind);
      for (const specific of expected.names) expect(primary!.summary).toContain(specific);
      if (expected.dockerfileLine !== undefined) expect(primary!.dockerfileLine).toBe(expected.dockerfileLine);
      if (expected.fixAction !== undefined) expect(primary!.fix?.action).toBe(expected.fixAction);
    });
  }

  it('recognises them: reports the rate for build and runtime failures', () => {
    const recognised = (names: string[]) =>
      names.filter((name) => diagnoseBuildLog(realLog(name))[0]?.kind === name.replace(/-\d+$/, '')).length;
    const runtime = fixtures.filter((name) => name.startsWith('runtime-'));
    const build = fixtures.filter((name) => !name.startsWith('runtime-'));
    console.log(
      `real failures recognised: build ${recognised(build)}/${build.length}, runtime ${recognised(runtime)}/${runtime.length}`,
    );
    expect(recognised(fixtures)).toBe(fixtures.length);
  });
});
