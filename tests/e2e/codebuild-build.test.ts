import { execa } from 'execa';
import path from 'node:path';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODEBUILD_CHARGES_WARNING, FALLBACK_MESSAGE } from '../../src/environment/recommend.js';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';
import {
  imageExists,
  makeContext,
  makePipConflictContext,
  removeImagesFrom,
  tempDir,
} from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE, TEST_PIP_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';
import { builtServer, startServer, type StartedServer } from '../support/mcp-client.js';

const PROJECT = 'pytorch-fsdp';

interface BuildResult {
  success: boolean;
  status: string;
  mode: string;
  attempts: number;
  build_id: string;
  image_name: string;
  fixes_applied: { what: string; source: string; attempt: number }[];
  record: {
    warnings?: string[];
    error?: { kind: string; summary: string };
    attempts: { codebuild_build_id?: string; console_url?: string; success?: boolean }[];
  };
}

/**
 * The emulated CodeBuild runs its buildspec's docker commands on one of this machine's engines: the host's 20.10,
 * or the modern Docker 26 + buildx, which is what CodeBuild's current standard images carry.
 */
describe.each(engines())(
  'build_image falls back to CodeBuild (local emulator, real AWS SDK, real docker inside on the $title)',
  (engine) => {
    if (!ready(engine)) return;
    const images: string[] = [];
    const imageName = (suffix: string) => {
      const name = `dib-e2e-cb-${engine.name}-${suffix}-${process.pid}`;
      images.push(`${name}:latest`);
      return name;
    };
    let aws: AwsEmulatorHandle;
    let server: StartedServer;
    beforeAll(async () => {
      aws = await startAwsEmulator({
        projects: [{ name: PROJECT, environment: { computeType: 'BUILD_GENERAL1_MEDIUM', privilegedMode: true } }],
        timing: { queuedMs: 20, provisioningMs: 20 },
        commandEnv: engine.env,
      });
      // The server sees no Docker daemon (so detection falls back), and AWS only through the emulator's endpoints.
      server = await startServer({
        ...aws.env,
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        DIB_STATE_DIR: await tempDir('state'),
        HOME: await tempDir('home'),
      });
    });
    afterAll(async () => {
      await server?.close();
      await aws?.stop();
      removeImagesFrom(engine.env, ...images);
    });

    const build = async (args: Record<string, unknown>, progress: Progress[] = []) => {
      const result = await server.client.callTool({ name: 'build_image', arguments: args }, undefined, {
        onprogress: (update) => progress.push(update),
        timeout: 300_000,
        resetTimeoutOnProgress: true,
      });
      return { result, data: result.structuredContent as unknown as BuildResult };
    };

    it('uploads, builds in CodeBuild, streams progress, and returns the seed JSON with mode codebuild and the charges warning', async () => {
      const context = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo built-in-codebuild > /where.txt\nCOPY hello.txt /hello.txt\n`,
        'hello.txt': 'hello\n',
      });
      const progress: Progress[] = [];
      const { result, data } = await build({ context, image_name: imageName('ok') }, progress);
      expect(result.isError, JSON.stringify(data?.record?.error ?? result.content)).toBeFalsy();
      expect(data).toMatchObject({ success: true, status: 'succeeded', mode: 'codebuild', attempts: 1 });
      expect(data.record.warnings?.join(' ')).toContain(FALLBACK_MESSAGE);
      expect(data.record.warnings).toContain(CODEBUILD_CHARGES_WARNING);
      const attempt = data.record.attempts[0]!;
      expect(attempt.codebuild_build_id).toMatch(new RegExp(`^${PROJECT}:[0-9a-f-]{36}$`));
      expect(attempt.console_url).toContain('console.aws.amazon.com/codesuite/codebuild');
      expect(aws.state.builds.get(attempt.codebuild_build_id!)?.buildStatus).toBe('SUCCEEDED');
      expect(progress.length).toBeGreaterThan(0);
      // get_build_status answers for the CodeBuild id too.
      const byCodebuildId = await server.client.callTool({
        name: 'get_build_status',
        arguments: { build_id: attempt.codebuild_build_id },
      });
      expect(byCodebuildId.structuredContent).toMatchObject({ build_id: data.build_id, status: 'succeeded' });
      // The emulated CodeBuild ran docker build on this machine's engine: the image exists there.
      expect(imageExists(data.image_name, engine.env)).toBe(true);
      expect(engine.docker(['run', '--rm', data.image_name, 'cat', '/where.txt']).stdout.trim()).toBe(
        'built-in-codebuild',
      );
      // The same context again is not uploaded again.
      const puts = aws.count('s3', 'PutObject') + aws.count('s3', 'CreateMultipartUpload');
      const again = await build({ context, image_name: data.image_name.replace(/:latest$/, ''), smoke_test: false });
      expect(again.data.success).toBe(true);
      expect(aws.count('s3', 'PutObject') + aws.count('s3', 'CreateMultipartUpload')).toBe(puts);
    });

    it('diagnoses a pip conflict from the CodeBuild log and fixes it on the next attempt', async () => {
      const context = await makePipConflictContext(TEST_PIP_IMAGE);
      const { result, data } = await build({
        context,
        image_name: imageName('pip'),
        fix_before_build: false,
        smoke_test: false,
      });
      expect(result.isError, JSON.stringify(data.record.error)).toBeFalsy();
      expect(data).toMatchObject({ success: true, mode: 'codebuild', attempts: 2 });
      expect(data.record.attempts[0]).toMatchObject({ success: false });
      expect(data.record.attempts[0]!.codebuild_build_id).not.toBe(data.record.attempts[1]!.codebuild_build_id);
      expect(data.fixes_applied).toEqual([
        expect.objectContaining({
          what: 'torchvision==0.15.0 -> torchvision==0.22.1',
          source: 'diagnosis',
          attempt: 2,
        }),
      ]);
    });

    it('with wait false returns at once; get_build_status follows it to the end through throttling and a 5xx', async () => {
      aws.faults.add({ service: 'codebuild', operation: 'StartBuild', kind: 'throttle', times: 2 });
      aws.faults.add({ service: 'codebuild', operation: 'BatchGetBuilds', kind: '5xx', times: 1 });
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo detached > /detached.txt\n` });
      const startedAt = Date.now();
      const { data } = await build({ context, image_name: imageName('nowait'), wait: false, smoke_test: false });
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(data).toMatchObject({ mode: 'codebuild' });
      expect(data.status).toMatch(/queued|running/);
      let status = data;
      for (let poll = 0; poll < 10 && !['succeeded', 'failed', 'cancelled'].includes(status.status); poll++) {
        const answer = await server.client.callTool({
          name: 'get_build_status',
          arguments: { build_id: data.build_id, wait_seconds: 20 },
        });
        status = answer.structuredContent as unknown as BuildResult;
      }
      expect(status, JSON.stringify(status.record.error)).toMatchObject({ status: 'succeeded', success: true });
      expect(status.record.attempts[0]!.codebuild_build_id).toMatch(new RegExp(`^${PROJECT}:`));
      // Throttled twice, then started exactly one build.
      expect(aws.state.requests.filter((r) => r.operation === 'StartBuild' && r.fault === 'throttle')).toHaveLength(2);
    });

    it('refuses a missing project with the seed message and the setup command', async () => {
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` });
      const result = await server.client.callTool({
        name: 'build_image',
        arguments: { context, codebuild_project: 'no-such-project' },
      });
      expect(result.isError).toBe(true);
      const text = (result.content as { text: string }[])[0]!.text;
      expect(text).toContain('CodeBuild project not found: no-such-project');
      expect(text).toContain('docker-image-builder setup-codebuild --project-name no-such-project');
    });

    it('cancel_build stops the CodeBuild build (StopBuild) within seconds', async () => {
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 60\n` });
      const startsBefore = aws.count('codebuild', 'StartBuild');
      const { data } = await build({ context, image_name: imageName('cancel'), wait: false, no_cache: true });
      expect(data.status).toMatch(/queued|running/);
      // Wait until this build's CodeBuild build exists, then cancel.
      for (let poll = 0; poll < 100 && aws.count('codebuild', 'StartBuild') === startsBefore; poll++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const started = Date.now();
      const cancel = await server.client.callTool({ name: 'cancel_build', arguments: { build_id: data.build_id } });
      expect(cancel.structuredContent).toMatchObject({ cancelled: true, status: 'cancelled' });
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(aws.count('codebuild', 'StopBuild')).toBeGreaterThan(0);
    });

    it('a CodeBuild build goes on when its server shuts down: no StopBuild, and the next server sees it succeed', async () => {
      const env = {
        ...aws.env,
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        DIB_STATE_DIR: await tempDir('state'),
        HOME: await tempDir('home'),
      };
      const first = await startServer(env);
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 3 && echo kept > /kept\n` });
      const stopsBefore = aws.count('codebuild', 'StopBuild');
      const answer = await first.client.callTool({
        name: 'build_image',
        arguments: { context, image_name: imageName('outlives'), wait: false, smoke_test: false, no_cache: true },
      });
      const started = answer.structuredContent as unknown as BuildResult;
      // Closing stdin is how a client ends a stdio server: it shuts down cleanly, as on an editor reload.
      await first.close();
      const second = await startServer(env);
      let status = started;
      for (let poll = 0; poll < 10 && !['succeeded', 'failed', 'cancelled'].includes(status.status); poll++) {
        const next = await second.client.callTool({
          name: 'get_build_status',
          arguments: { build_id: started.build_id, wait_seconds: 20 },
        });
        status = next.structuredContent as unknown as BuildResult;
      }
      await second.close();
      expect(status, JSON.stringify(status.record.error)).toMatchObject({ status: 'succeeded', success: true });
      expect(aws.count('codebuild', 'StopBuild')).toBe(stopsBefore);
    });

    it('CLI build --no-wait prints the CodeBuild id at once; CLI status follows it to SUCCEEDED', async () => {
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo cli-detached > /cli.txt\n` });
      const env = {
        ...process.env,
        ...aws.env,
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        DIB_STATE_DIR: await tempDir('state'),
        HOME: await tempDir('home'),
      };
      const cli = (args: string[]) =>
        execa(process.execPath, [builtServer, ...args], { env, timeout: 60_000, reject: false });
      const started = await cli([
        'build',
        '--context',
        context,
        '--image-name',
        imageName('cli'),
        '--no-wait',
        '--no-smoke-test',
      ]);
      expect(started.exitCode, started.stderr).toBe(0);
      const launched = JSON.parse(started.stdout) as {
        build_id: string;
        mode: string;
        status: string;
        next_step: string;
      };
      expect(launched).toMatchObject({ mode: 'codebuild', status: 'running' });
      expect(launched.build_id).toMatch(new RegExp(`^${PROJECT}:[0-9a-f-]{36}$`));
      expect(started.stderr).toContain(CODEBUILD_CHARGES_WARNING);
      let status = '';
      for (let poll = 0; poll < 60 && !['SUCCEEDED', 'FAILED', 'FAULT', 'STOPPED'].includes(status); poll++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const answer = await cli(['status', launched.build_id]);
        expect(answer.stdout, answer.stderr).not.toBe('');
        status = (JSON.parse(answer.stdout) as { status: string }).status;
      }
      expect(status).toBe('SUCCEEDED');
    });

    // Provisioning runs no docker: once is enough.
    it.runIf(engine.name === 'host')(
      'setup-codebuild creates the role, bucket and project, then finds them on a second run',
      async () => {
        const env = { ...process.env, ...aws.env, HOME: await tempDir('home') };
        // Asynchronous: the emulator answers from this very process.
        const run = async () =>
          (
            await execa(
              process.execPath,
              [builtServer, 'setup-codebuild', '--project-name', 'fresh-project', '--region', 'us-west-2'],
              {
                env,
                timeout: 60_000,
              },
            )
          ).stdout;
        const first = await run();
        expect(first).toMatch(/created\s+.*fresh-project/);
        const second = await run();
        expect(second).not.toMatch(/created /);
        expect(second).toMatch(/found\s+.*fresh-project/);
        expect(path.basename(builtServer)).toBe('index.js');
      },
    );
  },
);
