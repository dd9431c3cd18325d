import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/util/errors.js';
import { analyze, categories, find, fixedText, withPython } from './helpers.js';

const CU = 'https://download.pytorch.org/whl';

describe('torchvision-mismatch / torchaudio-mismatch', () => {
  it('finds the seed example torch==2.7.1 with torchvision==0.15.0 and fixes it to 0.22.1', () => {
    const result = analyze(
      'FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.7.1 torchvision==0.15.0\n',
      {},
      { fix: true },
    );
    const finding = find(result, 'torchvision-mismatch');
    expect(finding).toMatchObject({ severity: 'error', file: 'Dockerfile', line: 2 });
    expect(finding?.fix?.edits?.[0]).toMatchObject({ new_text: '0.22.1', start_line: 2 });
    expect(fixedText(result)).toBe(
      'FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.7.1 torchvision==0.22.1\n',
    );
    expect(categories(result.fixed!.remaining_findings)).toEqual([]);
  });

  it('checks pairs written in a requirements file and fixes the file', () => {
    const dockerfile =
      'FROM python:3.10\nCOPY requirements.txt /app/\nRUN pip install --no-cache-dir -r /app/requirements.txt\n';
    const requirements = '# pinned\ntorch==2.1.0\ntorchvision==0.16.1  # wrong patch\ntorchaudio==2.1.0\n';
    const result = analyze(dockerfile, { 'requirements.txt': requirements }, { fix: true });
    expect(find(result, 'torchvision-mismatch')).toMatchObject({ file: 'requirements.txt', line: 3 });
    expect(fixedText(result, 'requirements.txt')).toBe(
      '# pinned\ntorch==2.1.0\ntorchvision==0.16.0  # wrong patch\ntorchaudio==2.1.0\n',
    );
  });

  it('compares a companion with the torch of the base image', () => {
    const result = analyze(
      'FROM pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime\nRUN pip install --no-cache-dir torchvision==0.18.0\n',
    );
    expect(find(result, 'torchvision-mismatch')?.message).toContain('torch 2.1.0');
    expect(find(result, 'torchvision-mismatch')?.fix?.edits?.[0]?.new_text).toBe('0.16.0');
  });

  it('finds companions installed unpinned before torch is replaced, and moves them next to torch', () => {
    const dockerfile = [
      'FROM python:3.11',
      'RUN pip install --no-cache-dir torchvision torchaudio transformers',
      `RUN pip install --no-cache-dir torch==2.5.1+cu121 --index-url ${CU}/cu121`,
      '',
    ].join('\n');
    const result = analyze(dockerfile, {}, { fix: true });
    expect(categories(result)).toEqual(['torchaudio-mismatch', 'torchvision-mismatch']);
    expect(fixedText(result)).toContain('RUN pip install --no-cache-dir transformers\n');
    expect(fixedText(result)).toContain(
      'torch==2.5.1+cu121 torchvision==0.20.1+cu121 torchaudio==2.5.1+cu121 --index-url',
    );
    expect(result.fixed!.remaining_findings).toEqual([]);
  });

  it('applies the torchaudio 2.11 stable-ABI rule', () => {
    expect(
      categories(analyze('FROM python:3.12\nRUN pip install --no-cache-dir torch==2.12.1 torchaudio==2.11.0\n')),
    ).toEqual([]);
    const old = analyze('FROM python:3.12\nRUN pip install --no-cache-dir torch==2.10.0 torchaudio==2.11.0\n');
    expect(find(old, 'torchaudio-mismatch')?.severity).toBe('error');
    expect(
      find(
        analyze('FROM python:3.10\nRUN pip install --no-cache-dir torch==2.0.1 torchaudio==2.0.1\n'),
        'torchaudio-mismatch',
      )?.fix?.edits?.[0]?.new_text,
    ).toBe('2.0.2');
  });

  it('is quiet for matching pins, unpinned companions installed with torch, and unknown new releases', () => {
    expect(
      categories(
        analyze(
          'FROM python:3.11\nRUN pip install --no-cache-dir torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1\n',
        ),
      ),
    ).toEqual([]);
    expect(
      categories(analyze('FROM python:3.11\nRUN pip install --no-cache-dir torch==2.7.1 torchvision torchaudio\n')),
    ).toEqual([]);
    expect(
      categories(analyze('FROM python:3.12\nRUN pip install --no-cache-dir torch==2.15.0 torchvision==0.20.0\n')),
    ).toEqual([]);
  });

  it('handles quoted specs, conda pins and wildcard pins', () => {
    const quoted = analyze(
      `FROM python:3.11\nRUN pip install --no-cache-dir "torch==2.7.1" 'torchvision==0.15.0'\n`,
      {},
      { fix: true },
    );
    expect(fixedText(quoted)).toContain(`'torchvision==0.22.1'`);
    const conda = analyze(
      'FROM continuumio/miniconda3\nRUN conda install -y pytorch=2.1.0 torchvision=0.18 -c pytorch\n',
    );
    expect(find(conda, 'torchvision-mismatch')).toBeDefined();
    const wildcard = analyze('FROM python:3.11\nRUN pip install --no-cache-dir torch==2.6.0.* torchvision==0.20.*\n');
    expect(find(wildcard, 'torchvision-mismatch')?.fix?.edits?.[0]?.new_text).toBe('0.21.0');
  });
});

