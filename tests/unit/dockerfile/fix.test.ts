import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  analyzeDockerfile,
  analysisResultSchema,
  companionVersionFor,
  planRepin,
} from '../../../src/dockerfile/index.js';
import { InputError } from '../../../src/util/errors.js';
import { analyze, categories, fixedText } from './helpers.js';

const CU = 'https://download.pytorch.org/whl';

const BROKEN: Array<[string, string, Record<string, string>]> = [
  ['seed companion', 'FROM python:3.11\nRUN pip install torch==2.7.1 torchvision==0.15.0\n', {}],
  ['seed variant', `FROM python:3.11\nRUN pip install torch==2.8.0 torchvision==0.23.0 --index-url ${CU}/cu118\n`, {}],
  ['seed cache', 'FROM python:3.11\nRUN pip install requests\n', {}],
  [
    'requirements',
    'FROM nvidia/cuda:12.2.0-runtime-ubuntu22.04\nRUN apt-get install -y python3-pip\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n',
    { 'requirements.txt': `--index-url ${CU}/cu117\ntorch==2.0.0\ntorchvision==0.16.0\n` },
  ],
  [
    'base tag',
    'FROM nvidia/cuda:12.4.1-cudnn9-runtime-ubuntu22.04\nRUN apt-get install -y python3-pip\nRUN pip install --no-cache-dir torch==2.5.1\n',
    {},
  ],
  [
    'cpu on gpu',
    `FROM pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime\nRUN pip install torch==2.4.0+cpu torchvision==0.19.0+cpu -f ${CU}/torch_stable.html\n`,
    {},
  ],
];

describe('fixes', () => {
  it.each(BROKEN)(
    '%s: re-analysing the fixed files leaves no error, and fixing again changes nothing',
    (_name, dockerfile, files) => {
      const first = analyze(dockerfile, files, { fix: true });
      expect(first.fixed!.files.length).toBeGreaterThan(0);
      const fixedCategories = new Set(first.fixed!.applied.map((applied) => applied.category));
      for (const finding of first.fixed!.remaining_findings) {
        expect(
          finding.severity === 'error' && fixedCategories.has(finding.category),
          `${finding.category}: ${finding.message}`,
        ).toBe(false);
      }
      const changed = { ...files };
      for (const file of first.fixed!.files) changed[file.file] = file.new_text;
      const second = analyze(changed['Dockerfile'] ?? dockerfile, changed, { fix: true });
      expect(second.fixed!.files).toEqual([]);
      expect(analysisResultSchema.parse(first)).toBeTruthy();
    },
  );

  it('keeps comments, formatting and unrelated lines, and returns a unified diff', () => {
    const dockerfile =
      '# build torch\nFROM python:3.11   # base\nRUN pip install \\\n    torch==2.7.1 \\\n    torchvision==0.15.0   # vision\n';
    const result = analyze(dockerfile, {}, { fix: true });
    expect(fixedText(result)).toBe(
      '# build torch\nFROM python:3.11   # base\nRUN pip install --no-cache-dir \\\n    torch==2.7.1 \\\n    torchvision==0.22.1   # vision\n',
    );
    expect(result.fixed!.files[0]!.diff).toContain('-    torchvision==0.15.0   # vision');
    expect(result.fixed!.files[0]!.diff).toContain('+    torchvision==0.22.1   # vision');
  });

  it('replaces the base image of the final stage when base_image is given, and analyses the result', () => {
    const dockerfile =
      'FROM python:3.11 AS build\nRUN pip install --no-cache-dir numpy\nFROM build\nRUN pip install --no-cache-dir torch==2.7.1\n';
    const result = analyze(dockerfile, {}, { baseImage: 'pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime', fix: true });
    expect(result.stack.base_image).toMatchObject({
      image: 'pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime',
      overridden_from: 'python:3.11',
    });
    expect(categories(result)).toEqual(['torch-replaced']);
    expect(fixedText(result)).toContain('FROM pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime AS build\n');
  });

  it('says what else would work', () => {
    const result = analyze(
      `FROM python:3.11\nRUN pip install --no-cache-dir torch==2.8.0 --index-url ${CU}/cu118\n`,
      {},
      { fix: true },
    );
    expect(result.fixed!.alternatives.join('\n')).toContain('keep cu118: use torch 2.7');
  });
});

