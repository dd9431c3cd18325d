import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containersWithLabel,
  copyFsdpExample,
  dockerBuildProcessesFor,
  imageExists,
  makeContext,
  makePipConflictContext,
  removeImagesFrom,
  tempDir,
} from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE, TEST_PIP_IMAGE, TEST_TORCH_BASE_IMAGE, TEST_TORCH_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { startServer, type StartedServer } from '../support/mcp-client.js';

interface BuildResult {
  success: boolean;
  status: string;
  phase: string;
  image_name: string;
  mode: string;
  build_time: string;
  attempts: number;
  build_id: string;
  next_step: string;
  log_tail: string[];
  fixes_applied: { what: string; where: string; why: string; source: string; attempt: number }[];
  record: {
    log_file: string;
    image_id?: string;
    error?: { kind: string; summary: string; dockerfile_line?: number; excerpt: string; next_step: string };
    smoke?: { passed: boolean; checks: { name: string; status: string; detail?: string }[]; torch_version?: string };
    attempts: { number: number; success?: boolean; builder?: string; diagnosis?: string }[];
  };
}

async function build(server: StartedServer, args: Record<string, unknown>, progress: Progress[] = []) {
  const result = await server.client.callTool({ name: 'build_image', arguments: args }, undefined, {
    onprogress: (update) => progress.push(update),
    timeout: 600_000,
    resetTimeoutOnProgress: true,
  });
  return { result, data: result.structuredContent as unknown as BuildResult };
}

const checkStatus = (data: BuildResult, name: string) =>
  data.record.smoke?.checks.find((check) => check.name === name)?.status;

interface Builder {
  name: string;
  /** Variables for the server on top of the engine's. */
  env: Record<string, string>;
  /** The builder's own output format, as the full log keeps it. */
  expectLog: RegExp;
}

/**
 * The builders each engine offers users. The host: the newer CLI on PATH has no buildx, so the legacy builder; the
 * engine's own 20.10 client runs its built-in BuildKit. The modern engine: buildx, as on a user's machine today.
 */
function buildersOf(engine: Engine): Builder[] {
  const buildkitLog = /^#\d+ \[\d+\/\d+\] /m;
  if (engine.name === 'modern') return [{ name: 'buildx', env: {}, expectLog: buildkitLog }];
  return [
    { name: 'legacy', env: {}, expectLog: /^Step \d+\/\d+ : /m },
    { name: 'buildkit', env: { DIB_DOCKER: '/usr/bin/docker' }, expectLog: buildkitLog },
  ];
}