describe('cuda-variant-unavailable', () => {
  it('finds a CUDA variant a release never shipped and switches to a published one', () => {
    const result = analyze(
      `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.8.0 --index-url ${CU}/cu118\n`,
      {},
      { fix: true },
    );
    expect(find(result, 'cuda-variant-unavailable')).toMatchObject({ severity: 'error', line: 2 });
    expect(fixedText(result)).toContain(`--index-url ${CU}/cu126`);
    expect(result.fixed!.remaining_findings).toEqual([]);
  });

  it('prefers the variant that matches the base image CUDA and fixes +cuXXX labels too', () => {
    const dockerfile = `${withPython('nvidia/cuda:12.8.1-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.8.0+cu118 torchvision==0.23.0+cu118 --extra-index-url ${CU}/cu118\n`;
    const result = analyze(dockerfile, {}, { fix: true });
    expect(find(result, 'cuda-variant-unavailable')?.severity).toBe('error');
    expect(fixedText(result)).toContain(`torch==2.8.0+cu128 torchvision==0.23.0+cu128 --extra-index-url ${CU}/cu128`);
    expect(result.fixed!.remaining_findings).toEqual([]);
  });

  it('warns when an extra index silently falls back to the PyPI build, and edits the ARG that names the variant', () => {
    const dockerfile = `${withPython('nvidia/cuda:12.4.1-devel-ubuntu22.04')}ARG CUDA=cu121\nRUN pip install --no-cache-dir torch==2.6.0 --extra-index-url ${CU}/$CUDA\n`;
    const result = analyze(dockerfile, {}, { fix: true });
    expect(find(result, 'cuda-variant-unavailable')?.severity).toBe('warning');
    expect(fixedText(result)).toContain('ARG CUDA=cu124\n');
  });

  it('is quiet for published variants and for releases the data does not know', () => {
    expect(
      categories(analyze(`FROM python:3.11\nRUN pip install --no-cache-dir torch==2.7.0 --index-url ${CU}/cu118\n`)),
    ).toEqual([]);
    expect(
      categories(analyze(`FROM python:3.12\nRUN pip install --no-cache-dir torch==2.15.0 --index-url ${CU}/cu118\n`)),
    ).toEqual([]);
  });
});