describe('planRepin', () => {
  it('re-pins a package wherever it is requested, keeping local labels, and edits ARG defaults', () => {
    const dockerfile = [
      'FROM python:3.11',
      'ARG TV=0.15.0',
      'COPY requirements.txt .',
      'RUN pip install torch==2.7.1+cu128 torchvision==${TV} -r requirements.txt',
      'RUN conda install -y torchvision',
      '',
    ].join('\n');
    const plan = planRepin(
      {
        dockerfilePath: 'Dockerfile',
        dockerfileText: dockerfile,
        readContextFile: (file) => (file === 'requirements.txt' ? 'torchvision>=0.15\n' : undefined),
      },
      'torchvision',
      companionVersionFor('2.7.1', 'torchvision')!,
    );
    expect(plan.found).toBe(true);
    expect(plan.new_texts['Dockerfile']).toContain('ARG TV=0.22.1\n');
    expect(plan.new_texts['Dockerfile']).toContain('conda install -y torchvision=0.22.1\n');
    expect(plan.new_texts['requirements.txt']).toBe('torchvision==0.22.1\n');
    expect(plan.locations).toHaveLength(3);
    const torch = planRepin({ dockerfilePath: 'Dockerfile', dockerfileText: dockerfile }, 'torch', '2.7.0');
    expect(torch.new_texts['Dockerfile']).toContain('torch==2.7.0+cu128 ');
    expect(planRepin({ dockerfilePath: 'Dockerfile', dockerfileText: dockerfile }, 'numpy', '2.0.0').found).toBe(false);
  });
});

describe('analyzeDockerfile (files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dib-analyze-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the requirement files the Dockerfile copies in and writes fixes atomically with a backup', async () => {
    mkdirSync(path.join(dir, 'docker'));
    writeFileSync(
      path.join(dir, 'docker', 'Dockerfile'),
      'FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n',
    );
    writeFileSync(path.join(dir, 'requirements.txt'), 'torch==2.7.1\ntorchvision==0.15.0\n');
    const readOnly = await analyzeDockerfile({ context: dir, dockerfile: 'docker/Dockerfile', fix: true });
    expect(readOnly.written).toBeUndefined();
    expect(readFileSync(path.join(dir, 'requirements.txt'), 'utf8')).toContain('0.15.0');
    expect(categories(readOnly)).toEqual(['pip-no-cache-dir', 'torchvision-mismatch']);

    const written = await analyzeDockerfile({ context: dir, dockerfile: 'docker/Dockerfile', write: true });
    expect(written.written).toEqual([
      { file: 'docker/Dockerfile', backup: 'docker/Dockerfile.bak' },
      { file: 'requirements.txt', backup: 'requirements.txt.bak' },
    ]);
    expect(readFileSync(path.join(dir, 'requirements.txt'), 'utf8')).toBe('torch==2.7.1\ntorchvision==0.22.1\n');
    expect(readFileSync(path.join(dir, 'requirements.txt.bak'), 'utf8')).toBe('torch==2.7.1\ntorchvision==0.15.0\n');
    const again = await analyzeDockerfile({ context: dir, dockerfile: 'docker/Dockerfile', write: true });
    expect(again.written).toEqual([]);
    expect(again.findings).toEqual([]);
  });

  it('refuses paths outside the context and missing inputs with InputError naming the field', async () => {
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM python:3.11\n');
    await expect(analyzeDockerfile({ context: dir, dockerfile: '../Dockerfile' })).rejects.toMatchObject({
      field: 'dockerfile',
    });
    await expect(analyzeDockerfile({ context: dir, dockerfile: 'nope/Dockerfile' })).rejects.toBeInstanceOf(InputError);
    await expect(analyzeDockerfile({ context: path.join(dir, 'missing') })).rejects.toMatchObject({ field: 'context' });
    await expect(analyzeDockerfile({ context: dir, buildArgs: { 'bad name': 'x' } })).rejects.toMatchObject({
      field: 'build_args',
    });
    await expect(analyzeDockerfile({ context: dir, targetGpu: 'sm_banana' })).rejects.toMatchObject({
      field: 'target_gpu',
    });
  });

  it('does not read context files through symlinks that leave the context', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'dib-outside-'));
    try {
      writeFileSync(path.join(outside, 'requirements.txt'), 'torch==2.7.1\ntorchvision==0.15.0\n');
      symlinkSync(path.join(outside, 'requirements.txt'), path.join(dir, 'requirements.txt'));
      writeFileSync(
        path.join(dir, 'Dockerfile'),
        'FROM python:3.11\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n',
      );
      const result = await analyzeDockerfile({ context: dir });
      expect(categories(result)).toEqual(['requirements-file-missing']);
      expect(existsSync(path.join(dir, 'requirements.txt'))).toBe(true);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
