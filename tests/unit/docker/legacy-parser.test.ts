import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/build-model/events.js';
import { planBuildSteps } from '../../../src/docker/dockerfile-steps.js';
import { LegacyOutputParser } from '../../../src/docker/output/legacy-parser.js';
import { fixtureDockerfile, fixtureLines } from './fixture-logs.js';

/** Runs a captured log through the parser; the fixtures were built with `--label dib.test=1`. */
function parse(name: string, dockerfile: string | undefined, exitCode: number | undefined) {
  const plan =
    dockerfile === undefined
      ? undefined
      : planBuildSteps(fixtureDockerfile(dockerfile), { builder: 'legacy', hasLabels: true });
  let clock = 0;
  const parser = new LegacyOutputParser({ ...(plan ? { plan } : {}), now: () => (clock += 10) });
  const events: BuildEvent[] = [];
  for (const line of fixtureLines(`${name}.legacy.log`)) events.push(...parser.push(line));
  events.push(...parser.end(exitCode));
  return { events, steps: events.filter((event) => event.type !== 'log'), summary: parser.summary() };
}

describe('LegacyOutputParser on captured classic-builder output', () => {
  it('reports a successful build step by step, in order, with progress and the short image id', () => {
    const { steps, summary } = parse('ok', 'ok', 0);
    expect(steps.map((event) => `${event.type}${'step' in event ? ` ${event.step}` : ''}`)).toEqual([
      'warning',
      ...[1, 2, 3, 4, 5, 6, 7].flatMap((step) => [`step-started ${step}`, `step-done ${step}`]),
      'image-built',
    ]);
    expect(steps[1]).toEqual({
      type: 'step-started',
      step: 1,
      instruction: 'FROM dib-test/debian:bookworm',
      dockerfileLine: 1,
      completedSteps: 0,
      totalSteps: 7,
    });
    expect(steps.at(-2)).toMatchObject({
      type: 'step-done',
      step: 7,
      completedSteps: 7,
      totalSteps: 7,
      durationMs: 10,
    });
    expect(steps.at(-1)).toEqual({ type: 'image-built', imageId: '5c13372cff03' });
    expect(summary).toMatchObject({ builder: 'legacy', totalSteps: 7, completedSteps: 7, imageId: '5c13372cff03' });
    expect(summary.errorMessage).toBeUndefined();
  });

  it('turns the deprecation banner into one warning', () => {
    const { steps } = parse('ok', 'ok', 0);
    expect(steps[0]).toEqual({
      type: 'warning',
      message:
        'DEPRECATED: The legacy builder is deprecated and will be removed in a future release. BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0 environment-variable.',
    });
  });

  it('marks cached steps as cached', () => {
    const { steps, summary } = parse('runfail', 'runfail', 2);
    expect(steps.find((event) => event.type === 'step-cached')).toMatchObject({ step: 2 });
    expect(summary.cachedSteps).toBe(1);
  });

  it('maps a failing RUN to its Dockerfile line, with the exit code', () => {
    const { steps, summary } = parse('runfail', 'runfail', 2);
    const failed = steps.find((event) => event.type === 'step-failed');
    expect(failed).toEqual({
      type: 'step-failed',
      step: 4,
      instruction: 'RUN echo about to fail &&     ls /nonexistent',
      dockerfileLine: 4,
      exitCode: 2,
      message: "The command '/bin/sh -c echo about to fail &&     ls /nonexistent' returned a non-zero code: 2",
      completedSteps: 3,
      totalSteps: 6,
    });
    expect(summary.failedStep?.dockerfileLine).toBe(4);
    expect(summary.errorMessage).toBe(failed && 'message' in failed ? failed.message : undefined);
  });

  it('maps a failing COPY (no exit code) to its line', () => {
    const { summary } = parse('copyfail', 'copyfail', 1);
    expect(summary.failedStep).toEqual({
      step: 4,
      instruction: 'COPY missing.txt /app/',
      dockerfileLine: 5,
      message:
        'COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist',
    });
  });

  it('counts steps across stages (10 with the --label step) and maps the last stage', () => {
    const { summary } = parse('multistage', 'multistage', 1);
    expect(summary).toMatchObject({ totalSteps: 10, failedStep: { step: 9, dockerfileLine: 11, exitCode: 1 } });
  });

  it('blames the step that was running when an error only shows as the last line (base image pull)', () => {
    const { steps, summary } = parse('basemissing', 'basemissing', 1);
    expect(steps.at(-1)).toMatchObject({
      type: 'step-failed',
      step: 1,
      dockerfileLine: 1,
      instruction: 'FROM dib-test/nonexistent:1.0',
    });
    expect(summary.errorMessage).toMatch(
      /^Get "https:\/\/registry-1\.docker\.io\/v2\/": dial tcp: lookup registry-1\.docker\.io/,
    );
  });

  it('reports a parse error without a step, with the line docker names', () => {
    const { steps, summary } = parse('syntax', 'syntax', 1);
    expect(steps.filter((event) => event.type.startsWith('step'))).toEqual([]);
    expect(summary).toMatchObject({
      errorMessage: 'Error response from daemon: dockerfile parse error line 3: unknown instruction: FOO',
      errorDockerfileLine: 3,
    });
  });

  it('maps the global ARG step and the step after it', () => {
    const { steps } = parse('stages', 'stages', 0);
    expect(steps.filter((event) => event.type === 'step-started').slice(0, 2)).toMatchObject([
      { step: 1, instruction: 'ARG BASE=dib-test/debian:bookworm', dockerfileLine: 1 },
      { step: 2, instruction: 'FROM ${BASE}', dockerfileLine: 2 },
    ]);
  });

  it('blames no step when the build was stopped from outside', () => {
    const { steps, summary } = parse('cancelled', 'cancelled', undefined);
    expect(steps.filter((event) => event.type === 'step-failed')).toEqual([]);
    expect(summary.failedStep).toBeUndefined();
  });

  it('works without a Dockerfile: steps and totals, no lines', () => {
    const { steps } = parse('runfail', undefined, 2);
    expect(steps.find((event) => event.type === 'step-failed')).toMatchObject({ step: 4, totalSteps: 6 });
    expect(steps.find((event) => event.type === 'step-failed')).not.toHaveProperty('dockerfileLine');
  });

  it('strips ANSI colours and attributes output lines to their step', () => {
    const { events } = parse('apt', 'apt', 100);
    const logs = events.filter((event) => event.type === 'log');
    expect(logs.map((event) => event.line)).toContain('E: Unable to locate package curl');
    expect(logs.find((event) => event.line === 'E: Unable to locate package curl')).toMatchObject({ step: 3 });
    expect(logs.some((event) => event.line.includes('\u001b'))).toBe(false);
  });

  it('does not map a step whose keyword disagrees with the plan', () => {
    const plan = planBuildSteps('FROM a\nRUN x\n', { builder: 'legacy' });
    const parser = new LegacyOutputParser({ plan });
    const events = parser.push('Step 2/3 : COPY y /y');
    expect(events.find((event) => event.type === 'step-started')).not.toHaveProperty('dockerfileLine');
  });
});
