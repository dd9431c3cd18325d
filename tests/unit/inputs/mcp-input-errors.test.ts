import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { ServerDeps } from '../../../src/deps.js';
import { createServer } from '../../../src/server.js';
import type { CommandRunner } from '../../../src/util/command-runner.js';

/** Text of a tool result. */
function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result.content as { type: string; text: string }[]).map((part) => part.text).join('\n');
}

describe('tool inputs through the real SDK client', () => {
  const touched: string[] = [];
  let client: Client;

  beforeAll(async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'dib-inputs-'));
    // Anything that would build, probe or run a command records itself, so a test can prove nothing started.
    const runner = new Proxy({} as CommandRunner, {
      get: (_target, name) => () => {
        touched.push(`runner.${String(name)}`);
        throw new Error('no commands in this test');
      },
    });
    const deps: ServerDeps = {
      config: loadConfig({ DIB_STATE_DIR: stateDir }),
      env: { DIB_STATE_DIR: stateDir },
      runner,
      builds: async () => {
        touched.push('builds');
        throw new Error('no builds in this test');
      },
    };
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createServer(deps).connect(serverSide);
    client = new Client({ name: 'inputs-test', version: '1.0.0' });
    await client.connect(clientSide);
  });
  afterAll(() => client?.close());

  it('refuses build_image with squash: true, naming squash and the accepted fields, before anything is built', async () => {
    const result = await client.callTool({ name: 'build_image', arguments: { context: '.', squash: true } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('unknown field "squash": build_image accepts context, dockerfile, image_name');
    expect(text(result)).toContain('tail_lines');
    expect(touched).toEqual([]);
  });

  it('refuses get_build_status with an extra field, naming it', async () => {
    const result = await client.callTool({
      name: 'get_build_status',
      arguments: { build_id: 'local-20261129T101500-a1b2c3', follow: true },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(
      'unknown field "follow": get_build_status accepts build_id, tail_lines, wait_seconds',
    );
    expect(touched).toEqual([]);
  });

  it('refuses an invalid value naming the field, the limit and what to give', async () => {
    const result = await client.callTool({ name: 'build_image', arguments: { timeout: 1 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('timeout 1 is below the minimum 30');
    expect(text(result)).toContain('Give timeout a whole number from 30 to 28800 (default 3600).');
    expect(touched).toEqual([]);
  });

  it('names a wrongly typed field and a malformed build id', async () => {
    const typed = await client.callTool({ name: 'smoke_test', arguments: { image: 'x', gpu: 'yes' } });
    expect(typed.isError).toBe(true);
    expect(text(typed)).toContain('gpu must be one of auto, on, off, not "yes"');
    const id = await client.callTool({ name: 'cancel_build', arguments: { build_id: '../etc' } });
    expect(id.isError).toBe(true);
    expect(text(id)).toContain('build_id "../etc" is not in the expected form. build_id: a build id looks like');
    expect(touched).toEqual([]);
  });
});
