import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Builds } from '../../src/builds/builds.js';
import type { Config } from '../../src/config.js';
import type { ServerDeps } from '../../src/deps.js';
import { createServer } from '../../src/server.js';
import { FakeBuilds } from './fake-builds.js';
import { RecordingRunner } from './fake-runner.js';

export interface InProcessServer {
  client: Client;
  builds: FakeBuilds;
  runner: RecordingRunner;
  /** An isolated home: no AWS config, no credentials, no docker but what a test puts on PATH. */
  dir: string;
  close(): Promise<void>;
}

/**
 * The real server (createServer) and the real SDK Client, joined by an in-memory transport pair, with fake deps:
 * a recording command runner and an in-memory build registry. No child process, no dist/, no Docker.
 */
export async function startInProcessServer(
  options: { env?: NodeJS.ProcessEnv; runner?: RecordingRunner; config?: Partial<Config> } = {},
): Promise<InProcessServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-inprocess-'));
  const builds = new FakeBuilds();
  const runner = options.runner ?? new RecordingRunner();
  const deps: ServerDeps = {
    config: {
      dockerCommand: 'docker',
      stateDir: path.join(dir, 'state'),
      dockerTimeoutMs: 2_000,
      awsTimeoutMs: 2_000,
      softDeadlineSeconds: 20,
      heartbeatSeconds: 15,
      ...options.config,
    },
    env: {
      PATH: path.join(dir, 'bin'),
      HOME: dir,
      AWS_CONFIG_FILE: path.join(dir, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      ...options.env,
    },
    runner,
    // The tools use only the BuildsApi part of the registry.
    builds: async () => builds as unknown as Builds,
  };
  const server = createServer(deps);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'dib-inprocess', version: '1.0.0' });
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    client,
    builds,
    runner,
    dir,
    async close() {
      await builds.stopAll();
      await client.close();
      await server.close();
    },
  };
}
