import { spawn } from 'node:child_process';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtServer, startServer, type StartedServer } from '../support/mcp-client.js';

/** Arguments that make each tool answer quickly and without side effects, for the contract check. */
const SAMPLE_CALLS: Record<string, Record<string, unknown>> = {
  detect_environment: {},
};

describe('tools/list and the output contract', () => {
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
    expect(tools.find((tool) => tool.name === 'detect_environment')?.annotations?.readOnlyHint).toBe(true);
  });

  it("returns structuredContent that validates against each tool's declared outputSchema", async () => {
    const { tools } = await server.client.listTools();
    const ajv = new Ajv({ strict: false });
    for (const tool of tools) {
      const args = SAMPLE_CALLS[tool.name];
      expect(args, `add a sample call for ${tool.name}`).toBeDefined();
      const result = await server.client.callTool({ name: tool.name, arguments: args });
      expect(result.isError, tool.name).toBeFalsy();
      const validate = ajv.compile(tool.outputSchema!);
      expect(validate(result.structuredContent), JSON.stringify(validate.errors)).toBe(true);
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
