import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/build-model/events.js';
import type { LocalBuilderKind } from '../../src/docker/build-args.js';
import { DockerClient, dockerInvocationFor } from '../../src/docker/client.js';
import { LocalDockerBuilder, type LocalBuildOptions } from '../../src/docker/local-builder.js';
import type { BuildKitProgress } from '../../src/docker/output/parser-common.js';
import { ExecaProcessSpawner } from '../../src/docker/process-spawner.js';
import { diagnoseBuildLog } from '../../src/diagnosis/diagnose.js';
import { ExecaCommandRunner } from '../../src/util/command-runner.js';
import { findExecutable } from '../../src/util/find-executable.js';
import { engine as engineNamed, ready, type Engine } from '../support/engines.js';

const BASE_IMAGE = process.env.DIB_TEST_BASE_IMAGE ?? 'dib-test/debian:bookworm';
// The engine's own 20.10 client runs its built-in BuildKit; a newer client without buildx cannot.
const DOCKER = (await findExecutable('docker')) ?? 'docker';
const BUILDKIT_CLIENT = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : DOCKER;

/**
 * The builders users meet: on the host engine BuildKit (its 20.10 client) and the legacy builder; on the modern
 * engine BuildKit through buildx (the CLI on PATH, with the buildx plugin in the engine's DOCKER_CONFIG).
 */
interface Variant {
  label: string;
  kind: LocalBuilderKind;
  engine: Engine;
  cliPath: string;
  /** BuildKit's progress mode, as the probe decides it: rawjson through buildx. */
  progress?: BuildKitProgress;
}

const VARIANTS: Variant[] = [
  { label: 'buildkit', kind: 'buildkit', engine: engineNamed('host'), cliPath: BUILDKIT_CLIENT },
  { label: 'legacy', kind: 'legacy', engine: engineNamed('host'), cliPath: DOCKER },
  { label: 'buildx', kind: 'buildkit', engine: engineNamed('modern'), cliPath: DOCKER, progress: 'rawjson' },
];

/** The builder for a variant, with the client and engine it needs, as the probe would decide it. */
function builderFor(variant: Pick<Variant, 'kind' | 'engine' | 'cliPath' | 'progress'>): LocalDockerBuilder {
  const invocation = dockerInvocationFor({
    cliPath: variant.cliPath,
    useSudo: false,
    env: { ...process.env, ...variant.engine.env },
    builder: variant.kind,
    ...(variant.progress === undefined ? {} : { progress: variant.progress }),
  });
  return new LocalDockerBuilder({
    docker: new DockerClient(invocation, new ExecaCommandRunner(), new ExecaProcessSpawner()),
  });
}

async function dockerReady(): Promise<boolean> {
  const info = await execa('docker', ['info'], { reject: false, timeout: 15_000 });
  if (info.exitCode !== 0) return false;
  const image = await execa('docker', ['image', 'inspect', BASE_IMAGE], { reject: false, timeout: 15_000 });
  return image.exitCode === 0;
}

const dockerAvailable = await dockerReady();
const marker = `dibit${process.pid}x${Date.now().toString(36)}`;

