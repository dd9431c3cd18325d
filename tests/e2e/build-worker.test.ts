// A build runs in a worker process of its own: it outlives the client that started it and the server that
// answered, can be cancelled from any process, and a worker that dies is recognised and cleaned up after.
import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containersWithLabel,
  dockerBuildProcessesFor,
  makeContext,
  removeImagesFrom,
  tempDir,
} from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { builtServer, startServer, type StartedServer } from '../support/mcp-client.js';

const run = promisify(execFile);

interface Status {
  status: string;
  build_id: string;
  success: boolean;
  record: {
    image_id?: string;
    owner_pid: number;
    ended_at?: string;
    attempts: { success?: boolean }[];
    error?: { kind: string; next_step: string };
    smoke?: { passed: boolean };
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function status(server: StartedServer, buildId: string, waitSeconds = 0): Promise<Status> {
  const answer = await server.client.callTool({
    name: 'get_build_status',
    arguments: { build_id: buildId, wait_seconds: waitSeconds },
  });
  return answer.structuredContent as unknown as Status;
}

/** Follows a build through get_build_status until it ends, as an agent would after reconnecting. */
async function followToEnd(server: StartedServer, buildId: string, limitMs = 120_000): Promise<Status> {
  const until = Date.now() + limitMs;
  let current = await status(server, buildId);
  while (/queued|running/.test(current.status) && Date.now() < until) current = await status(server, buildId, 20);
  return current;
}

async function startBuild(server: StartedServer, args: Record<string, unknown>): Promise<Status> {
  const answer = await server.client.callTool({ name: 'build_image', arguments: { wait: false, ...args } });
  return answer.structuredContent as unknown as Status;
}

function cli(engine: Engine, stateDir: string, ...args: string[]) {
  return run(process.execPath, [builtServer, ...args], {
    env: { ...process.env, ...engine.env, DIB_STATE_DIR: stateDir },
    timeout: 60_000,
  }).catch((error: { stdout?: string; stderr?: string; code?: number }) => error);
}

/** This machine's processes whose command line holds `marker` (a build's RUN shell, in whatever container). */
function stepProcesses(marker: string): string[] {
  const output = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return output.split('\n').filter((line) => line.includes(marker));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.each(engines())('builds outlive their callers (MCP over stdio, $title)', (engine) => {
  if (!ready(engine)) return;
  const images: string[] = [];
  const imageName = (suffix: string) => {
    const name = `dib-worker-${engine.name}-${suffix}-${process.pid}`;
    images.push(`${name}:latest`);
    return name;
  };
  let stateDir: string;
  const servers: StartedServer[] = [];
  const server = async () => {
    const started = await startServer({ ...engine.env, DIB_STATE_DIR: stateDir });
    servers.push(started);
    return started;
  };
  beforeAll(async () => {
    stateDir = await tempDir('worker-state');
  });
  afterAll(async () => {
    await Promise.all(servers.map((started) => started.close().catch(() => undefined)));
    removeImagesFrom(engine.env, ...images);
  });

  it('a build started with wait false finishes succeeded after its client closed, and a new server finds it', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 4 && echo done > /done\n` });
    const first = await server();
    const started = await startBuild(first, { context, image_name: imageName('client-gone'), no_cache: true });
    expect(started.status).toMatch(/queued|running/);
    await first.close();

    const second = await server();
    const ended = await followToEnd(second, started.build_id);
    expect(ended.status).toBe('succeeded');
    expect(ended.record.image_id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ended.record.smoke?.passed).toBe(true);
    expect(ended.record.ended_at).toBeDefined();
  });

  it('a server SIGKILLed mid-build leaves the build running; it ends succeeded with a complete record', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 5 && echo done > /done\n` });
    const doomed = await server();
    const started = await startBuild(doomed, {
      context,
      image_name: imageName('server-killed'),
      no_cache: true,
      smoke_test: false,
    });
    // Wait until the docker build is under way, then kill the server hard, as a crash or the OOM killer would.
    for (let poll = 0; poll < 50 && (await status(doomed, started.build_id)).status !== 'running'; poll++)
      await sleep(100);
    await doomed.kill();

    const after = await server();
    const ended = await followToEnd(after, started.build_id);
    expect(ended.status).toBe('succeeded');
    expect(ended.record.attempts).toHaveLength(1);
    expect(ended.record.attempts[0]?.success).toBe(true);
    expect(ended.record.image_id).toMatch(/^sha256:/);
  });

