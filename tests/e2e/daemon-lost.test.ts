// A daemon that dies mid-build is the daemon's fault, not the Dockerfile's: the build fails as `docker-daemon-lost`
// with "check the daemon, rebuild unchanged", and no fix is attempted. The daemon "dies" for the client through a
// socket relay that drops every connection, so the engine other tests share keeps running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';
import { startServer, type StartedServer } from '../support/mcp-client.js';
import { daemonSocket, startSocketRelay, type SocketRelay } from '../support/socket-relay.js';

interface Status {
  status: string;
  build_id: string;
  next_step: string;
  log_tail: string[];
  record: {
    phase: string;
    attempts: unknown[];
    error?: { kind: string; summary: string; next_step: string; dockerfile_line?: number };
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(engines())('$title', (engine) => {
  if (!ready(engine)) return;
  describe('a daemon lost mid-build', () => {
    let server: StartedServer;
    let relay: SocketRelay;
    beforeAll(async () => {
      const dir = await tempDir('daemon-lost');
      relay = await startSocketRelay(dir, daemonSocket(engine.env.DOCKER_HOST ?? process.env.DOCKER_HOST));
      server = await startServer({
        DIB_STATE_DIR: await tempDir('daemon-lost-state'),
        ...engine.env,
        DOCKER_HOST: relay.dockerHost,
      });
    });
    afterAll(async () => {
      await relay?.cut();
      await server?.close();
    });

    async function status(buildId: string, waitSeconds = 0): Promise<Status> {
      const answer = await server.client.callTool({
        name: 'get_build_status',
        arguments: { build_id: buildId, wait_seconds: waitSeconds },
      });
      return answer.structuredContent as unknown as Status;
    }

    it('fails as docker-daemon-lost with "check the daemon, rebuild unchanged", and tries no fix', async () => {
      const context = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo step-started && sleep 30 && echo step-done\n`,
      });
      const answer = await server.client.callTool({
        name: 'build_image',
        arguments: { context, image_name: `dib-daemon-lost-${engine.name}`, wait: false, no_cache: true },
      });
      const buildId = (answer.structuredContent as unknown as Status).build_id;
      let current = await status(buildId);
      for (let poll = 0; poll < 600 && !current.log_tail.some((line) => line.includes('step-started')); poll++) {
        expect(current.status).toMatch(/queued|running/);
        await sleep(100);
        current = await status(buildId);
      }
      expect(current.log_tail.join('\n')).toContain('step-started');
      await relay.cut();

      while (/queued|running/.test(current.status)) current = await status(buildId, 20);
      expect(current.status).toBe('failed');
      expect(current.record.error).toMatchObject({ kind: 'docker-daemon-lost' });
      expect(current.record.error?.summary).toContain('The Dockerfile is not at fault');
      expect(current.next_step).toMatch(/docker info/);
      expect(current.record.attempts).toHaveLength(1);
    }, 120_000);
  });
});