/** Processes whose command line mentions this run's marker: docker clients and the build's own shells. */
async function processesWithMarker(): Promise<string[]> {
  const ps = await execa('ps', ['-eo', 'pid=,args='], { timeout: 10_000 });
  return ps.stdout.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe.skipIf(!dockerAvailable && process.env.DIB_REQUIRE_DOCKER !== '1')(
  'LocalDockerBuilder with real Docker',
  () => {
    const createdTags: { engine: Engine; ref: string }[] = [];
    const logFiles: string[] = [];
    let workDirectory: string;

    beforeAll(async () => {
      workDirectory = await mkdtemp(path.join(tmpdir(), 'dib-local-builder-'));
    });

    afterAll(async () => {
      for (const { engine, ref } of createdTags) engine.docker(['rmi', '-f', ref]);
      // The classic builder keeps each step's image as cache, even for failed builds: remove the untagged ones.
      const layers = new Set<string>();
      for (const logFile of logFiles) {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        for (const match of text.matchAll(/^ ---> ([0-9a-f]{12})$/gm)) layers.add(match[1]!);
      }
      for (const layer of [...layers].reverse()) {
        const tags = await execa('docker', ['image', 'inspect', '--format', '{{len .RepoTags}}', layer], {
          reject: false,
        });
        if (tags.stdout.trim() === '0') await execa('docker', ['rmi', layer], { reject: false });
      }
      if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
    });

    it('has a Docker daemon and the base image', () => {
      expect(dockerAvailable, `docker info failed or ${BASE_IMAGE} is missing (run scripts/provision-docker.sh)`).toBe(
        true,
      );
    });

    async function context(name: string, dockerfile: string, files: Record<string, string> = {}): Promise<string> {
      const directory = path.join(workDirectory, name);
      await execa('mkdir', ['-p', directory]);
      await writeFile(path.join(directory, 'Dockerfile'), dockerfile);
      for (const [file, content] of Object.entries(files)) await writeFile(path.join(directory, file), content);
      return directory;
    }

    function options(variant: Variant, name: string, contextDir: string): LocalBuildOptions {
      const imageRef = `dib-test-local-builder:${name}-${variant.label}-${marker}`;
      createdTags.push({ engine: variant.engine, ref: imageRef });
      const logFile = path.join(workDirectory, 'logs', `${name}-${variant.label}.log`);
      logFiles.push(logFile);
      return {
        contextDir,
        dockerfilePath: 'Dockerfile',
        imageRef,
        buildArgs: {},
        labels: { 'dib.test': '1' },
        logFile,
        timeoutMs: 180_000,
      };
    }

    describe.each(VARIANTS)('$label builder on the $engine.name engine', (variant) => {
      if (!ready(variant.engine)) return;
      const { kind, label } = variant;
      const builder = builderFor(variant);
      it('builds an image, with events in order and every step counted', { timeout: 180_000 }, async () => {
        const directory = await context(
          `ok-${label}`,
          [
            `FROM ${BASE_IMAGE}`,
            'WORKDIR /app',
            'COPY hello.txt /app/hello.txt',
            `RUN echo built-${marker} && cat /app/hello.txt`,
            'ENV DIB_TEST=1',
            '',
          ].join('\n'),
          { 'hello.txt': 'hello\n' },
        );
        const events: BuildEvent[] = [];
        const result = await builder.build(options(variant, 'ok', directory), {
          onEvent: (event) => events.push(event),
        });

        expect(result, result.errorMessage).toMatchObject({ success: true, exitCode: 0, cancelled: false });
        expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
        const expectedSteps = kind === 'buildkit' ? 4 : 6; // legacy: every instruction plus the --label step
        expect(result).toMatchObject({ totalSteps: expectedSteps, completedSteps: expectedSteps });

        const types = events.filter((event) => event.type !== 'log').map((event) => event.type);
        expect(types[0]).toBe('build-started');
        expect(types.slice(-2)).toEqual(['image-built', 'build-finished']);
        const started = events.filter((event) => event.type === 'step-started');
        expect(started.map((event) => event.step)).toEqual(
          Array.from({ length: expectedSteps }, (_, index) => index + 1),
        );
        for (const step of started) {
          const ended = events.findIndex(
            (event) => (event.type === 'step-done' || event.type === 'step-cached') && event.step === step.step,
          );
          expect(ended).toBeGreaterThan(events.indexOf(step));
        }
        expect(started.find((event) => event.instruction.startsWith('RUN'))?.dockerfileLine).toBe(4);

        const info = await builder.imageInfo(options(variant, 'ok', directory).imageRef, { timeoutMs: 30_000 });
        expect(info?.id).toBe(result.imageId);
        expect(info?.sizeBytes).toBeGreaterThan(0);
        expect(await readFile(result.logFile, 'utf8')).toContain(`built-${marker}`);
      });

      it('reports a failing COPY with its Dockerfile line', { timeout: 180_000 }, async () => {
        const dockerfile = `FROM ${BASE_IMAGE}\nWORKDIR /app\nCOPY missing-${marker}.txt /app/\nRUN echo never\n`;
        const directory = await context(`copy-${label}`, dockerfile);
        const result = await builder.build(options(variant, 'copy', directory));

        expect(result).toMatchObject({ success: false, failedStep: { dockerfileLine: 3 } });
        expect(result.failedStep?.instruction).toMatch(/^COPY missing-/);
        const [diagnosis] = diagnoseBuildLog(await readFile(result.logFile, 'utf8'), { dockerfileText: dockerfile });
        expect(diagnosis).toMatchObject({
          kind: 'copy-missing-file',
          dockerfileLine: 3,
          fix: { path: `missing-${marker}.txt` },
        });
      });

      it('maps a failing multi-line RUN to its line, with the exit code', { timeout: 180_000 }, async () => {
        const dockerfile = `FROM ${BASE_IMAGE}\nLABEL stage=test\nRUN echo first\nRUN echo failing && \\\n    ls /nonexistent-${marker}\nRUN echo never\n`;
        const directory = await context(`run-${label}`, dockerfile);
        const events: BuildEvent[] = [];
        const result = await builder.build(options(variant, 'run', directory), {
          onEvent: (event) => events.push(event),
        });

        expect(result).toMatchObject({ success: false, failedStep: { dockerfileLine: 4, exitCode: 2 } });
        expect(events.find((event) => event.type === 'step-failed')).toMatchObject({ dockerfileLine: 4, exitCode: 2 });
        expect(events.at(-1)).toMatchObject({ type: 'build-finished', success: false });
      });

      it('cancels a running step quickly and leaves no docker build behind', { timeout: 180_000 }, async () => {
        const directory = await context(
          `cancel-${label}`,
          `FROM ${BASE_IMAGE}\nRUN echo sleeping-${marker} && sleep 60\n`,
        );
        const controller = new AbortController();
        let abortedAt = 0;
        const result = await builder.build(options(variant, 'cancel', directory), {
          signal: controller.signal,
          onEvent: (event) => {
            // Stop once the step's own output shows it running (not at its header). BuildKit 0.13 (Docker 26) races
            // a cancel that lands while it is still starting the step's container: the container is left running,
            // with either progress mode. rawjson announces a step the moment it starts, so it would hit that race.
            if (event.type === 'log' && event.line.endsWith(`sleeping-${marker}`) && abortedAt === 0) {
              abortedAt = performance.now();
              controller.abort();
            }
          },
        });
        const latencyMs = performance.now() - abortedAt;
        console.log(`[${label}] cancel latency: ${Math.round(latencyMs)} ms`);

        expect(abortedAt).toBeGreaterThan(0);
        expect(result).toMatchObject({ success: false, cancelled: true });
        expect(result.failedStep).toBeUndefined();
        expect(latencyMs).toBeLessThan(5_000);
        // The daemon cancels the build once the client is gone; give it a moment, then look.
        let leftovers = await processesWithMarker();
        for (let attempt = 0; attempt < 10 && leftovers.length > 0; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          leftovers = await processesWithMarker();
        }
        expect(leftovers).toEqual([]);
        const containers = variant.engine.docker(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}}']);
        expect(containers.stdout.split('\n').filter((line) => line.includes(marker))).toEqual([]);
      });
    });

    it('returns undefined for an image that does not exist', async () => {
      expect(await builderFor(VARIANTS[1]!).imageInfo(`dib-test-local-builder:absent-${marker}`)).toBeUndefined();
    });
  },
);
