import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/build-model/events.js';
import { BuildKitOutputParser } from '../../../src/docker/output/buildkit-parser.js';
import { planBuildSteps } from '../../../src/docker/dockerfile-steps.js';
import { fixtureDockerfile, fixtureLines } from './fixture-logs.js';

function parse(log: string, dockerfile: string | undefined, exitCode: number | undefined) {
  const plan =
    dockerfile === undefined ? undefined : planBuildSteps(fixtureDockerfile(dockerfile), { builder: 'buildkit' });
  const parser = new BuildKitOutputParser(plan ? { plan } : {});
  const events: BuildEvent[] = [];
  for (const line of fixtureLines(log)) events.push(...parser.push(line));
  events.push(...parser.end(exitCode));
  return { events, steps: events.filter((event) => event.type !== 'log'), summary: parser.summary() };
}

const kinds = (events: BuildEvent[]) =>
  events.map((event) => `${event.type}${'step' in event && event.type !== 'log' ? ` ${event.step}` : ''}`);

describe('BuildKitOutputParser on captured Docker 20.10 BuildKit output', () => {
  it('reports a successful build with step numbers, BuildKit durations and the full image id', () => {
    const { steps, summary } = parse('ok.buildkit.log', 'ok', 0);
    expect(kinds(steps)).toEqual([
      'step-started 1',
      'step-done 1',
      'step-started 2',
      'step-done 2',
      'step-started 3',
      'step-done 3',
      'step-started 4',
      'step-done 4',
      'image-built',
    ]);
    expect(steps[6]).toEqual({
      type: 'step-started',
      step: 4,
      instruction: 'RUN echo building && cat /app/hello.txt',
      dockerfileLine: 5,
      completedSteps: 3,
      totalSteps: 4,
    });
    expect(steps[7]).toEqual({ type: 'step-done', step: 4, durationMs: 700, completedSteps: 4, totalSteps: 4 });
    expect(steps[8]).toEqual({
      type: 'image-built',
      imageId: 'sha256:4503eb53df3624ea43d41e26c092f6a89aa460577c1dde414140aa704920b1ea',
    });
    expect(summary).toMatchObject({ completedSteps: 4, totalSteps: 4, warnings: [] });
  });

  it('maps a failing RUN to its line through the step plan (this BuildKit prints no Dockerfile:N)', () => {
    const { steps, summary } = parse('runfail.buildkit.log', 'runfail', 1);
    expect(steps.at(-1)).toEqual({
      type: 'step-failed',
      step: 3,
      instruction: 'RUN echo about to fail &&     ls /nonexistent',
      dockerfileLine: 4,
      exitCode: 2,
      message: 'executor failed running [/bin/sh -c echo about to fail &&     ls /nonexistent]: exit code: 2',
      completedSteps: 2,
      totalSteps: 4,
    });
    expect(summary.errorMessage).toBe(
      'executor failed running [/bin/sh -c echo about to fail &&     ls /nonexistent]: exit code: 2',
    );
  });

  it('maps a failing COPY and keeps the final error text', () => {
    const { summary } = parse('copyfail.buildkit.log', 'copyfail', 1);
    expect(summary.failedStep).toMatchObject({ step: 3, dockerfileLine: 5, instruction: 'COPY missing.txt /app/' });
    expect(summary.errorMessage).toBe('failed to compute cache key: "/missing.txt" not found: not found');
  });

  it('maps steps of named stages, out of order, and counts deduplicated FROM steps as done', () => {
    const { steps, summary } = parse('parallel.buildkit.log', 'parallel', 0);
    const started = steps.filter((event) => event.type === 'step-started');
    expect(started.map((event) => [event.step, event.stage, event.dockerfileLine])).toEqual([
      [3, 'b', 4],
      [4, 'b', 5],
      [5, 'b', 6],
      [2, 'a', 2],
      [6, 'final', 9],
      [7, 'final', 10],
    ]);
    // `[a 1/2] FROM` is the same vertex as `[b 1/3] FROM`: BuildKit prints it once.
    expect(steps.find((event) => event.type === 'step-cached')).toMatchObject({ step: 3, completedSteps: 2 });
    expect(summary).toMatchObject({ completedSteps: 7, totalSteps: 7 });
  });

  it('maps the failing step of the last stage in a multi-stage build', () => {
    const { summary } = parse('multistage.buildkit.log', 'multistage', 1);
    expect(summary.failedStep).toMatchObject({ stage: 'final', dockerfileLine: 11, exitCode: 1 });
  });

  it('maps a base image that cannot be resolved to its FROM line', () => {
    const { steps, summary } = parse('basemissing.buildkit.log', 'basemissing', 1);
    expect(steps.at(-1)).toMatchObject({
      type: 'step-failed',
      step: 1,
      instruction: 'FROM docker.io/dib-test/nonexistent:1.0',
      dockerfileLine: 1,
    });
    expect(summary.errorMessage).toMatch(/^failed to solve with frontend dockerfile\.v0: .*no such host$/);
  });

  it('reports a parse error without a step, with its line', () => {
    const { steps, summary } = parse('syntax.buildkit.log', 'syntax', 1);
    expect(steps).toEqual([]);
    expect(summary.errorDockerfileLine).toBe(3);
  });

  it('blames no step when cancelled', () => {
    const { steps, summary } = parse('cancelled.buildkit.log', 'cancelled', undefined);
    expect(kinds(steps)).toEqual(['step-started 1', 'step-cached 1', 'step-started 2']);
    expect(summary.failedStep).toBeUndefined();
  });

  it('grows the total from the [i/n] it sees when there is no Dockerfile', () => {
    const { steps } = parse('parallel.buildkit.log', undefined, 0);
    const started = steps.filter((event) => event.type === 'step-started');
    expect(started.map((event) => event.totalSteps)).toEqual([3, 3, 3, 5, 7, 7]);
    expect(started.map((event) => event.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('attributes output lines to their step', () => {
    const { events } = parse('apt.buildkit.log', 'apt', 1);
    expect(
      events.find((event) => event.type === 'log' && event.line.endsWith('Unable to locate package curl')),
    ).toMatchObject({
      step: 2,
      stream: 'stderr',
    });
  });
});

describe('BuildKitOutputParser on BuildKit >= 0.9 output (buildx)', () => {
  it('takes the line from Dockerfile:N even without a plan', () => {
    const { steps, summary } = parse('runfail.buildx.log', undefined, 1);
    expect(steps.at(-1)).toMatchObject({ type: 'step-failed', step: 3, dockerfileLine: 4, exitCode: 2 });
    expect(summary.errorMessage).toBe(
      'ERROR: failed to solve: process "/bin/sh -c echo about to fail &&     ls /nonexistent" did not complete successfully: exit code: 2',
    );
  });

  it('maps a missing base image and a parse error to their lines', () => {
    expect(parse('basemissing-cuda.buildx.log', undefined, 1).summary.errorDockerfileLine).toBe(1);
    expect(parse('syntax.buildx.log', undefined, 1).summary.errorDockerfileLine).toBe(3);
    expect(parse('copyfail.buildx.log', undefined, 1).summary.failedStep).toMatchObject({ dockerfileLine: 5 });
  });

  it('ignores a repeated vertex header when output interleaves', () => {
    const parser = new BuildKitOutputParser();
    const lines = [
      '#5 [a 2/2] RUN make',
      '#5 0.1 building a',
      '#6 [b 2/2] RUN make',
      '#6 0.2 building b',
      '#5 [a 2/2] RUN make',
      '#5 1.0 still a',
      '#5 DONE 1.1s',
      '#6 DONE 1.2s',
    ];
    const events = lines.flatMap((line) => parser.push(line)).filter((event) => event.type !== 'log');
    expect(kinds(events)).toEqual(['step-started 1', 'step-started 2', 'step-done 1', 'step-done 2']);
  });

  it('collects the warnings summary', () => {
    const parser = new BuildKitOutputParser();
    const events = [
      ' 1 warning found (use docker --debug to expand):',
      ' - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 9)',
    ].flatMap((line) => parser.push(line));
    expect(events.filter((event) => event.type === 'warning')).toHaveLength(1);
    expect(parser.summary().warnings[0]).toMatch(/^JSONArgsRecommended/);
  });
});
