// Build logs as MCP resources, through the real server and the SDK client: an agent that cannot open the log's path
// (remote, sandboxed) lists the recent builds, reads a log's end, and pages back to its start.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/build-model/record-schema.js';
import { LOG_PAGE_BYTES } from '../../src/resources/build-logs.js';
import { startInProcessServer, type InProcessServer } from '../support/inprocess-server.js';

const BUILD_ID = 'local-20261202T100000-abc123';

function record(logs: string[]): BuildRecord {
  return {
    build_id: BUILD_ID,
    mode: 'local',
    status: 'failed',
    phase: 'finished',
    image_name: 'fsdp:latest',
    context: '/ctx',
    dockerfile: 'Dockerfile',
    attempt: logs.length,
    max_attempts: 3,
    attempts: logs.map((file, index) => ({ number: index + 1, started_at: '2026-12-02T10:00:00Z', log_file: file })),
    fixes_applied: [],
    progress: { steps_done: 1, message: 'failed' },
    created_at: '2026-12-02T10:00:00.000Z',
    log_file: logs.at(-1)!,
    owner_pid: process.pid,
  };
}

describe('build logs as MCP resources', () => {
  let server: InProcessServer;
  let dir: string;
  beforeEach(async () => {
    server = await startInProcessServer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'dib-log-resources-'));
  });
  afterEach(async () => server.close());

  async function read(uri: string) {
    const result = await server.client.readResource({ uri });
    const [contents] = result.contents as { uri: string; text: string; _meta?: Record<string, unknown> }[];
    return contents!;
  }

  it('lists recent builds and serves a small log whole', async () => {
    const first = path.join(dir, 'attempt-1.log');
    const second = path.join(dir, 'attempt-2.log');
    await writeFile(first, 'Step 1/2 : FROM python\nERROR: ResolutionImpossible\n');
    await writeFile(second, 'Step 1/2 : FROM python\nSuccessfully built\n');
    server.builds.seed(record([first, second]));

    const capabilities = server.client.getServerCapabilities();
    expect(capabilities?.resources).toBeDefined();
    const listed = await server.client.listResources();
    expect(listed.resources.map((resource) => resource.uri)).toContain(`build://${BUILD_ID}/log`);

    expect((await read(`build://${BUILD_ID}/log`)).text).toBe('Step 1/2 : FROM python\nSuccessfully built\n');
    expect((await read(`build://${BUILD_ID}/attempt/1/log`)).text).toContain('ResolutionImpossible');
  });

  it('serves a large log in bounded pages that link to each other, ending at whole lines', async () => {
    const lines = Array.from({ length: 20_000 }, (_, index) => `line ${index} ${'x'.repeat(20)}`);
    const file = path.join(dir, 'attempt-1.log');
    await writeFile(file, `${lines.join('\n')}\n`);
    server.builds.seed(record([file]));

    const last = await read(`build://${BUILD_ID}/log`);
    expect(last.text.length).toBeLessThanOrEqual(LOG_PAGE_BYTES + 300);
    expect(last.text.trimEnd().endsWith(lines.at(-1)!)).toBe(true);
    const note = last.text.split('\n')[0]!;
    expect(note).toMatch(/^\[docker-image-builder\] bytes \d+-\d+ of \d+/);

    expect(last._meta?.previous).toBeDefined();

    // From the first byte, the "Later" links walk the whole log: the pages joined are the file, byte for byte.
    const body = (text: string) => text.slice(text.indexOf('\n') + 1);
    let uri: string | undefined = `build://${BUILD_ID}/attempt/1/log/0`;
    let joined = '';
    let pages = 0;
    while (uri !== undefined && pages < 100) {
      const page = await read(uri);
      expect(page.text.length).toBeLessThanOrEqual(LOG_PAGE_BYTES + 300);
      const text = body(page.text);
      expect(text.endsWith('\n')).toBe(true);
      joined += text;
      uri = page._meta?.next as string | undefined;
      pages++;
    }
    expect(pages).toBeGreaterThan(3);
    expect(joined).toBe(`${lines.join('\n')}\n`);
  });

  it('refuses an unknown build or attempt with the field and what to do', async () => {
    await expect(read('build://local-20261202T100000-nope00/log')).rejects.toThrow(/build_id: .*list_builds/s);
    const file = path.join(dir, 'attempt-1.log');
    await writeFile(file, 'x\n');
    server.builds.seed(record([file]));
    await expect(read(`build://${BUILD_ID}/attempt/7/log`)).rejects.toThrow(/attempt: .*no attempt 7/s);
  });
});