describe.each(engines())('build_image over stdio on the $title', (engine) => {
  if (!ready(engine)) return;
  const images: string[] = [];
  const imageName = (suffix: string) => {
    const name = `dib-e2e-${engine.name}-${suffix}-${process.pid}`;
    images.push(`${name}:latest`);
    return name;
  };
  beforeAll(() => {
    for (const image of [TEST_BASE_IMAGE, TEST_PIP_IMAGE, TEST_TORCH_IMAGE]) {
      expect(imageExists(image, engine.env), `${image} is missing on the ${engine.name} engine: provision it`).toBe(
        true,
      );
    }
  });
  afterAll(() => removeImagesFrom(engine.env, ...images));
  const serverEnv = async (extra: Record<string, string>) => ({
    DIB_STATE_DIR: await tempDir('state'),
    ...engine.env,
    ...extra,
  });

  for (const builder of buildersOf(engine)) {
    describe(`with the ${builder.name} builder`, () => {
      let server: StartedServer;
      beforeAll(async () => {
        // These tests follow one waited call to its end; the soft deadline has a test of its own below.
        server = await startServer(await serverEnv({ DIB_SOFT_DEADLINE_SECONDS: '300', ...builder.env }));
      });
      afterAll(() => server?.close());

      it('builds the FSDP example on a local torch image with increasing progress, then smoke-tests it (FSDP trains on CPU)', async () => {
        const context = await copyFsdpExample();
        const progress: Progress[] = [];
        const { result, data } = await build(
          server,
          {
            context,
            image_name: imageName(`fsdp-${builder.name}`),
            base_image: TEST_TORCH_IMAGE,
            no_cache: true,
            smoke_commands: ['python3 /workspace/train_fsdp.py --steps 2'],
          },
          progress,
        );
        expect(result.isError, JSON.stringify(data?.record?.error ?? result.content)).toBeFalsy();
        expect(data).toMatchObject({ success: true, status: 'succeeded', mode: 'local', attempts: 1 });
        expect(data.build_time).toMatch(/^\d+\.\ds$/);
        expect(data.fixes_applied.map((fix) => fix.what)).toContain(`base image -> ${TEST_TORCH_IMAGE}`);
        expect(imageExists(data.image_name, engine.env)).toBe(true);
        // Progress arrived during the build, strictly increasing, ending at the total.
        expect(progress.length).toBeGreaterThanOrEqual(4);
        for (let index = 1; index < progress.length; index++) {
          expect(progress[index]!.progress).toBeGreaterThan(progress[index - 1]!.progress);
        }
        expect(progress.at(-1)!.progress).toBe(progress.at(-1)!.total);
        expect(progress.some((update) => update.message?.includes('COPY train_fsdp.py'))).toBe(true);
        // The builder's own output format is in the full log.
        expect(await readFile(data.record.log_file, 'utf8')).toMatch(builder.expectLog);
        // The smoke test proves the image runs: imports, versions agree, nms, FSDP, tensors; CUDA skipped, not passed.
        expect(data.record.smoke?.passed).toBe(true);
        for (const name of [
          'torch-import',
          'torchvision-import',
          'torchaudio-import',
          'torchvision-nms',
          'fsdp-import',
          'tensor-op',
          'command-1',
        ]) {
          expect(checkStatus(data, name), name).toBe('passed');
        }
        for (const name of ['cuda-available', 'cuda-version', 'nccl', 'gpu-tensor-op'])
          expect(checkStatus(data, name), name).toBe('skipped');
        expect(containersWithLabel(`dib.smoke.id=${data.build_id}`, engine.env)).toEqual([]);
      });

      // Host only: it reuses the layer scripts/provision-docker.sh cached with this builder; elsewhere it would
      // download PyTorch again, and the FSDP test above covers a torch image on every builder.
      it.runIf(builder.name === 'legacy')(
        "builds a PyTorch image from the Debian base with Debian's python3-torch packages and smoke-tests it",
        async () => {
          // The same instruction as scripts/provision-docker.sh, so the legacy builder's cache makes this quick in CI.
          const context = await makeContext({
            Dockerfile:
              `FROM ${TEST_TORCH_BASE_IMAGE}\n` +
              'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ' +
              'python3 python3-torch python3-torchvision python3-torchaudio && rm -rf /var/lib/apt/lists/*\n',
          });
          const progress: Progress[] = [];
          const { result, data } = await build(server, { context, image_name: imageName('debian-torch') }, progress);
          expect(result.isError, JSON.stringify(data?.record?.error ?? result.content)).toBeFalsy();
          expect(data).toMatchObject({ success: true, attempts: 1, fixes_applied: [] });
          expect(progress.length).toBeGreaterThanOrEqual(2);
          expect(data.record.smoke?.torch_version).toMatch(/^2\.6/);
          for (const name of ['torch-import', 'torchvision-import', 'torchvision-nms', 'fsdp-import', 'tensor-op']) {
            expect(checkStatus(data, name), name).toBe('passed');
          }
          expect(checkStatus(data, 'cuda-available')).toBe('skipped');
        },
      );

      it('reports a failing COPY with its Dockerfile line and the next step, without retrying what it cannot fix', async () => {
        const context = await makeContext({
          Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo ok\n\nCOPY missing.txt /missing.txt\n`,
        });
        const { result, data } = await build(server, {
          context,
          image_name: imageName(`copy-${builder.name}`),
          smoke_test: false,
        });
        expect(result.isError).toBe(true);
        expect(data).toMatchObject({ success: false, status: 'failed', attempts: 1 });
        expect(data.record.error).toMatchObject({ kind: 'copy-missing-file', dockerfile_line: 4 });
        expect(data.record.error!.excerpt).toMatch(/missing\.txt/);
        expect(data.next_step.length).toBeGreaterThan(10);
        expect(data.log_tail.length).toBeGreaterThan(0);
        expect(data.log_tail.length).toBeLessThanOrEqual(40);
      });
    });
  }

  describe('the fix loop on a real pip conflict (torch==2.7.1 with torchvision==0.15.0)', () => {
    let server: StartedServer;
    beforeAll(async () => {
      server = await startServer(await serverEnv({ DIB_SOFT_DEADLINE_SECONDS: '300' }));
    });
    afterAll(() => server?.close());

    it('without fixing first: fails on ResolutionImpossible, repins torchvision to 0.22.1 from the log, succeeds on attempt 2', async () => {
      const context = await makePipConflictContext(TEST_PIP_IMAGE);
      const original = await readFile(path.join(context, 'Dockerfile'), 'utf8');
      const { result, data } = await build(server, {
        context,
        image_name: imageName('pip-diagnosed'),
        fix_before_build: false,
        // The wheels are stand-ins without torch's code, so the PyTorch smoke checks would rightly fail.
        smoke_test: false,
      });
      expect(result.isError, JSON.stringify(data.record.error)).toBeFalsy();
      expect(data).toMatchObject({ success: true, attempts: 2 });
      expect(data.record.attempts[0]).toMatchObject({ success: false });
      expect(data.record.attempts[0]!.diagnosis).toMatch(/torchvision/);
      expect(data.fixes_applied).toEqual([
        expect.objectContaining({
          what: 'torchvision==0.15.0 -> torchvision==0.22.1',
          where: 'Dockerfile:5',
          source: 'diagnosis',
          attempt: 2,
        }),
      ]);
      const firstLog = await readFile(data.record.log_file.replace('attempt-2', 'attempt-1'), 'utf8');
      expect(firstLog).toMatch(/ResolutionImpossible/);
      // The user's Dockerfile is untouched without write_fixes.
      expect(await readFile(path.join(context, 'Dockerfile'), 'utf8')).toBe(original);
      // The image has the pair pip resolved after the fix.
      expect(engine.docker(['run', '--rm', data.image_name]).stdout.trim()).toBe('2.7.1 0.22.1');
    });

    it('with fixing first (the default): succeeds on attempt 1 with the analyser fix recorded, and write_fixes keeps a backup', async () => {
      const context = await makePipConflictContext(TEST_PIP_IMAGE);
      const original = await readFile(path.join(context, 'Dockerfile'), 'utf8');
      const { result, data } = await build(server, {
        context,
        image_name: imageName('pip-analysed'),
        smoke_test: false,
        write_fixes: true,
      });
      expect(result.isError, JSON.stringify(data.record.error)).toBeFalsy();
      expect(data).toMatchObject({ success: true, attempts: 1 });
      expect(data.fixes_applied.some((fix) => fix.source === 'analysis' && /0\.22\.1/.test(fix.what))).toBe(true);
      const written = await readFile(path.join(context, 'Dockerfile'), 'utf8');
      expect(written).toMatch(/torchvision==0\.22\.1/);
      const backups = (data.record as { written_fixes?: { file: string; backup: string }[] }).written_fixes ?? [];
      expect(backups).toHaveLength(1);
      expect(await readFile(path.join(context, backups[0]!.backup), 'utf8')).toBe(original);
    });
  });

  describe('long builds, cancellation and restarts', () => {
    let stateDir: string;
    let server: StartedServer;
    beforeAll(async () => {
      stateDir = await tempDir('state');
      server = await startServer({ ...engine.env, DIB_STATE_DIR: stateDir, DIB_SOFT_DEADLINE_SECONDS: '2' });
    });
    afterAll(() => server?.close());

    it('returns running past the soft deadline, then get_build_status follows it to the end', async () => {
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 6 && echo slept\n` });
      const { data } = await build(server, {
        context,
        image_name: imageName('slow'),
        smoke_test: false,
        no_cache: true,
      });
      // Queued until its worker process has started, then running: either way the call answered and the build goes on.
      expect(data.status).toMatch(/^(queued|running)$/);
      expect(data.success).toBe(false);
      expect(data.next_step).toMatch(/get_build_status/);
      let status = data;
      for (let poll = 0; poll < 10 && /^(queued|running)$/.test(status.status); poll++) {
        const answer = await server.client.callTool({
          name: 'get_build_status',
          arguments: { build_id: data.build_id, wait_seconds: 20 },
        });
        status = answer.structuredContent as unknown as BuildResult;
      }
      expect(status).toMatchObject({ status: 'succeeded', success: true, build_id: data.build_id });
    });

    it('cancelling the MCP request stops docker build within seconds, marks the build cancelled, and leaves no process behind', async () => {
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 120\n` });
      // A server whose soft deadline cannot end the call first: the cancel must come from the client.
      const patient = await startServer({ ...engine.env, DIB_STATE_DIR: stateDir, DIB_SOFT_DEADLINE_SECONDS: '45' });
      const image = imageName('cancel');
      const controller = new AbortController();
      const call = patient.client
        .callTool({ name: 'build_image', arguments: { context, image_name: image, no_cache: true } }, undefined, {
          signal: controller.signal,
          timeout: 60_000,
        })
        .catch((error: Error) => error);
      // Wait until the build runs, then cancel the request.
      let buildId: string | undefined;
      for (let poll = 0; poll < 50 && !buildId; poll++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const list = await server.client.callTool({ name: 'list_builds', arguments: { limit: 5 } });
        const running = (
          list.structuredContent as { builds: { build_id: string; status: string; image_name: string }[] }
        ).builds.find((entry) => entry.image_name.startsWith(image) && entry.status === 'running');
        buildId = running?.build_id;
      }
      expect(buildId).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const cancelledAt = Date.now();
      controller.abort();
      expect(await call).toBeInstanceOf(Error);
      let status = '';
      while (Date.now() - cancelledAt < 15_000) {
        const answer = await server.client.callTool({ name: 'get_build_status', arguments: { build_id: buildId } });
        status = (answer.structuredContent as unknown as BuildResult).status;
        if (status === 'cancelled') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(status).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(10_000);
      expect(dockerBuildProcessesFor(`${image}:latest`)).toEqual([]);
      await patient.close();
    });

    it('keeps records across a server restart, and a build whose server died goes on running in its worker', async () => {
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 60\n` });
      const { data } = await build(server, { context, image_name: imageName('restart'), no_cache: true, wait: false });
      expect(data.status).toMatch(/queued|running/);
      const done = await server.client.callTool({ name: 'list_builds', arguments: { limit: 20 } });
      const before = (done.structuredContent as { builds: { build_id: string }[] }).builds.length;
      // Kill the server hard, so it cannot do anything: the build belongs to its worker and must not notice.
      await server.kill();
      server = await startServer({ ...engine.env, DIB_STATE_DIR: stateDir });
      const after = await server.client.callTool({ name: 'list_builds', arguments: { limit: 20 } });
      expect((after.structuredContent as { builds: unknown[] }).builds.length).toBe(before);
      const answer = await server.client.callTool({ name: 'get_build_status', arguments: { build_id: data.build_id } });
      const record = answer.structuredContent as unknown as BuildResult & { active: boolean };
      expect(record.status).toMatch(/queued|running/);
      expect(record.active).toBe(true);
      // The new server can stop what the old one started.
      const cancel = await server.client.callTool({ name: 'cancel_build', arguments: { build_id: data.build_id } });
      expect(cancel.structuredContent).toMatchObject({ cancelled: true, status: 'cancelled' });
    });
  });
});
