/**
 * What two kinds of MCP client can act on. Kiro's agent sees only a result's text content, Claude Code's only its
 * structuredContent: each reader below looks at its half alone and must still find the build id, the next step and
 * how to fix an analysis finding.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILED_NEXT_STEP } from '../support/fake-builds.js';
import { startInProcessServer, type InProcessServer } from '../support/inprocess-server.js';

interface Reading {
  summary: string;
  data: Record<string, unknown>;
}

/** A client that shows the agent only content[0].text: the summary line, a blank line, then JSON. */
function textOnlyReader(result: CallToolResult): Reading {
  const part = result.content[0];
  if (part?.type !== 'text') throw new Error('no text content');
  const split = part.text.indexOf('\n\n');
  expect(split, part.text).toBeGreaterThan(0);
  return {
    summary: part.text.slice(0, split),
    data: JSON.parse(part.text.slice(split + 2)) as Record<string, unknown>,
  };
}

/** A client that shows the agent only structuredContent. */
function structuredOnlyReader(result: CallToolResult): Reading {
  if (result.structuredContent === undefined) throw new Error('no structuredContent');
  return { summary: '', data: result.structuredContent };
}

interface Finding {
  severity: string;
  message: string;
  fix?: { description: string; edits?: { new_text: string }[] };
}

let server: InProcessServer;
let context: string;
const call = async (name: string, args: Record<string, unknown>) =>
  (await server.client.callTool({ name, arguments: args })) as CallToolResult;

beforeAll(async () => {
  server = await startInProcessServer();
  context = await mkdtemp(path.join(os.tmpdir(), 'dib-inprocess-readers-'));
  await writeFile(
    path.join(context, 'Dockerfile'),
    'FROM python:3.11-slim\nRUN pip install torch==2.7.1 torchvision==0.15.0\n',
  );
});
afterAll(() => server?.close());

describe.each([
  ['text-only reader', textOnlyReader],
  ['structured-only reader', structuredOnlyReader],
])('a %s', (kind, read) => {
  it('finds the build id and the next step of a running build', async () => {
    server.builds.script = { hold: true };
    const result = await call('build_image', { context, image_name: 'demo', wait: false });
    const { data } = read(result);
    expect(data.build_id).toMatch(/\S/);
    expect(data.next_step).toContain('get_build_status');
    expect(data.next_step).toContain(data.build_id);
    if (kind === 'text-only reader') expect(read(result).summary).not.toContain('\n');
    await server.builds.cancel(String(data.build_id));
  });

  it('finds the build id and the next step of a failed build, marked as an error', async () => {
    server.builds.script = { final: 'failed' };
    const result = await call('build_image', { context, image_name: 'demo' });
    expect(result.isError).toBe(true);
    const { data } = read(result);
    expect(data.build_id).toMatch(/\S/);
    expect(data.next_step).toBe(FAILED_NEXT_STEP);
    const status = read(await call('get_build_status', { build_id: data.build_id }));
    expect(status.data).toMatchObject({ build_id: data.build_id, status: 'failed' });
    // Either reader finds the full log as a resource it can read, and the result links to it.
    expect(data.log_uri).toBe(`build://${String(data.build_id)}/log`);
    expect(result.content).toContainEqual(expect.objectContaining({ type: 'resource_link', uri: data.log_uri }));
  });

  it("finds an analysis finding and its fix's edit", async () => {
    const { data } = read(await call('analyze_dockerfile', { context }));
    const findings = data.findings as Finding[];
    const error = findings.find((finding) => finding.severity === 'error');
    expect(error?.message).toMatch(/torchvision/);
    expect(error?.fix?.description).toMatch(/\S/);
    expect(error?.fix?.edits?.[0]?.new_text).toMatch(/^0\.\d+\.\d+$/);
  });
});

it('both readers see the same result, and the text starts with the summary line', async () => {
  const result = await call('analyze_dockerfile', { context });
  expect(textOnlyReader(result).data).toEqual(structuredOnlyReader(result).data);
  expect(textOnlyReader(result).summary).toMatch(/\d+ error\(s\)/);
});
