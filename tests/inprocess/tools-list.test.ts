import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessServer, type InProcessServer } from '../support/inprocess-server.js';

describe('tools/list in process', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcessServer();
  });
  afterAll(() => server?.close());

  it('lists the eight tools in workflow order', async () => {
    const { tools } = await server.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'detect_environment',
      'analyze_dockerfile',
      'build_image',
      'get_build_status',
      'list_builds',
      'cancel_build',
      'smoke_test',
      'diagnose_build_log',
    ]);
  });

  it('gives every tool an object outputSchema and a description on every input field', async () => {
    const { tools } = await server.client.listTools();
    for (const tool of tools) {
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(Object.keys(tool.outputSchema?.properties ?? {}).length, tool.name).toBeGreaterThan(0);
      expect(tool.description?.length, tool.name).toBeGreaterThan(40);
      for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect((schema as { description?: string }).description, `${tool.name}.${field}`).toBeTruthy();
      }
    }
  });

  it('says where a build id comes from', async () => {
    const { tools } = await server.client.listTools();
    for (const name of ['get_build_status', 'cancel_build']) {
      const tool = tools.find((candidate) => candidate.name === name)!;
      const buildId = tool.inputSchema.properties?.build_id as { description?: string };
      expect(buildId.description, name).toMatch(/build_image/);
    }
  });
});
