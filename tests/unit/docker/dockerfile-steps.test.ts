import { describe, expect, it } from 'vitest';
import { normalizeImageName, planBuildSteps } from '../../../src/docker/dockerfile-steps.js';
import { fixtureDockerfile } from './fixture-logs.js';

const summary = (dockerfile: string, options: Parameters<typeof planBuildSteps>[1]) =>
  planBuildSteps(dockerfile, options).steps.map((step) =>
    [step.number, step.stage ?? '-', step.indexInStage ?? '-', step.keyword, step.dockerfileLine ?? '-'].join(' '),
  );

describe('planBuildSteps: legacy builder', () => {
  it('numbers every instruction of every stage, global ARGs included, as the classic builder prints them', () => {
    expect(summary(fixtureDockerfile('stages'), { builder: 'legacy', hasLabels: true })).toEqual([
      '1 - - ARG 1',
      '2 - - FROM 2',
      '3 - - ARG 3',
      '4 - - LABEL 4',
      '5 - - RUN 5',
      '6 - - FROM 7',
      '7 - - ENV 8',
      '8 - - COPY 9',
      '9 - - RUN 10',
      '10 - - LABEL -', // the step --label adds
    ]);
  });

  it('stops at the target stage and joins continuation lines the way the builder prints them', () => {
    const plan = planBuildSteps(fixtureDockerfile('parallel'), { builder: 'legacy', target: 'b' });
    expect(plan.totalSteps).toBe(5);
    const stages = planBuildSteps(fixtureDockerfile('stages'), { builder: 'legacy' });
    expect(stages.steps[8]).toMatchObject({
      instruction: 'RUN cat /t.txt  && echo done',
      dockerfileLine: 10,
      endLine: 11,
    });
  });
});

describe('planBuildSteps: BuildKit', () => {
  it('counts FROM of an image plus ADD/COPY/RUN/WORKDIR per stage, without a prefix for a single stage', () => {
    expect(summary(fixtureDockerfile('ok'), { builder: 'buildkit' })).toEqual([
      '1  1 FROM 1',
      '2  2 WORKDIR 3',
      '3  3 COPY 4',
      '4  4 RUN 5',
    ]);
  });

  it('follows FROM <stage> and COPY --from to the stages the target needs; FROM <stage> is not a step', () => {
    expect(summary(fixtureDockerfile('multistage'), { builder: 'buildkit' })).toEqual([
      '1 base 1 FROM 1',
      '2 base 2 RUN 3',
      '3 builder 1 RUN 6',
      '4 final 1 FROM 8',
      '5 final 2 COPY 10',
      '6 final 3 RUN 11',
    ]);
  });

  it('names unnamed stages stage-N, resolves ARG base names and skips FROM scratch', () => {
    const stages = planBuildSteps(fixtureDockerfile('stages'), { builder: 'buildkit' });
    expect(stages.steps.map((step) => step.stage)).toEqual(['stage-0', 'stage-0', 'stage-1', 'stage-1', 'stage-1']);
    expect(stages.steps[0]!.image).toBe('docker.io/dib-test/debian:bookworm');
    const parallel = planBuildSteps(fixtureDockerfile('parallel'), { builder: 'buildkit' });
    expect(parallel.steps.filter((step) => step.stage === 'final').map((step) => step.keyword)).toEqual([
      'COPY',
      'COPY',
    ]);
  });

  it('leaves out stages the target does not need, unless asked for all', () => {
    const dockerfile = 'FROM alpine AS unused\nRUN true\nFROM alpine AS used\nRUN true\nFROM used\nRUN echo\n';
    expect(planBuildSteps(dockerfile, { builder: 'buildkit' }).steps.map((step) => step.stage)).toEqual([
      'used',
      'used',
      'stage-2',
    ]);
    expect(planBuildSteps(dockerfile, { builder: 'buildkit', allStages: true }).totalSteps).toBe(5);
    expect(planBuildSteps(dockerfile, { builder: 'buildkit', target: 'unused' }).totalSteps).toBe(2);
  });

  it('uses build args over ARG defaults for base images and follows RUN --mount from=', () => {
    const dockerfile =
      'ARG BASE=python:3.10\nFROM ${BASE} AS deps\nRUN pip wheel x\nFROM ubuntu:22.04\nRUN --mount=type=bind,from=deps,target=/w ls /w\n';
    const plan = planBuildSteps(dockerfile, { builder: 'buildkit', buildArgs: { BASE: 'python:3.11' } });
    expect(plan.steps[0]).toMatchObject({ stage: 'deps', image: 'docker.io/library/python:3.11' });
    expect(plan.totalSteps).toBe(4);
  });
});

describe('normalizeImageName', () => {
  it.each([
    ['python:3.11', 'docker.io/library/python:3.11'],
    ['ubuntu', 'docker.io/library/ubuntu:latest'],
    ['nvidia/cuda:12.4.1-devel-ubuntu22.04', 'docker.io/nvidia/cuda:12.4.1-devel-ubuntu22.04'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['ghcr.io/org/img@sha256:abc', 'ghcr.io/org/img@sha256:abc'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeImageName(input)).toBe(expected);
  });
});