describe('mixed-cuda-variants', () => {
  it('finds a companion from another CUDA build in the same install and aligns its label', () => {
    const result = analyze(
      'FROM python:3.11\nRUN pip install --no-cache-dir torch==2.1.0+cu121 torchvision==0.16.0+cpu -f https://download.pytorch.org/whl/torch_stable.html\n',
      {},
      { fix: true },
    );
    expect(find(result, 'mixed-cuda-variants')?.severity).toBe('error');
    expect(fixedText(result)).toContain('torchvision==0.16.0+cu121');
  });

  it('finds torch from a cu128 index and torchvision from plain PyPI (a cu126 build for 2.7)', () => {
    const dockerfile = `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.7.1 --index-url ${CU}/cu128\nRUN pip install --no-cache-dir torchvision==0.22.1\n`;
    const finding = find(analyze(dockerfile), 'mixed-cuda-variants');
    expect(finding).toMatchObject({ severity: 'warning', line: 3 });
  });

  it('is quiet when torch and companions share the index', () => {
    const dockerfile = `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.7.1 torchvision==0.22.1 --index-url ${CU}/cu128\n`;
    expect(categories(analyze(dockerfile))).toEqual([]);
  });
});

describe('cuda-base-mismatch', () => {
  it('weighs a CUDA major difference as an error and fixes the base image when torch has no build for it', () => {
    const dockerfile = `${withPython('nvidia/cuda:12.2.0-runtime-ubuntu20.04')}RUN pip3 install --no-cache-dir torch==2.0.0+cu117 --index-url ${CU}/cu117\n`;
    const result = analyze(dockerfile, {}, { fix: true });
    expect(find(result, 'cuda-base-mismatch')?.severity).toBe('error');
    expect(fixedText(result)).toMatch(/^FROM nvidia\/cuda:11\.7\.1-runtime-ubuntu20\.04\n/);
    expect(result.fixed!.remaining_findings).toEqual([]);
  });

  it('switches the torch CUDA build when the release has one for the base image major', () => {
    const dockerfile = `${withPython('nvidia/cuda:12.4.1-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.4.0 --index-url ${CU}/cu118\n`;
    const result = analyze(dockerfile, {}, { fix: true });
    expect(find(result, 'cuda-base-mismatch')?.severity).toBe('error');
    expect(fixedText(result)).toContain(`${CU}/cu124`);
  });

  it('gives a newer minor a warning and an older minor an info', () => {
    const newer = analyze(
      `${withPython('nvidia/cuda:12.1.0-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.4.0 --index-url ${CU}/cu124\n`,
    );
    expect(find(newer, 'cuda-base-mismatch')?.severity).toBe('warning');
    const older = analyze(
      `${withPython('nvidia/cuda:12.6.3-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.4.0 --index-url ${CU}/cu124\n`,
    );
    expect(find(older, 'cuda-base-mismatch')?.severity).toBe('info');
  });

  it('is quiet when they agree or when the torch build cannot be known', () => {
    expect(
      categories(
        analyze(
          `${withPython('nvidia/cuda:12.6.3-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.7.1 --index-url ${CU}/cu126\n`,
        ),
      ),
    ).toEqual([]);
    expect(
      categories(
        analyze(
          `${withPython('nvidia/cuda:12.6.3-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.9.0\n`,
        ),
      ),
    ).toEqual([]);
  });
});

