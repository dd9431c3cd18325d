// Two builds of one tag must never judge each other's image: the smoke test runs the image id the build produced,
// so moving the tag while the smoke test runs (as a second build of the same tag would) changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';
import { startServer, type StartedServer } from '../support/mcp-client.js';

interface Status {
  status: string;
  build_id: string;
  record: { phase: string; image_id?: string; smoke?: { passed: boolean; image: string } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(engines())('$title', (engine) => {
  if (!ready(engine)) return;
  describe('verdicts by image id', () => {
    let server: StartedServer;
    const image = `dib-verdict-${engine.name}-${process.pid}`;
    beforeAll(async () => {
      server = await startServer({ DIB_STATE_DIR: await tempDir('verdict-state'), ...engine.env });
    });
    afterAll(async () => {
      await server?.close();
      engine.docker(['image', 'rm', '-f', `${image}:latest`]);
    });

    async function status(buildId: string, waitSeconds = 0): Promise<Status> {
      const answer = await server.client.callTool({
        name: 'get_build_status',
        arguments: { build_id: buildId, wait_seconds: waitSeconds },
      });
      return answer.structuredContent as unknown as Status;
    }

    it('the smoke test judges the image the build made, even when its tag is moved mid-test', async () => {
      const marker = `/built-by-${process.pid}`;
      const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo built > ${marker}\n` });
      const answer = await server.client.callTool({
        name: 'build_image',
        arguments: { context, image_name: image, wait: false, smoke_commands: ['sleep 6', `test -f ${marker}`] },
      });
      const buildId = (answer.structuredContent as unknown as Status).build_id;
      let current = await status(buildId);
      for (
        let poll = 0;
        poll < 600 && current.record.phase !== 'smoke-testing' && /queued|running/.test(current.status);
        poll++
      ) {
        await sleep(100);
        current = await status(buildId);
      }
      expect(current.record.phase).toBe('smoke-testing');
      // Another build of the same tag lands now: the tag points at an image without the marker.
      expect(engine.docker(['tag', TEST_BASE_IMAGE, `${image}:latest`]).status).toBe(0);

      while (/queued|running/.test(current.status)) current = await status(buildId, 20);
      expect(current.status).toBe('succeeded');
      expect(current.record.smoke?.passed).toBe(true);
      const builtId = current.record.image_id ?? '';
      expect(builtId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(current.record.smoke?.image).toBe(builtId);
      const tagNow = engine.docker(['image', 'inspect', '-f', '{{.Id}}', `${image}:latest`]).stdout.trim();
      expect(tagNow).not.toBe(builtId);
    });
  });
});
