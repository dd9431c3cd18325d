import { describe, expect, it } from 'vitest';
import { buildModel, type Model } from '../../../src/dockerfile/model.js';
import { UNRESOLVED } from '../../../src/dockerfile/text.js';
import { analyze, find } from './helpers.js';

function installs(model: Model) {
  return model.installs.map((install) => ({
    tool: install.tool,
    line: install.position.line,
    packages: install.requests.map((request) => `${request.req.name}${request.req.spec}`),
    index: install.indexUrl?.text ?? null,
    extra: install.extraIndexUrls.map((ref) => ref.text),
    conditional: install.conditional,
    cache: install.cache.disabled,
  }));
}

const model = (dockerfile: string, files: Record<string, string> = {}, buildArgs?: Record<string, string>) =>
  buildModel({
    dockerfilePath: 'Dockerfile',
    dockerfileText: dockerfile,
    readContextFile: (path) => files[path],
    buildArgs,
  });

describe('Dockerfile model', () => {
  it('applies Docker ARG scoping: global ARGs reach FROM only, unless re-declared in the stage', () => {
    const dockerfile = [
      'ARG BASE=python:3.11',
      'ARG TORCH=2.7.1',
      'FROM ${BASE} AS build',
      'RUN pip install torch==${TORCH}',
      'ARG TORCH',
      'RUN pip install torch==${TORCH}',
      '',
    ].join('\n');
    const built = model(dockerfile);
    expect(built.stages[0]!.image.text).toBe('python:3.11');
    const specs = installs(built).map((install) => install.packages[0]);
    expect(specs[0]).toBe(`torch==${UNRESOLVED}`); // not visible before re-declaration
    expect(specs[1]).toBe('torch==2.7.1');
    const overridden = model(dockerfile, {}, { BASE: 'python:3.12', TORCH: '2.8.0' });
    expect(overridden.stages[0]!.image.text).toBe('python:3.12');
    expect(installs(overridden)[1]!.packages[0]).toBe('torch==2.8.0');
  });

  it('resolves FROM <stage>, ENV inheritance and WORKDIR across stages', () => {
    const dockerfile = [
      'FROM nvidia/cuda:12.6.3-runtime-ubuntu22.04 AS base',
      'ENV TORCH_VERSION=2.7.1',
      'WORKDIR /app',
      'FROM base AS final',
      'COPY reqs/ ./reqs/',
      'RUN pip install -r reqs/requirements.txt torch==${TORCH_VERSION}',
      '',
    ].join('\n');
    const built = model(dockerfile, { 'reqs/requirements.txt': 'numpy==1.26.4\n' });
    expect(built.stages[1]!.parent?.name).toBe('base');
    expect(installs(built)[0]!.packages).toEqual(['torch==2.7.1', 'numpy==1.26.4']);
  });

  it('reads heredoc RUNs, exec-form RUNs, continuations with comments and `python -m pip`', () => {
    const dockerfile = [
      'FROM python:3.11',
      'RUN <<EOF',
      'set -e',
      'pip install torch==2.7.1 \\',
      '    torchvision==0.22.1',
      'EOF',
      'RUN ["pip", "install", "--no-cache-dir", "numpy"]',
      'RUN python3 -m pip install \\',
      '# a comment inside the continuation',
      '',
      '    requests',
      'RUN python3.11 -mpip install "scipy>=1.11"',
      '',
    ].join('\n');
    const found = installs(model(dockerfile));
    expect(found.map((install) => install.packages)).toEqual([
      ['torch==2.7.1', 'torchvision==0.22.1'],
      ['numpy'],
      ['requests'],
      ['scipy>=1.11'],
    ]);
    expect(found.map((install) => install.line)).toEqual([4, 7, 8, 12]);
  });

  it('reads exec-form shell strings with escapes, CRLF files and the backtick escape directive', () => {
    const exec = model(
      'FROM python:3.11\nRUN ["/bin/sh", "-c", "pip install \\"torch==2.7.1\\" torchvision==0.22.1"]\n',
    );
    expect(installs(exec)[0]!.packages).toEqual(['torch==2.7.1', 'torchvision==0.22.1']);
    const crlf = model('FROM python:3.11\r\nRUN pip install torch==2.7.1 \\\r\n    torchvision==0.22.1\r\n');
    expect(installs(crlf)[0]!.packages).toEqual(['torch==2.7.1', 'torchvision==0.22.1']);
    const backtick = model('# escape=`\nFROM python:3.11\nRUN pip install torch==2.7.1 `\n    torchvision==0.22.1\n');
    expect(installs(backtick)[0]!.packages).toEqual(['torch==2.7.1', 'torchvision==0.22.1']);
  });

  it('follows -r and -c files, nested includes, index options inside them and bind mounts', () => {
    const dockerfile = [
      'FROM python:3.11',
      'WORKDIR /src',
      'COPY requirements/ requirements/',
      'RUN pip install -r requirements/dev.txt',
      'RUN --mount=type=bind,source=extra.txt,target=/tmp/extra.txt pip install -r /tmp/extra.txt',
      '',
    ].join('\n');
    const files = {
      'requirements/dev.txt': '-r base.txt\n-c constraints.txt\npytest\n',
      'requirements/base.txt': '--extra-index-url https://download.pytorch.org/whl/cu128\ntorch\n',
      'requirements/constraints.txt': 'torch==2.7.1\n',
      'extra.txt': 'torchvision==0.22.1\n',
    };
    const built = model(dockerfile, files);
    const [first, second] = built.installs;
    expect(first!.requests.map((request) => [request.req.name, request.viaFile, request.constraint])).toEqual([
      ['torch', 'requirements/base.txt', false],
      ['torch', 'requirements/constraints.txt', true],
      ['pytest', 'requirements/dev.txt', false],
    ]);
    expect(first!.extraIndexUrls[0]?.variant).toBe('cu128');
    expect(second!.requests[0]?.position).toEqual({ file: 'extra.txt', line: 1, column: 1 });
  });

  it('parses wheel URLs, conda specs and environment files, and uv', () => {
    const dockerfile = [
      'FROM continuumio/miniconda3',
      'ARG TORCH_URL=https://download.pytorch.org/whl/cu118/torch-2.1.0%2Bcu118-cp310-cp310-linux_x86_64.whl',
      'RUN pip install --no-cache-dir ${TORCH_URL}',
      'RUN conda install -y -c pytorch -c nvidia pytorch=2.1.0 pytorch-cuda=12.1 "torchvision>=0.16"',
      'COPY environment.yml .',
      'RUN conda env create -f environment.yml',
      'RUN uv pip install --system --index-url https://download.pytorch.org/whl/cu126 torch==2.7.1',
      '',
    ].join('\n');
    const files = {
      'environment.yml':
        'name: x\ndependencies:\n  - python=3.10\n  - pytorch=2.2.0=py3.10_cuda12.1_cudnn8_0\n  - pip:\n    - torchaudio==2.2.0\n',
    };
    const built = model(dockerfile, files);
    const wheel = built.installs[0]!.requests[0]!.req;
    expect([wheel.name, wheel.pin.exact, wheel.urlVariant, wheel.wheelPython]).toEqual([
      'torch',
      '2.1.0',
      'cu118',
      'cp310',
    ]);
    expect(built.installs[1]!.condaCuda?.cuda).toBe('12.1');
    expect(built.installs[1]!.requests.map((request) => request.req.name)).toEqual([
      'pytorch',
      'pytorch-cuda',
      'torchvision',
    ]);
    expect(built.installs[2]!.newEnv).toBe(true);
    expect(built.installs[2]!.condaCuda?.cuda).toBe('12.1');
    expect(built.installs[2]!.requests.map((request) => `${request.req.name}${request.req.spec}`)).toEqual([
      'python=3.10',
      'pytorch=2.2.0',
      'torchaudio==2.2.0',
    ]);
    expect(built.installs[3]).toMatchObject({ tool: 'uv' });
    expect(built.installs[3]!.indexUrl?.variant).toBe('cu126');
  });

  it('understands pip option abbreviations and pip environment variables', () => {
    const dockerfile = [
      'FROM python:3.11',
      'ENV PIP_EXTRA_INDEX_URL="https://download.pytorch.org/whl/cu128"',
      'RUN pip install --no-cache --upgrade --force torch==2.7.1 --extra-index https://example.com/simple',
      '',
    ].join('\n');
    const install = model(dockerfile).installs[0]!;
    expect(install.cache.disabled).toBe(true);
    expect(install.upgrade).toBe(true);
    expect(install.forceReinstall).toBe(true);
    expect(install.extraIndexUrls.map((ref) => ref.text)).toEqual([
      'https://example.com/simple',
      'https://download.pytorch.org/whl/cu128',
    ]);
  });

  it('reports what it detected in the stack, with sources', () => {
    const result = analyze(
      'FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04\nRUN apt-get install -y python3-pip\nRUN pip install --no-cache-dir torch==2.7.1 torchvision --index-url https://download.pytorch.org/whl/cu126\n',
    );
    expect(result.stack.cuda).toEqual({
      version: '12.6.3',
      source: 'base image nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 tag',
    });
    expect(result.stack.python?.version).toBe('3.10');
    expect(result.stack.torch).toMatchObject({
      version: '2.7.1',
      cuda_variant: 'cu126',
      file: 'Dockerfile',
      line: 3,
      pinned: true,
    });
    expect(result.stack.torchvision).toMatchObject({ version: '0.22.1', cuda_variant: 'cu126' });
    expect(result.stack.driver_min).toEqual({ cuda: '12.6.3', linux_driver: '560.35.05' });
    expect(result.stack.base_image).toMatchObject({ family: 'nvidia-cuda', line: 1 });
  });

  it('parses AWS DLC and NGC tags: NGC says nothing about CUDA', () => {
    const dlc = analyze(
      'FROM 763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312-cu126-ubuntu22.04-ec2\n',
    );
    expect(dlc.stack).toMatchObject({
      cuda: { version: '12.6' },
      python: { version: '3.12' },
      torch: { version: '2.6.0', cuda_variant: 'cu126' },
    });
    const ngc = analyze('FROM nvcr.io/nvidia/pytorch:24.03-py3\n');
    expect(ngc.stack.cuda).toBeNull();
    expect(ngc.stack.torch).toMatchObject({ version: null, cuda_variant: null });
  });

  it('never throws on odd input', () => {
    for (const text of [
      '',
      'RUN pip install x',
      'FROM',
      'FROM scratch\nRUN [ "broken',
      'FROM a\nRUN if then fi esac ;; ) ( `',
      'FROM a\nRUN <<EOF\n',
    ]) {
      expect(() => analyze(text)).not.toThrow();
    }
    expect(find(analyze('FROM python:3.11\nRUN pip install torch==2.7.1\n'), 'pip-no-cache-dir')).toBeDefined();
  });
});
