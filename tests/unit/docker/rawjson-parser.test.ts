import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/build-model/events.js';
import { BuildKitOutputParser } from '../../../src/docker/output/buildkit-parser.js';
import { createOutputParser } from '../../../src/docker/output/output-parser.js';
import type { BuildOutputParser } from '../../../src/docker/output/parser-common.js';
import { RawJsonOutputParser } from '../../../src/docker/output/rawjson-parser.js';
import { planBuildSteps } from '../../../src/docker/dockerfile-steps.js';
import { fixtureDockerfile, fixtureLines } from './fixture-logs.js';

function feed(parser: BuildOutputParser, lines: readonly string[], exitCode: number | undefined) {
  const events: BuildEvent[] = [];
  for (const line of lines) events.push(...parser.push(line, 'stderr'));
  events.push(...parser.end(exitCode));
  return {
    events,
    steps: events.filter((event) => event.type !== 'log'),
    log: events.flatMap((event) => (event.type === 'log' ? [event.line] : [])),
    summary: parser.summary(),
  };
}

function planOf(dockerfile: string) {
  return planBuildSteps(fixtureDockerfile(dockerfile), { builder: 'buildkit', hasLabels: true });
}

function rawjson(log: string, dockerfile: string, exitCode: number) {
  return feed(new RawJsonOutputParser({ plan: planOf(dockerfile) }), fixtureLines(log), exitCode);
}

/**
 * Step events without what differs between two runs of the same build: timings, the order BuildKit interleaves
 * vertices in, and whether an unchanged step was reused (BuildKit marks some CACHED even under --no-cache).
 */
function stepShape(events: BuildEvent[]) {
  return events
    .filter((event) => event.type.startsWith('step-'))
    .map((event) => {
      const type = event.type === 'step-cached' ? 'step-done' : event.type;
      if (event.type === 'step-failed') {
        const { completedSteps: _completed, ...failed } = event;
        return withoutRunIds(JSON.stringify(failed));
      }
      return `${type} ${'step' in event ? event.step : ''}`;
    })
    .sort();
}

/** BuildKit names the build context by a random ref in its errors (`ref <uuid>::<id>`). */
const withoutRunIds = (text: string) => text.replace(/ref [\w-]+::\w+/g, 'ref <context>');

const FAILURE_FIELDS = ['totalSteps', 'failedStep', 'errorMessage', 'errorDockerfileLine'] as const;

