import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../support/mcp-client.js';

describe('server startup', () => {
  it('answers initialize and tools/list without loading the AWS SDK, execa or the Dockerfile parser', async () => {
    const trace = path.join(await mkdtemp(path.join(os.tmpdir(), 'dib-trace-')), 'modules.txt');
    const hooks = path.resolve(import.meta.dirname, '../support/module-trace.mjs');
    const server = await startServer({ NODE_OPTIONS: `--import=${hooks}`, DIB_MODULE_TRACE: trace });
    try {
      const { tools } = await server.client.listTools();
      expect(tools.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
    const loaded = (await readFile(trace, 'utf8')).split('\n');
    expect(loaded.some((url) => url.includes('/dist/server.js'))).toBe(true); // the trace works
    expect(loaded.filter((url) => url.includes('@aws-sdk/'))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/execa/'))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/dockerfile-ast/'))).toEqual([]);
    expect(
      loaded.filter((url) => /\/dist\/(build\/builds|dockerfile\/analyze|smoke\/smoke-tester)\.js/.test(url)),
    ).toEqual([]);
  });
});
