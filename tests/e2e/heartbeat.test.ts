// Watchdogs count silence: while a call waits on a quiet build, progress keeps coming; and nothing comes for a
// request after its result (some clients drop the connection when it does).
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, removeImagesFrom, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';
import { startServer, type StartedServer } from '../support/mcp-client.js';

describe.each(engines())('heartbeats while a waited build is silent (stdio, $title)', (engine) => {
  if (!ready(engine)) return;
  let server: StartedServer;
  const image = `dib-heartbeat-${engine.name}-${process.pid}`;
  const errors: Error[] = [];
  beforeAll(async () => {
    server = await startServer({
      ...engine.env,
      DIB_STATE_DIR: await tempDir('heartbeat-state'),
      DIB_HEARTBEAT_SECONDS: '2',
      DIB_SOFT_DEADLINE_SECONDS: '120',
    });
    // The SDK client reports a progress notification for a request it no longer waits on as an error.
    server.client.onerror = (error) => errors.push(error);
  });
  afterAll(async () => {
    await server?.close();
    removeImagesFrom(engine.env, `${image}:latest`);
  });

  it('sends progress at least every heartbeat through a silent 10 s RUN, increasing, and none after the result', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 10\n` });
    const updates: { at: number; progress: Progress }[] = [];
    const startedAt = Date.now();
    const result = await server.client.callTool(
      { name: 'build_image', arguments: { context, image_name: image, no_cache: true, smoke_test: false } },
      undefined,
      { onprogress: (progress) => updates.push({ at: Date.now(), progress }), timeout: 120_000 },
    );
    const answeredAt = Date.now();
    expect((result.structuredContent as { status: string }).status).toBe('succeeded');
    const during = updates.filter((update) => update.at - startedAt > 3000);
    expect(during.length).toBeGreaterThanOrEqual(3);
    // No gap in the quiet middle of the build is much longer than the 2 s heartbeat.
    for (let index = 1; index < during.length; index++) {
      expect(during[index]!.at - during[index - 1]!.at).toBeLessThan(3500);
    }
    expect(updates.some((update) => /elapsed/.test(update.progress.message ?? ''))).toBe(true);
    expect(updates.some((update) => /RUN sleep 10/.test(update.progress.message ?? ''))).toBe(true);
    for (let index = 1; index < updates.length; index++) {
      expect(updates[index]!.progress.progress).toBeGreaterThan(updates[index - 1]!.progress.progress);
    }
    // Wait past two heartbeats: nothing more may arrive for the answered request.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(updates.filter((update) => update.at > answeredAt)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
