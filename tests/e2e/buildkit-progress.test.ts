/**
 * BuildKit progress as each engine really prints it, through build_image over MCP: on the modern engine the
 * product drives buildx with `--progress=rawjson`; on the host engine the 20.10 CLI's built-in BuildKit
 * (DOCKER_BUILDKIT=1) prints `--progress=plain`. Both must give per-step starts and ends, durations, cache hits
 * on a rebuild, a readable log file, and a diagnosis of a failed build that names the Dockerfile line.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLine } from '../../src/builds/event-log.js';
import type { BuildEvent } from '../../src/build-model/events.js';
import { makeContext, removeImagesFrom, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engine as engineNamed, engines, ready, type Engine } from '../support/engines.js';
import { repoRoot, startServer, type StartedServer } from '../support/mcp-client.js';

interface BuildResult {
  success: boolean;
  build_id: string;
  image_name: string;
  record: {
    log_file: string;
    error?: { kind: string; summary: string; dockerfile_line?: number };
    attempts: { number: number; builder?: string }[];
  };
}

interface Case {
  engine: Engine;
  /** Variables for the server on top of the engine's. */
  env: Record<string, string>;
  progress: 'rawjson' | 'plain';
}

/** The modern engine (buildx: rawjson) and the host engine's 20.10 CLI with DOCKER_BUILDKIT=1 (plain). */
const CASES: Case[] = [
  ...engines('rawjson')
    .filter((engine) => engine.name === 'modern')
    .map((engine) => ({ engine, env: {}, progress: 'rawjson' as const })),
  { engine: engineNamed('host'), env: { DIB_DOCKER: '/usr/bin/docker', DOCKER_BUILDKIT: '1' }, progress: 'plain' },
];

const RUN_SLEEP = 'RUN sleep 0.35 && cat /app/hello.txt';

async function build(server: StartedServer, args: Record<string, unknown>): Promise<BuildResult> {
  const result = await server.client.callTool(
    {
      name: 'build_image',
      // The builds are taken as written: no fixes before or after, one attempt, no smoke test.
      arguments: { smoke_test: false, auto_fix: false, fix_before_build: false, max_attempts: 1, ...args },
    },
    undefined,
    { timeout: 300_000, resetTimeoutOnProgress: true },
  );
  return result.structuredContent as unknown as BuildResult;
}

async function eventsOf(stateDir: string, buildId: string): Promise<BuildEvent[]> {
  const file = path.join(stateDir, 'builds', encodeURIComponent(buildId), 'events.jsonl');
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as EventLine).event);
}

/** Per step: its instruction and how it ended, from the build's events. */
function stepsOf(events: BuildEvent[]) {
  const steps = new Map<number, { instruction: string; ended?: string; durationMs?: number }>();
  for (const event of events) {
    if (event.type === 'step-started') steps.set(event.step, { instruction: event.instruction });
    const step = 'step' in event && event.type !== 'log' ? steps.get(event.step) : undefined;
    if (!step) continue;
    if (event.type === 'step-done') Object.assign(step, { ended: 'done', durationMs: event.durationMs });
    if (event.type === 'step-cached') step.ended = 'cached';
    if (event.type === 'step-failed') step.ended = 'failed';
  }
  return [...steps.values()];
}