  it('the CLI cancels a build a server started within seconds, and no docker build, step or container is left', async () => {
    const image = imageName('cli-cancel');
    // The marker names this build's RUN shell among the machine's processes, whichever builder runs it.
    const marker = `step-of-${image}`;
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 120 && echo ${marker}\n` });
    const owner = await server();
    const started = await startBuild(owner, { context, image_name: image, no_cache: true });
    for (let poll = 0; poll < 150 && stepProcesses(marker).length === 0; poll++) await sleep(100);
    expect(dockerBuildProcessesFor(`${image}:latest`)).not.toEqual([]);
    expect(stepProcesses(marker)).not.toEqual([]);

    const cancelledAt = Date.now();
    const answer = (await cli(engine, stateDir, 'cancel', started.build_id)) as { stdout: string };
    expect(Date.now() - cancelledAt).toBeLessThan(15_000);
    expect(JSON.parse(answer.stdout)).toMatchObject({
      build_id: started.build_id,
      cancelled: true,
      status: 'cancelled',
    });
    expect((await status(owner, started.build_id)).status).toBe('cancelled');
    expect(dockerBuildProcessesFor(`${image}:latest`)).toEqual([]);
    // The RUN step stops with it: the legacy builder's step container, BuildKit's runc process (give the daemon a
    // moment to remove it).
    const docker = (args: string[]) => run('docker', args, { env: { ...process.env, ...engine.env } });
    let leftovers: string[] = [];
    for (let poll = 0; poll < 30; poll++) {
      const { stdout } = await docker(['ps', '-aq', '--filter', 'status=running', '--filter', 'status=created']);
      const ids = stdout.split('\n').filter(Boolean);
      const commands = await Promise.all(
        ids.map(async (id) => (await docker(['inspect', '-f', '{{.Config.Cmd}}', id])).stdout),
      );
      leftovers = [...commands.filter((cmd) => cmd.includes(marker)), ...stepProcesses(marker)];
      if (leftovers.length === 0) break;
      await sleep(200);
    }
    expect(leftovers).toEqual([]);
  });

  it('a worker killed with SIGKILL is reported interrupted, with its docker build and smoke containers cleaned up', async () => {
    const image = imageName('worker-killed');
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 120\n` });
    const owner = await server();
    const started = await startBuild(owner, { context, image_name: image, no_cache: true });
    for (let poll = 0; poll < 100 && dockerBuildProcessesFor(`${image}:latest`).length === 0; poll++) await sleep(100);
    // Let the client print all it will until `sleep 120` ends: a client with nothing left to write never meets the
    // broken pipe, so only the sweep can stop it (the case that once left it running).
    await sleep(2000);
    const { owner_pid: workerPid } = (await status(owner, started.build_id)).record;
    expect(alive(workerPid)).toBe(true);
    process.kill(workerPid, 'SIGKILL');
    for (let poll = 0; poll < 50 && alive(workerPid); poll++) await sleep(100);

