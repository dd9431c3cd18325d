import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODEBUILD_CHARGES_WARNING, NEITHER_AVAILABLE_MESSAGE } from '../../src/environment/recommend.js';
import { dockerAvailable, skipWithoutDocker } from '../support/docker.js';
import { builtServer, startServer, type StartedServer } from '../support/mcp-client.js';

interface DetectResult {
  docker: { daemon: { state: string; hint?: string; server_version?: string }; builder: { selected: string } };
  aws: {
    credentials: { found: boolean; source?: string };
    identity: { checked: boolean; error?: string };
    codebuild_project: { checked: boolean; error?: string };
  };
  recommendation: { mode: string; ready: boolean; reason: string; warnings: string[]; next_steps: string[] };
}

/** An environment with no AWS credentials and no shared config, so only what a test adds is seen. */
async function withoutAws(): Promise<Record<string, string | undefined>> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'dib-home-'));
  return {
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    // Keep the AWS CLI out of these runs: only credentials should decide.
    PATH: process.env.PATH,
  };
}

/** A socket that accepts connections and never answers: a hung daemon or endpoint. */
async function hungServer(listenOn: string | number): Promise<{ address: string; close: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(listenOn as never, resolve));
  const address = server.address();
  return {
    address: typeof address === 'string' ? address : `127.0.0.1:${address?.port}`,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      server.close();
    },
  };
}

async function detect(server: StartedServer, args: Record<string, unknown> = {}) {
  const started = performance.now();
  const result = await server.client.callTool({ name: 'detect_environment', arguments: args });
  return { result, data: result.structuredContent as unknown as DetectResult, ms: performance.now() - started };
}

describe.skipIf(skipWithoutDocker)('detect_environment over stdio against the real Docker daemon', () => {
  let server: StartedServer;
  beforeAll(async () => {
    expect(dockerAvailable, 'a Docker daemon must answer (run scripts/provision-docker.sh)').toBe(true);
    server = await startServer(await withoutAws());
  });
  afterAll(() => server?.close());

  it('recommends local Docker and reports the engine', async () => {
    const { result, data } = await detect(server);
    expect(result.isError).toBeFalsy();
    const engine = execFileSync('docker', ['version', '--format', '{{.Server.Version}}']).toString().trim();
    expect(data.docker.daemon).toMatchObject({ state: 'reachable', server_version: engine });
    expect(data.recommendation).toMatchObject({ mode: 'local', ready: true });
    expect((result.content as { text: string }[])[0]!.text).toMatch(/^Recommendation: local/);
  });

  it('refuses force_local together with force_codebuild and says which fields', async () => {
    const result = await server.client.callTool({
      name: 'detect_environment',
      arguments: { force_local: true, force_codebuild: true },
    });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toMatch(/force_local.*force_codebuild.*mutually exclusive/);
  });

  it('rejects a wrong input type with the field name', async () => {
    const result = await server.client.callTool({ name: 'detect_environment', arguments: { use_sudo: 'yes' } });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toMatch(/use_sudo/);
  });

  it('reports permission denied on the socket as its own state with the use_sudo hint (server run as an unprivileged user)', async () => {
    if (process.getuid?.() !== 0) return; // only root can switch users to provoke a real permission error
    const unprivileged = await startServer(await withoutAws(), {
      command: 'runuser',
      args: ['-u', 'nobody', '--', process.execPath, builtServer],
    });
    try {
      const { data } = await detect(unprivileged);
      expect(data.docker.daemon.state).toBe('permission-denied');
      expect(data.docker.daemon.hint).toMatch(/use_sudo/);
      expect(data.recommendation.mode).toBe('none');
      expect(data.recommendation.next_steps.join(' ')).toMatch(/use_sudo/);
    } finally {
      await unprivileged.close();
    }
  });
});

describe('detect_environment over stdio without a usable Docker daemon', () => {
  it('flips to none with the seed message when DOCKER_HOST points at a socket that does not exist', async () => {
    const server = await startServer({ ...(await withoutAws()), DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    try {
      const { data } = await detect(server);
      expect(data.docker.daemon.state).toBe('unreachable');
      expect(data.recommendation.mode).toBe('none');
      expect(data.recommendation.reason).toContain(NEITHER_AVAILABLE_MESSAGE);
      expect(data.recommendation.next_steps.join(' ')).toMatch(/aws configure/);
    } finally {
      await server.close();
    }
  });

  it('answers within 5 s when the daemon hangs, and when AWS endpoints hang too; credentials flip it to codebuild', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-hung-'));
    const daemon = await hungServer(path.join(dir, 'docker.sock'));
    const aws = await hungServer(0);
    const server = await startServer({
      ...(await withoutAws()),
      DOCKER_HOST: `unix://${daemon.address}`,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
      AWS_ENDPOINT_URL: `http://${aws.address}`,
    });
    try {
      const { data, ms } = await detect(server);
      expect(ms).toBeLessThan(5_000);
      expect(data.docker.daemon.state).toBe('unresponsive');
      expect(data.aws.credentials).toMatchObject({ found: true, source: 'environment' });
      expect(data.aws.identity.error).toBeDefined();
      expect(data.aws.codebuild_project.error).toBeDefined();
      expect(data.recommendation.mode).toBe('codebuild');
      // A hung daemon is said to be hung, not "unavailable": the user restarts it instead of installing Docker.
      expect(data.recommendation.reason).toContain('Docker is not responding');
      expect(data.recommendation.warnings).toContain(CODEBUILD_CHARGES_WARNING);
      expect(JSON.stringify(data)).not.toContain('not-a-real-secret');
    } finally {
      await server.close();
      daemon.close();
      aws.close();
    }
  });
});