describe.each(CASES)('BuildKit progress on the $engine.title ($progress)', ({ engine, env, progress }) => {
  if (!ready(engine)) return;
  const images: string[] = [];
  let stateDir: string;
  let server: StartedServer;
  let context: string;
  beforeAll(async () => {
    stateDir = await tempDir('progress-state');
    server = await startServer({ ...engine.env, DIB_STATE_DIR: stateDir, DIB_SOFT_DEADLINE_SECONDS: '280', ...env });
    context = await makeContext({
      Dockerfile: [
        `FROM ${TEST_BASE_IMAGE}`,
        'WORKDIR /app',
        'COPY hello.txt /app/hello.txt',
        RUN_SLEEP,
        `RUN echo "progress run ${process.pid}" > /run.txt`,
        '',
      ].join('\n'),
      'hello.txt': 'hello from the build context\n',
    });
  });
  afterAll(async () => {
    await server?.close();
    removeImagesFrom(engine.env, ...images);
  });

  it('reports every step started and ended, with its duration, and keeps a readable log', async () => {
    const name = `dib-e2e-progress-${engine.name}-${process.pid}`;
    images.push(`${name}:latest`);
    const data = await build(server, { context, image_name: name, no_cache: true });
    expect(data.success, JSON.stringify(data.record?.error)).toBe(true);
    const steps = stepsOf(await eventsOf(stateDir, data.build_id));
    expect(steps.map((step) => step.instruction)).toEqual([
      `FROM docker.io/${TEST_BASE_IMAGE}`,
      'WORKDIR /app',
      'COPY hello.txt /app/hello.txt',
      RUN_SLEEP,
      `RUN echo "progress run ${process.pid}" > /run.txt`,
    ]);
    expect(steps.every((step) => step.ended === 'done' || step.ended === 'cached')).toBe(true);
    const sleep = steps.find((step) => step.instruction === RUN_SLEEP)!;
    expect(sleep.ended).toBe('done');
    expect(sleep.durationMs).toBeGreaterThanOrEqual(350);

    const log = await readFile(data.record.log_file, 'utf8');
    // Plain text either way: the log resource and diagnosis read it.
    expect(log).not.toMatch(/^\s*[{}"]/m);
    expect(log).toMatch(/^#\d+ \[4\/5\] RUN sleep 0\.35 && cat \/app\/hello\.txt$/m);
    expect(log).toMatch(/^#\d+ \d+\.\d+ hello from the build context$/m);
    const vertex = /^(#\d+) \[4\/5\] RUN sleep/m.exec(log)![1];
    const done = new RegExp(`^${vertex} DONE (\\d+\\.\\d+)s$`, 'm').exec(log)![1]!;
    // rawjson gives the exact time (to the millisecond); plain progress rounds to a tenth of a second.
    expect(done).toMatch(progress === 'rawjson' ? /^\d+\.\d{3}$/ : /^\d+\.\d$/);
    expect(sleep.durationMs).toBe(Math.round(Number(done) * 1000));
  });

  it('reports the unchanged steps of a rebuild as cache hits', async () => {
    const name = `dib-e2e-progress-${engine.name}-${process.pid}`;
    const data = await build(server, { context, image_name: name });
    expect(data.success, JSON.stringify(data.record?.error)).toBe(true);
    const steps = stepsOf(await eventsOf(stateDir, data.build_id));
    // FROM counts as cached or done depending on the BuildKit version; every other step is a cache hit. BuildKit
    // may print cache hits in any order.
    expect(
      steps
        .filter((step) => step.ended === 'cached' && !step.instruction.startsWith('FROM'))
        .map((step) => step.instruction)
        .sort(),
    ).toEqual(
      [
        'WORKDIR /app',
        'COPY hello.txt /app/hello.txt',
        RUN_SLEEP,
        `RUN echo "progress run ${process.pid}" > /run.txt`,
      ].sort(),
    );
    expect(steps.every((step) => step.ended === 'cached' || step.ended === 'done')).toBe(true);
    expect(await readFile(data.record.log_file, 'utf8')).toMatch(/^#\d+ CACHED$/m);
  });

  it('diagnoses a failing RUN in build/gpu.Dockerfile with its package and Dockerfile line', async () => {
    const failing = await makeContext({
      'build/gpu.Dockerfile': await readFile(
        path.join(repoRoot, 'tests', 'fixtures', 'build-logs', 'runfail-gpu.Dockerfile'),
        'utf8',
      ),
    });
    const name = `dib-e2e-progress-fail-${engine.name}-${process.pid}`;
    const data = await build(server, {
      context: failing,
      dockerfile: 'build/gpu.Dockerfile',
      image_name: name,
      no_cache: true,
    });
    expect(data.success).toBe(false);
    const log = await readFile(data.record.log_file, 'utf8');
    expect(data.record.error, log).toMatchObject({ kind: 'apt-unable-to-locate', dockerfile_line: 8 });
    expect(data.record.error?.summary).toContain('libcudnn9-dev-cuda-12');
    const failed = (await eventsOf(stateDir, data.build_id)).find((event) => event.type === 'step-failed');
    expect(failed).toMatchObject({ stage: 'stage-1', dockerfileLine: 8, exitCode: 100 });
    expect(log).not.toMatch(/^\s*[{}"]/m);
    expect(log).toMatch(/^ > \[stage-1 2\/2\] RUN echo "installing CUDA helpers" && apt-get install /m);
    // BuildKit 0.13 (buildx) names the file as it was given; the 20.10 CLI's BuildKit prints no source context.
    if (progress === 'rawjson') expect(log).toMatch(/^gpu\.Dockerfile:8$/m);
  });
});
