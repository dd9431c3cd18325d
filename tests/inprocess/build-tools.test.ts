/**
 * build_image, get_build_status, list_builds and cancel_build through the real server and SDK client, with an
 * in-memory build registry: what an agent checks in each reply.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectValid, outputValidators, textOf } from '../support/contract.js';
import { FAILED_NEXT_STEP } from '../support/fake-builds.js';
import { startInProcessServer, type InProcessServer } from '../support/inprocess-server.js';

interface BuildResult {
  success: boolean;
  status: string;
  phase: string;
  build_id: string;
  attempts: number;
  next_step: string;
  log_tail: string[];
  fixes_applied: unknown[];
  active?: boolean;
}

let server: InProcessServer;
let validators: Map<string, ValidateFunction>;
const call = async (name: string, args: Record<string, unknown>) =>
  (await server.client.callTool({ name, arguments: args })) as CallToolResult;

beforeAll(async () => {
  server = await startInProcessServer();
  validators = await outputValidators(server.client);
});
afterAll(() => server?.close());
beforeEach(() => {
  server.builds.script = {};
});

describe('build_image', () => {
  it('with wait false returns the build id at once, still running, and passes the options on', async () => {
    server.builds.script = { hold: true };
    const result = await call('build_image', {
      context: '/work/ctx',
      image_name: 'demo',
      wait: false,
      max_attempts: 2,
    });
    expect(result.isError).toBeFalsy();
    const build = expectValid<BuildResult>(validators, 'build_image', result);
    expect(build.status).toMatch(/queued|running/);
    expect(build.next_step).toContain('get_build_status');
    expect(textOf(result)).toContain(build.build_id);
    expect(server.builds.started.at(-1)).toMatchObject({
      context: '/work/ctx',
      imageName: 'demo',
      imageTag: 'latest',
      maxAttempts: 2,
      autoFix: true,
      smokeTest: true,
      forceLocal: false,
    });
    await server.builds.cancel(build.build_id);
  });

  it('with wait true returns the finished build, and progress only ever increases across attempts', async () => {
    server.builds.script = { attempts: 2, steps: 3 };
    const progress: number[] = [];
    const result = (await server.client.callTool(
      { name: 'build_image', arguments: { context: '/work/ctx', image_name: 'demo' } },
      undefined,
      { onprogress: (notification) => progress.push(notification.progress) },
    )) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const build = expectValid<BuildResult>(validators, 'build_image', result);
    expect(build).toMatchObject({ success: true, status: 'succeeded', phase: 'finished', attempts: 2 });
    expect(build.fixes_applied).toHaveLength(1);
    expect(build.log_tail.length).toBeGreaterThan(0);
    expect(textOf(result)).toMatch(/succeeded.*1 fix\(es\) applied/);
    expect(progress.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!, `${progress}`).toBeGreaterThan(progress[i - 1]!);
  });

  it('sends no progress when the client gave no progress token', async () => {
    const seen: string[] = [];
    server.client.fallbackNotificationHandler = async (notification) => void seen.push(notification.method);
    try {
      const result = await call('build_image', { context: '/work/ctx', image_name: 'quiet' });
      expect(result.isError).toBeFalsy();
      expect(seen).not.toContain('notifications/progress');
    } finally {
      server.client.fallbackNotificationHandler = undefined;
    }
  });

  it('marks a failed build isError, with the diagnosis and the next step in the text', async () => {
    server.builds.script = { final: 'failed' };
    const result = await call('build_image', { context: '/work/ctx', image_name: 'broken' });
    expect(result.isError).toBe(true);
    const build = expectValid<BuildResult>(validators, 'build_image', result);
    expect(build).toMatchObject({ success: false, status: 'failed', next_step: FAILED_NEXT_STEP });
    expect(textOf(result)).toContain('pip cannot install torchvision');
    expect(textOf(result)).toContain(`Next: ${FAILED_NEXT_STEP}`);
  });

  it('passes a refusal on as isError with the next steps', async () => {
    server.builds.script = {
      refuse: { mode: 'none', message: 'Neither Docker nor AWS CodeBuild is available.', nextSteps: ['Start Docker.'] },
    };
    const result = await call('build_image', { context: '/work/ctx' });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(textOf(result)).toMatch(/Cannot build \(none\): Neither Docker.*Next: Start Docker\./);
  });

  it('refuses force_local with force_codebuild, naming the fields, without starting anything', async () => {
    const before = server.builds.started.length;
    const result = await call('build_image', { context: '/work/ctx', force_local: true, force_codebuild: true });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/force_local and force_codebuild are mutually exclusive.*Set at most one/);
    expect(server.builds.started.length).toBe(before);
  });

  it('refuses input that breaks the schema', async () => {
    const result = await call('build_image', { context: '/work/ctx', max_attempts: 0 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/max_attempts/);
  });
});

describe('get_build_status, list_builds and cancel_build', () => {
  it('follows a running build, lists it, cancels it once, and reports it cancelled', async () => {
    server.builds.script = { hold: true };
    const started = expectValid<BuildResult>(
      validators,
      'build_image',
      await call('build_image', { context: '/work/ctx', image_name: 'held', wait: false }),
    );

    const status = await call('get_build_status', { build_id: started.build_id, wait_seconds: 5 });
    expect(status.isError).toBeFalsy();
    const running = expectValid<BuildResult>(validators, 'get_build_status', status);
    expect(running).toMatchObject({ build_id: started.build_id, status: 'running', active: true });

    const listed = await call('list_builds', { limit: 50 });
    const { builds } = expectValid<{ builds: { build_id: string; status: string }[] }>(
      validators,
      'list_builds',
      listed,
    );
    expect(builds[0]).toMatchObject({ build_id: started.build_id, status: 'running' });
    expect(textOf(listed)).toContain(started.build_id);

    const cancelled = await call('cancel_build', { build_id: started.build_id });
    expect(cancelled.isError).toBeFalsy();
    expect(expectValid(validators, 'cancel_build', cancelled)).toEqual({
      build_id: started.build_id,
      cancelled: true,
      status: 'cancelled',
    });

    const again = await call('cancel_build', { build_id: started.build_id });
    expect(expectValid(validators, 'cancel_build', again)).toMatchObject({ cancelled: false, status: 'cancelled' });
    expect(textOf(again)).toMatch(/not running.*nothing to cancel/);

    const after = expectValid<BuildResult>(
      validators,
      'get_build_status',
      await call('get_build_status', { build_id: started.build_id }),
    );
    expect(after).toMatchObject({ status: 'cancelled', active: false });
  });

  it('answers an unknown build id with isError and points at list_builds', async () => {
    for (const name of ['get_build_status', 'cancel_build']) {
      const result = await call(name, { build_id: 'local-20260101T000000-nope00' });
      expect(result.isError, name).toBe(true);
      expect(textOf(result), name).toMatch(/no build "local-20260101T000000-nope00".*Use list_builds/);
    }
  });

  it('list_builds says so when there are none', async () => {
    const empty = await startInProcessServer();
    try {
      const result = (await empty.client.callTool({ name: 'list_builds', arguments: {} })) as CallToolResult;
      expect(expectValid(validators, 'list_builds', result)).toEqual({ builds: [], damaged: [] });
      expect(textOf(result).split('\n')[0]).toBe('No builds yet.');
    } finally {
      await empty.close();
    }
  });
});