    const seen = await status(owner, started.build_id);
    expect(seen.status).toBe('interrupted');
    expect(seen.record.error?.next_step).toMatch(/build_image/);
    for (let poll = 0; poll < 60 && dockerBuildProcessesFor(`${image}:latest`).length > 0; poll++) await sleep(100);
    expect(dockerBuildProcessesFor(`${image}:latest`)).toEqual([]);
    // The verdict is written once, so every later reader agrees.
    const stored = JSON.parse(
      await readFile(path.join(stateDir, 'builds', started.build_id, 'record.json'), 'utf8'),
    ) as { status: string };
    expect(stored.status).toBe('interrupted');
    expect(containersWithLabel(`dib.smoke.id=${started.build_id}`, engine.env)).toEqual([]);
  });

  it('a worker killed during its smoke test leaves no smoke container behind', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo quick > /quick\n` });
    const owner = await server();
    const started = await startBuild(owner, {
      context,
      image_name: imageName('smoke-killed'),
      smoke_commands: ['sleep 120'],
    });
    const label = `dib.smoke.id=${started.build_id}`;
    for (let poll = 0; poll < 300 && containersWithLabel(label, engine.env).length === 0; poll++) await sleep(100);
    expect(containersWithLabel(label, engine.env)).not.toEqual([]);
    process.kill((await status(owner, started.build_id)).record.owner_pid, 'SIGKILL');
    await sleep(300);
    expect((await status(owner, started.build_id)).status).toBe('interrupted');
    expect(containersWithLabel(label, engine.env)).toEqual([]);
  });

  it('a client whose own request timed out does not stop the build: it goes on and ends succeeded', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 6 && echo late > /late\n` });
    const client = await server();
    const image = imageName('client-timeout');
    // The SDK client gives up after 2 s and sends notifications/cancelled with a "Request timed out" reason.
    const outcome = await client.client
      .callTool(
        { name: 'build_image', arguments: { context, image_name: image, no_cache: true, smoke_test: false } },
        undefined,
        { timeout: 2000 },
      )
      .catch((error: Error) => error);
    expect(String(outcome)).toMatch(/timed out/i);
    const list = await client.client.callTool({ name: 'list_builds', arguments: { limit: 50 } });
    const entry = (list.structuredContent as { builds: { build_id: string; image_name: string }[] }).builds.find(
      (build) => build.image_name === `${image}:latest`,
    );
    expect(entry).toBeDefined();
    expect((await followToEnd(client, entry!.build_id)).status).toBe('succeeded');
  });

  it('two servers on one state directory each start a build; both see both, and neither record is damaged', async () => {
    const [one, two] = [await server(), await server()];
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo shared > /shared\n` });
    const [a, b] = await Promise.all([
      startBuild(one, { context, image_name: imageName('shared-a'), smoke_test: false }),
      startBuild(two, { context, image_name: imageName('shared-b'), smoke_test: false }),
    ]);
    const [endA, endB] = await Promise.all([followToEnd(two, a.build_id), followToEnd(one, b.build_id)]);
    expect([endA.status, endB.status]).toEqual(['succeeded', 'succeeded']);
    for (const reader of [one, two]) {
      const list = await reader.client.callTool({ name: 'list_builds', arguments: { limit: 50 } });
      const ids = (list.structuredContent as { builds: { build_id: string }[] }).builds.map((entry) => entry.build_id);
      expect(ids).toEqual(expect.arrayContaining([a.build_id, b.build_id]));
    }
  });

  it('CLI build --no-wait answers at once with a build id, and `status` follows it to the end', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN sleep 3 && echo cli > /cli\n` });
    const startedAt = Date.now();
    const answer = (await cli(
      engine,
      stateDir,
      'build',
      '--context',
      context,
      '--image-name',
      imageName('cli-no-wait'),
      '--no-smoke-test',
      '--no-wait',
      '--no-cache',
    )) as { stdout: string };
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    const started = JSON.parse(answer.stdout) as { build_id: string; status: string; next_step: string };
    expect(started.status).toMatch(/queued|running/);
    expect(started.next_step).toContain(`status ${started.build_id}`);
    let final = '';
    for (let poll = 0; poll < 120 && !/succeeded|failed/.test(final); poll++) {
      const shown = (await cli(engine, stateDir, 'status', started.build_id)) as { stdout: string };
      final = (JSON.parse(shown.stdout) as { status: string }).status;
      if (!/succeeded|failed/.test(final)) await sleep(500);
    }
    expect(final).toBe('succeeded');
  });
});