describe('torch-replaced', () => {
  it('warns when a pin replaces the torch of a pytorch/pytorch base and offers the matching base tag', () => {
    const result = analyze(
      'FROM pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime\nRUN pip install --no-cache-dir torch==2.2.0\n',
      {},
      { fix: true },
    );
    expect(find(result, 'torch-replaced')?.severity).toBe('warning');
    expect(fixedText(result)).toMatch(/^FROM pytorch\/pytorch:2\.2\.0-cuda11\.8-cudnn8-runtime\n/);
    expect(categories(result.fixed!.remaining_findings)).toEqual([]);
  });

  it('warns about replacing NVIDIA NGC torch and about -U on an existing torch', () => {
    expect(
      find(
        analyze('FROM nvcr.io/nvidia/pytorch:24.03-py3\nRUN pip install --no-cache-dir torch==2.3.0\n'),
        'torch-replaced',
      )?.message,
    ).toContain('NVIDIA');
    expect(
      find(
        analyze('FROM pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir -U torch\n'),
        'torch-replaced',
      ),
    ).toBeDefined();
  });

  it('warns about an unpinned companion with --upgrade, which drags torch along', () => {
    const dockerfile = `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.6.0\nRUN pip install --no-cache-dir -U torchvision\n`;
    const result = analyze(dockerfile, {}, { fix: true });
    expect(find(result, 'torch-replaced')?.line).toBe(3);
    expect(fixedText(result)).toContain('-U torchvision==0.21.0\n');
  });

  it('is quiet for unpinned torch on bases with or without torch, and for ranges the base satisfies', () => {
    expect(
      categories(
        analyze('FROM ubuntu:22.04\nRUN apt-get install -y python3-pip\nRUN pip install --no-cache-dir torch\n'),
      ),
    ).toEqual([]);
    expect(
      categories(
        analyze(
          'FROM pytorch/pytorch:2.0.1-cuda11.7-cudnn8-runtime\nRUN pip install --no-cache-dir torch torchvision\n',
        ),
      ),
    ).toEqual([]);
    expect(
      categories(analyze('FROM nvcr.io/nvidia/pytorch:21.10-py3\nRUN pip install --no-cache-dir "torch>=1.7.0"\n')),
    ).toEqual([]);
  });
});

describe('python-unsupported', () => {
  it('finds a Python outside the release range and moves the python image to a supported one', () => {
    const result = analyze('FROM python:3.12-slim\nRUN pip install --no-cache-dir torch==2.1.0\n', {}, { fix: true });
    expect(find(result, 'python-unsupported')).toMatchObject({ severity: 'error', line: 2 });
    expect(fixedText(result)).toBe('FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.1.0\n');
  });

  it('checks the interpreter named in the command and wheel Python tags', () => {
    const hint = analyze(
      'FROM nvidia/cuda:12.1.0-runtime-ubuntu22.04\nRUN apt-get install -y python3.8 python3.8-venv\nRUN python3.8 -m pip install --no-cache-dir torch==2.5.1\n',
    );
    expect(find(hint, 'python-unsupported')?.message).toContain('3.8');
    const wheel = analyze(
      `FROM python:3.10\nRUN pip install --no-cache-dir ${CU}/cu90/torch-0.3.0.post4-cp36-cp36m-linux_x86_64.whl\n`,
    );
    expect(find(wheel, 'python-unsupported')?.message).toContain('cp36');
  });

  it('edits the python= pin of a conda environment file', () => {
    const files = { 'env.yml': 'dependencies:\n  - python=3.12\n  - pytorch=2.1.0\n' };
    const result = analyze('FROM continuumio/miniconda3\nCOPY env.yml .\nRUN conda env create -f env.yml\n', files, {
      fix: true,
    });
    expect(find(result, 'python-unsupported')).toMatchObject({ file: 'env.yml', line: 3 });
    expect(fixedText(result, 'env.yml')).toBe('dependencies:\n  - python=3.11\n  - pytorch=2.1.0\n');
  });

  it('is quiet for supported Python', () => {
    expect(categories(analyze('FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.1.0\n'))).toEqual([]);
  });
});

