import { spawn } from 'node:child_process';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, removeImagesFrom, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';
import { builtServer, repoRoot, startServer, type StartedServer } from '../support/mcp-client.js';

/**
 * One quick call per tool, in an order where build_image runs before the tools that need its build id.
 * A tiny build on the local base image keeps the whole round to a few seconds.
 */
async function sampleCalls(): Promise<{ name: string; args: (buildId: string) => Record<string, unknown> }[]> {
  const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo contract > /contract.txt\n` });
  return [
    { name: 'detect_environment', args: () => ({}) },
    { name: 'analyze_dockerfile', args: () => ({ context: path.join(repoRoot, 'examples', 'fsdp'), fix: true }) },
    { name: 'build_image', args: () => ({ context, image_name: 'dib-contract', smoke_test: false }) },
    { name: 'get_build_status', args: (buildId) => ({ build_id: buildId, tail_lines: 5 }) },
    { name: 'list_builds', args: () => ({ limit: 3 }) },
    { name: 'cancel_build', args: (buildId) => ({ build_id: buildId }) },
    { name: 'smoke_test', args: () => ({ image: TEST_BASE_IMAGE, pytorch: 'off', commands: ['true'] }) },
    {
      name: 'diagnose_build_log',
      args: () => ({ log: 'The user requested torch==1.13.0\ntorchvision 0.15.2 depends on torch==2.0.1\n' }),
    },
  ];
}

describe('tools/list', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
  });
  afterAll(() => server?.close());

  it('matches the reviewed snapshot, so schema changes are deliberate', async () => {
    const { tools } = await server.client.listTools();
    await expect(JSON.stringify(tools, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/tools-list.json');
  });

  it('gives every tool a title, a description, described input fields, an output schema and annotations', async () => {
    const { tools } = await server.client.listTools();
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description?.length, tool.name).toBeGreaterThan(40);
      expect(tool.outputSchema, tool.name).toBeDefined();
      expect(tool.annotations, tool.name).toBeDefined();
      for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect((schema as { description?: string }).description, `${tool.name}.${field}`).toBeTruthy();
      }
    }
    const readOnly = tools.filter((tool) => tool.annotations?.readOnlyHint).map((tool) => tool.name);
    expect(readOnly.sort()).toEqual(['detect_environment', 'diagnose_build_log', 'get_build_status', 'list_builds']);
  });
});

// On each engine: what detection and a build report differs (buildx, builders, platforms), the schema does not.
describe.each(engines())('the output contract on the $title', (engine) => {
  if (!ready(engine)) return;
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({ ...engine.env, DIB_STATE_DIR: await tempDir('state'), AWS_ACCESS_KEY_ID: undefined });
  });
  afterAll(async () => {
    await server?.close();
    removeImagesFrom(engine.env, 'dib-contract:latest');
  });

  it("returns structuredContent that validates against each tool's declared outputSchema", async () => {
    const { tools } = await server.client.listTools();
    const calls = await sampleCalls();
    expect(calls.map((call) => call.name).sort()).toEqual(tools.map((tool) => tool.name).sort());
    const ajv = new Ajv({ strict: false });
    let buildId = '';
    for (const call of calls) {
      const tool = tools.find((candidate) => candidate.name === call.name)!;
      const result = await server.client.callTool({ name: call.name, arguments: call.args(buildId) });
      expect(result.isError, `${call.name}: ${JSON.stringify(result.content)}`).toBeFalsy();
      const validate = ajv.compile(tool.outputSchema!);
      expect(validate(result.structuredContent), `${call.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      if (call.name === 'build_image') buildId = (result.structuredContent as { build_id: string }).build_id;
    }
  });
});

describe('stdout carries only the protocol', () => {
  it('writes nothing but JSON-RPC messages to stdout', async () => {
    const child = spawn(process.execPath, [builtServer], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no tools/list answer; stdout so far: ${stdout}`)), 10_000);
      child.stdout.on('data', () => {
        if (stdout.includes('"id":2')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines.length).toBe(2);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    const init = JSON.parse(lines[0]!) as {
      result: { capabilities: Record<string, unknown>; serverInfo: { name: string } };
    };
    expect(init.result.capabilities.logging).toBeDefined();
    expect(init.result.serverInfo.name).toBe('docker-image-builder');
  });
});