describe('RawJsonOutputParser on buildx 0.13 --progress=rawjson output (Docker 26)', () => {
  it('gives the same step events as the plain parser on the same build printed as plain', () => {
    for (const [name, dockerfile, exitCode] of [
      ['pipconflict', 'pipconflict', 1],
      ['runfail-gpu', 'runfail-gpu', 1],
      ['ok-cached', 'ok', 0],
      ['copyfail', 'copyfail', 1],
    ] as const) {
      const fromJson = rawjson(`${name}.rawjson.log`, dockerfile, exitCode);
      const fromPlain = feed(
        new BuildKitOutputParser({ plan: planOf(dockerfile) }),
        fixtureLines(`${name}.buildx-plain.log`),
        exitCode,
      );
      expect(stepShape(fromJson.events), name).toEqual(stepShape(fromPlain.events));
      expect(stepShape(fromJson.events).length, name).toBeGreaterThan(2);
      // The saved log has plain's error summary for the failed step, with or without output of its own.
      expect(
        fromJson.log.filter((line) => /^ > \[.*:$/.test(line)),
        name,
      ).toEqual(fromPlain.log.filter((line) => /^ > \[.*:$/.test(line)));
      for (const field of FAILURE_FIELDS) {
        const [fromJsonValue, fromPlainValue] = [fromJson.summary[field], fromPlain.summary[field]].map((value) =>
          value === undefined ? undefined : withoutRunIds(JSON.stringify(value)),
        );
        expect(fromJsonValue, `${name} ${field}`).toEqual(fromPlainValue);
      }
    }
  });

  it('reports per-step starts and ends with the exact duration from started/completed', () => {
    const { steps, summary } = rawjson('ok.rawjson.log', 'ok', 0);
    // In this run BuildKit reused WORKDIR despite --no-cache (it does for metadata-only steps).
    expect(steps.map((event) => `${event.type}${'step' in event ? ` ${event.step}` : ''}`)).toEqual([
      'step-started 1',
      'step-started 2',
      'step-done 1',
      'step-cached 2',
      'step-started 3',
      'step-done 3',
      'step-started 4',
      'step-done 4',
      'image-built',
    ]);
    // The RUN vertex ran from 21:54:58.798627383 to 21:54:59.341900602: 543 ms (plain progress says "0.5s").
    expect(steps[7]).toEqual({ type: 'step-done', step: 4, durationMs: 543, completedSteps: 4, totalSteps: 4 });
    expect(summary).toMatchObject({ completedSteps: 4, totalSteps: 4, cachedSteps: 1 });
    expect(summary.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('reports a cache hit for every step of a rebuild', () => {
    const { steps, summary } = rawjson('ok-cached.rawjson.log', 'ok', 0);
    expect(steps.filter((event) => event.type === 'step-cached').map((event) => 'step' in event && event.step)).toEqual(
      [2, 3, 4],
    );
    expect(summary).toMatchObject({ completedSteps: 4, cachedSteps: 3 });
  });

  it('reports the failed step with its exit code, stage and Dockerfile line', () => {
    const { steps, summary } = rawjson('runfail-gpu.rawjson.log', 'runfail-gpu', 1);
    expect(steps.at(-1)).toMatchObject({
      type: 'step-failed',
      stage: 'stage-1',
      instruction: expect.stringContaining('apt-get install -y --no-install-recommends libcudnn9-dev-cuda-12'),
      exitCode: 100,
      dockerfileLine: 8,
    });
    expect(summary.errorDockerfileLine).toBe(8);
    expect(summary.errorMessage).toMatch(/^ERROR: failed to solve: process .* exit code: 100$/);
  });

  it('writes plain, readable log lines: no JSON, base64 decoded, the failed step summarised as plain does', () => {
    const { log } = rawjson('pipconflict.rawjson.log', 'pipconflict', 1);
    expect(log.filter((line) => /^\s*[{}"\]]/.test(line))).toEqual([]);
    const header = log.findIndex((line) =>
      /^#\d+ \[3\/3\] RUN pip install --break-system-packages --no-index --find-links \/wheels torch==2\.7\.1 torchvision==0\.15\.0$/.test(
        line,
      ),
    );
    const vertex = log[header]!.split(' ')[0]!;
    expect(log).toContain(
      `${vertex} ERROR: process "/bin/sh -c pip install --break-system-packages --no-index --find-links /wheels torch==2.7.1 torchvision==0.15.0" did not complete successfully: exit code: 1`,
    );
    expect(
      log.some((line) => line.startsWith(vertex) && / {4}torchvision 0\.15\.0 depends on torch==2\.0\.0$/.test(line)),
    ).toBe(true);
    const block = log.indexOf('------');
    expect(log[block + 1]).toBe(
      ' > [3/3] RUN pip install --break-system-packages --no-index --find-links /wheels torch==2.7.1 torchvision==0.15.0:',
    );
    expect(log.slice(block).some((line) => /^\d+\.\d{3} ERROR: ResolutionImpossible/.test(line))).toBe(true);
    expect(log).toContain('Dockerfile:4');
    expect(log.at(-1)).toMatch(/^ERROR: failed to solve: /);
  });

  it('joins output lines split across log chunks, and reads one SolveStatus a line too', () => {
    const vertex = 'sha256:aa';
    const chunk = (text: string, at: string) =>
      JSON.stringify({ logs: [{ vertex, stream: 1, data: Buffer.from(text).toString('base64'), timestamp: at }] });
    const lines = [
      JSON.stringify({ vertexes: [{ digest: vertex, name: '[1/1] RUN make', started: '2026-01-01T00:00:00Z' }] }),
      chunk('compiling mod', '2026-01-01T00:00:01.5Z'),
      chunk('ule one\nlinking\n', '2026-01-01T00:00:02Z'),
      JSON.stringify({
        vertexes: [
          {
            digest: vertex,
            name: '[1/1] RUN make',
            started: '2026-01-01T00:00:00Z',
            completed: '2026-01-01T00:00:02.25Z',
          },
        ],
      }),
    ];
    const { log, steps } = feed(new RawJsonOutputParser(), lines, 0);
    expect(log).toEqual(['#1 [1/1] RUN make', '#1 2.000 compiling module one', '#1 2.000 linking', '#1 DONE 2.250s']);
    expect(steps.find((event) => event.type === 'step-done')).toMatchObject({ step: 1, durationMs: 2250 });
  });

  it('prints a finished status once, and turns BuildKit warnings into warning events', () => {
    const vertex = 'sha256:bb';
    const status = { id: 'writing image sha256:' + 'a'.repeat(64), vertex, completed: '2026-01-01T00:00:01Z' };
    const lines = [
      JSON.stringify({ vertexes: [{ digest: vertex, name: 'exporting to image', started: '2026-01-01T00:00:00Z' }] }),
      JSON.stringify({ statuses: [status] }),
      JSON.stringify({ statuses: [status] }),
      JSON.stringify({
        warnings: [{ vertex, short: Buffer.from('SecretsUsedInArgOrEnv: ARG "HF_TOKEN"').toString('base64') }],
      }),
    ];
    const { log, steps } = feed(new RawJsonOutputParser(), lines, 0);
    expect(log.filter((line) => line.includes('writing image'))).toEqual([`#1 ${status.id} done`]);
    expect(steps).toContainEqual({ type: 'image-built', imageId: `sha256:${'a'.repeat(64)}` });
    expect(steps).toContainEqual({ type: 'warning', message: 'SecretsUsedInArgOrEnv: ARG "HF_TOKEN"' });
  });

  it('passes text that is not a SolveStatus through as it is', () => {
    const { log } = feed(new RawJsonOutputParser(), ['ERROR: failed to solve: x', '{"other": true}'], 1);
    expect(log).toEqual(['ERROR: failed to solve: x', '{"other": true}']);
  });

  it('is the parser createOutputParser gives for rawjson progress; plain stays the plain parser', () => {
    expect(createOutputParser('buildkit', { progress: 'rawjson' })).toBeInstanceOf(RawJsonOutputParser);
    expect(createOutputParser('buildkit', { progress: 'plain' })).toBeInstanceOf(BuildKitOutputParser);
    expect(createOutputParser('buildkit')).toBeInstanceOf(BuildKitOutputParser);
  });
});