describe('base-tag-invalid', () => {
  it.each([
    ['nvidia/cuda:12.4.1-cudnn9-devel-ubuntu22.04', 'nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
    ['nvidia/cuda:12.1.0-cudnn-devel-ubuntu22.04', 'nvidia/cuda:12.1.0-cudnn8-devel-ubuntu22.04'],
    ['nvidia/cuda:12.4.0-cudnn8-devel-ubuntu22.04', 'nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
    ['nvidia/cuda:12.3.2-cudnn8-runtime-ubuntu22.04', 'nvidia/cuda:12.3.2-cudnn9-runtime-ubuntu22.04'],
    ['pytorch/pytorch:2.4.0-cuda12.4-cudnn8-runtime', 'pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime'],
    ['pytorch/pytorch:2.7.1-cuda12.1-cudnn9-runtime', 'pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime'],
  ])('finds %s and fixes it to %s', (image, fixed) => {
    const result = analyze(`FROM ${image}\n`, {}, { fix: true });
    expect(find(result, 'base-tag-invalid')?.severity).toBe('error');
    expect(fixedText(result)).toBe(`FROM ${fixed}\n`);
    expect(result.fixed!.remaining_findings).toEqual([]);
  });

  it.each([
    'nvidia/cuda:12.4.1-runtime-ubuntu24.04',
    'nvidia/cuda:latest',
    'nvidia/cuda:12.5.1-cudnn-devel-ubuntu24.04',
    'pytorch/pytorch:2.5.1-cuda12.4.1-cudnn9-runtime',
    'nvidia/cuda:12.6.3-cudnn-base-ubuntu22.04',
  ])('knows %s cannot exist', (image) => {
    expect(find(analyze(`FROM ${image}\n`), 'base-tag-invalid')?.severity).toBe('error');
  });

  it('warns about a tag without a patch version, following ARG defaults', () => {
    const result = analyze(
      'ARG CUDA_VERSION=11.1\nFROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu20.04\n',
      {},
      { fix: true },
    );
    expect(find(result, 'base-tag-invalid')).toMatchObject({ severity: 'warning', line: 2 });
    expect(fixedText(result)).toBe('ARG CUDA_VERSION=11.1.1\nFROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu20.04\n');
  });

  it.each([
    'nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04',
    'nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04',
    'nvidia/cuda:12.3.2-cudnn9-devel-ubuntu22.04',
    'pytorch/pytorch:2.7.1-cuda12.8-cudnn9-devel',
    'pytorch/pytorch:2.1.2-cuda11.8-cudnn8-devel',
    'pytorch/pytorch:2.15.0-cuda13.4-cudnn9-devel',
    'nvcr.io/nvidia/pytorch:24.03-py3',
  ])('accepts %s', (image) => {
    expect(categories(analyze(`FROM ${image}\n`))).toEqual([]);
  });
});

describe('cpu-wheel-on-gpu-base', () => {
  it('finds a CPU wheel on a CUDA image and switches to the CUDA build of the base', () => {
    const dockerfile = `${withPython('nvidia/cuda:12.6.3-runtime-ubuntu22.04')}RUN pip3 install --no-cache-dir torch==2.7.1 --index-url ${CU}/cpu\n`;
    const result = analyze(dockerfile, {}, { fix: true });
    expect(find(result, 'cpu-wheel-on-gpu-base')?.severity).toBe('error');
    expect(fixedText(result)).toContain(`${CU}/cu126`);
    expect(result.fixed!.remaining_findings).toEqual([]);
  });

  it('is quiet for CPU wheels on CPU images', () => {
    expect(
      categories(analyze(`FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.7.1 --index-url ${CU}/cpu\n`)),
    ).toEqual([]);
  });
});

describe('gpu-arch-unsupported', () => {
  it('finds a Blackwell GPU on a cu126 build and switches to cu128', () => {
    const dockerfile = `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.7.1 --index-url ${CU}/cu126\n`;
    const result = analyze(dockerfile, {}, { targetGpu: 'sm_120', fix: true });
    expect(find(result, 'gpu-arch-unsupported')?.severity).toBe('error');
    expect(fixedText(result)).toContain(`${CU}/cu128`);
    expect(result.stack.target_gpu).toEqual({ input: 'sm_120', compute_capability: '12.0' });
  });

  it('knows GPU names and base-image builds', () => {
    const result = analyze('FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\n', {}, { targetGpu: 'B200' });
    expect(find(result, 'gpu-arch-unsupported')?.fix?.description).toContain('2.7');
    expect(
      categories(analyze('FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\n', {}, { targetGpu: 'H100' })),
    ).toEqual([]);
    // cu130 builds start at Turing (7.5): a V100 needs the cu128 build of the same release
    const volta = analyze(
      `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.9.0 --index-url ${CU}/cu130\n`,
      {},
      { targetGpu: 'V100', fix: true },
    );
    expect(find(volta, 'gpu-arch-unsupported')).toBeDefined();
    expect(fixedText(volta)).toContain(`${CU}/cu128`);
    expect(
      categories(
        analyze(
          `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.9.0 --index-url ${CU}/cu128\n`,
          {},
          { targetGpu: 'H100' },
        ),
      ),
    ).toEqual([]);
  });

  it('refuses a target it does not understand', () => {
    expect(() => analyze('FROM python:3.11\n', {}, { targetGpu: 'toaster' })).toThrow(InputError);
  });
});

describe('pip-no-cache-dir', () => {
  it('warns and inserts --no-cache-dir right after install', () => {
    const result = analyze('FROM python:3.11\nRUN pip install -q \\\n    requests\n', {}, { fix: true });
    expect(find(result, 'pip-no-cache-dir')).toMatchObject({ severity: 'warning', line: 2 });
    expect(fixedText(result)).toBe('FROM python:3.11\nRUN pip install --no-cache-dir -q \\\n    requests\n');
  });

  it.each([
    ['the flag', 'RUN pip install --no-cache-dir requests'],
    ['an unambiguous abbreviation', 'RUN pip install --no-cache requests'],
    ['PIP_NO_CACHE_DIR', 'ENV PIP_NO_CACHE_DIR=1\nRUN pip install requests'],
    ['an inline PIP_NO_CACHE_DIR', 'RUN PIP_NO_CACHE_DIR=off pip install requests'],
    ['a BuildKit cache mount', 'RUN --mount=type=cache,target=/root/.cache/pip pip install requests'],
    ['a purge in the same RUN', 'RUN pip install requests && pip cache purge'],
    ['pip config', 'RUN pip config set global.no-cache-dir true\nRUN pip install requests'],
    ['uv --no-cache', 'RUN uv pip install --system --no-cache requests'],
  ])('is quiet with %s', (_label, line) => {
    expect(categories(analyze(`FROM python:3.11\n${line}\n`))).toEqual([]);
  });

  it('still warns for an ambiguous abbreviation, and fixes uv with --no-cache', () => {
    expect(find(analyze('FROM python:3.11\nRUN pip install --no-c requests\n'), 'pip-no-cache-dir')).toBeDefined();
    const uv = analyze('FROM python:3.11\nRUN uv pip install --system requests\n', {}, { fix: true });
    expect(fixedText(uv)).toContain('uv pip install --no-cache --system requests');
  });
});

describe('python-missing, requirements-file-missing, index-url-invalid', () => {
  it('finds pip on an nvidia/cuda image without Python', () => {
    expect(
      find(
        analyze('FROM nvidia/cuda:11.6.0-base-ubuntu20.04\nRUN pip3 install --no-cache-dir numpy\n'),
        'python-missing',
      )?.severity,
    ).toBe('warning');
    expect(
      categories(
        analyze(`${withPython('nvidia/cuda:11.6.0-base-ubuntu20.04')}RUN pip3 install --no-cache-dir numpy\n`),
      ),
    ).toEqual([]);
  });

  it('finds a copied requirements file that is not in the context, but not generated ones', () => {
    const dockerfile =
      'FROM python:3.11\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n';
    expect(find(analyze(dockerfile), 'requirements-file-missing')?.line).toBe(3);
    expect(categories(analyze(dockerfile, { 'requirements.txt': 'numpy\n' }))).toEqual([]);
    const generated = 'FROM python:3.11\nRUN echo numpy > /r.txt && pip install --no-cache-dir -r /r.txt\n';
    expect(categories(analyze(generated))).toEqual([]);
  });

  it('finds a download.pytorch.org URL that is not a wheel index', () => {
    const dockerfile =
      'FROM python:3.11\nARG CUDA_VERSION=12.1\nRUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/nightly/${CUDA_VERSION#.}/ torch\n';
    expect(find(analyze(dockerfile), 'index-url-invalid')?.severity).toBe('warning');
    expect(
      categories(analyze(`FROM python:3.11\nRUN pip install --no-cache-dir torch --index-url ${CU}/nightly/cu128/\n`)),
    ).toEqual([]);
  });
});
