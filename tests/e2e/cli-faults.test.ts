// Faults a script or an unlucky user meets, through the built CLI and server, with real mounts: a read-only
// file system is a tmpfs remounted read-only, not a mocked errno.
import { spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, makePipConflictContext, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE, TEST_PIP_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';
import { builtServer, startServer } from '../support/mcp-client.js';

const STACK_LINE = /^\s+at .+\(.*:\d+:\d+\)$/m;

function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const result = spawnSync(process.execPath, [builtServer, ...args], {
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A small tmpfs at a fresh folder (root only, as in CI): a disk that a build's log can fill. */
async function smallMount(size: string): Promise<{ dir: string; unmount(): void }> {
  const dir = await tempDir('smallmount');
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount tmpfs ${dir}: ${result.stderr}`);
  return { dir, unmount: () => spawnSync('umount', [dir]) };
}

/** A tmpfs at a fresh folder, filled by `fill`, then remounted read-only (root only, as in CI). */
async function readOnlyMount(fill: (dir: string) => Promise<void>): Promise<{ dir: string; unmount(): void }> {
  const dir = await tempDir('romount');
  const mount = (args: string[]) => {
    const result = spawnSync('mount', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`mount ${args.join(' ')}: ${result.stderr}`);
  };
  mount(['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
  await fill(dir);
  mount(['-o', 'remount,ro', dir]);
  return { dir, unmount: () => spawnSync('umount', [dir]) };
}

describe('the CLI as scripts use it', () => {
  it('prints --help, when asked for, to stdout so it can be paged', () => {
    const result = cli(['build', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: docker-image-builder build/);
    expect(result.stderr).toBe('');
  });

  it('refuses an unusable DIB_* variable by name with exit 2 and no stack trace', () => {
    const result = cli(['detect'], { DIB_SOFT_DEADLINE_SECONDS: 'abc' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('DIB_SOFT_DEADLINE_SECONDS');
    expect(result.stderr).toMatch(/positive number, e\.g\. DIB_SOFT_DEADLINE_SECONDS=40/);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stdout).toBe('');
  });

  it('the MCP server starts despite an unusable variable, names it on stderr and serves its tools', async () => {
    const server = await startServer({ DIB_HEARTBEAT_SECONDS: '-5', DIB_STATE_DIR: await tempDir('badenv') });
    try {
      const { tools } = await server.client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('build_image');
      expect(server.stderr()).toContain('DIB_HEARTBEAT_SECONDS="-5" is not usable');
    } finally {
      await server.close();
    }
  });

  it('keeps the AWS SDK Node-version notice off stderr', () => {
    // Credentials make detect load the SDK clients; the endpoint refuses at once.
    const result = cli(['detect'], {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      DIB_STATE_DIR: '/nonexistent-dib-state',
    });
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|will require node/);
  });
});

describe('files that cannot be written', () => {
  const mounts: { unmount(): void }[] = [];
  afterAll(() => mounts.forEach((mount) => mount.unmount()));

  it('analyze --write on a read-only file system fails with EROFS and the next step, and writes nothing', async () => {
    const text = 'FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\nRUN pip install torch==2.7.1\n';
    const mount = await readOnlyMount(async (dir) => {
      await cp(await makeContext({ Dockerfile: text }), dir, { recursive: true });
    });
    mounts.push(mount);
    const result = cli(['analyze', '--context', mount.dir, '--write']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile: could not be written \(EROFS/);
    expect(result.stderr).toMatch(/nothing was written/);
    expect(result.stderr).toMatch(/^next: .*read-only file system/m);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(await readFile(path.join(mount.dir, 'Dockerfile'), 'utf8')).toBe(text);
  });

  it('analyze --write refuses a 0444 Dockerfile unless --force-write', async () => {
    const dir = await makeContext({
      Dockerfile: 'FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\nRUN pip install torch==2.7.1\n',
    });
    await chmod(path.join(dir, 'Dockerfile'), 0o444);
    const refused = cli(['analyze', '--context', dir, '--write']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/read-only \(mode 0444\)/);
    const forced = cli(['analyze', '--context', dir, '--write', '--force-write']);
    expect(forced.stdout).toMatch(/wrote Dockerfile \(backup: Dockerfile\.bak\)/);
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toMatch(/cuda:12\.6/);
  });

  it('a read-only state directory fails the build call with EROFS and DIB_STATE_DIR, before anything runs', async () => {
    const mount = await readOnlyMount(async () => undefined);
    mounts.push(mount);
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const result = cli(['build', '--context', context, '--no-smoke-test'], { DIB_STATE_DIR: mount.dir });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/state directory .*: EROFS/);
    expect(result.stderr).toMatch(/DIB_STATE_DIR/);
    expect(result.stderr).not.toMatch(STACK_LINE);
  });
});

describe.each(engines())('write_fixes that cannot write, on the $title', (engine) => {
  if (!ready(engine)) return;
  let stateDir: string;
  const images: string[] = [];
  beforeAll(async () => {
    stateDir = await tempDir('rofix-state');
  });
  afterAll(async () => {
    if (images.length) engine.docker(['image', 'rm', '-f', ...images]);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('a good build stays succeeded when its fixes cannot be written into a read-only context', async () => {
    const source = await makePipConflictContext(TEST_PIP_IMAGE);
    const original = await readFile(path.join(source, 'Dockerfile'), 'utf8');
    const mount = await readOnlyMount(async (dir) => {
      await mkdir(dir, { recursive: true });
      await cp(source, dir, { recursive: true });
    });
    try {
      const name = `dib-e2e-rofix-${engine.name}-${process.pid}`;
      images.push(`${name}:latest`);
      const result = spawnSync(
        process.execPath,
        [builtServer, 'build', '--context', mount.dir, '--image-name', name, '--no-smoke-test', '--write-fixes'],
        {
          env: { ...process.env, ...engine.env, DIB_STATE_DIR: stateDir, AWS_EC2_METADATA_DISABLED: 'true' },
          encoding: 'utf8',
          timeout: 300_000,
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const output = JSON.parse(result.stdout) as { success: boolean; image_id?: string; warnings?: string[] };
      expect(output.success).toBe(true);
      expect(output.image_id).toMatch(/^sha256:/);
      expect(output.warnings?.join(' ')).toMatch(/write_fixes: Dockerfile: could not be written \(EROFS/);
      expect(output.warnings?.join(' ')).toMatch(/fixed copy .*Dockerfile/);
      expect(await readFile(path.join(mount.dir, 'Dockerfile'), 'utf8')).toBe(original);
    } finally {
      mount.unmount();
    }
  });
});

describe.each(engines())('a state disk that a build fills, on the $title', (engine) => {
  if (!ready(engine)) return;
  let mount: { dir: string; unmount(): void } | undefined;
  afterAll(() => mount?.unmount());

  it('fails that build as no-space naming DIB_STATE_DIR, and the server goes on to build once space is freed', async () => {
    mount = await smallMount('1m');
    const server = await startServer({ ...engine.env, DIB_STATE_DIR: mount.dir });
    try {
      // About 1.5 MB of output (and more in its event log): more than the 1 MiB disk holds.
      const noisy = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN for i in $(seq 1 30000); do echo "line $i of padding padding padding"; done\n`,
      });
      const full = await server.client.callTool({
        name: 'build_image',
        arguments: { context: noisy, image_name: `dib-full-${engine.name}`, smoke_test: false, no_cache: true },
      });
      const failed = full.structuredContent as {
        status: string;
        build_id: string;
        record: { error: { kind: string; summary: string; next_step: string } };
      };
      expect(failed.status).toBe('failed');
      expect(failed.record.error.kind).toBe('no-space');
      expect(failed.record.error.summary).toContain(mount.dir);
      expect(failed.record.error.next_step).toContain('DIB_STATE_DIR');
      expect(JSON.stringify(full.content)).not.toMatch(STACK_LINE);

      // The same server still answers, and lists the build with its verdict.
      const listed = await server.client.callTool({ name: 'list_builds', arguments: {} });
      expect(JSON.stringify(listed.structuredContent)).toContain(failed.build_id);

      await rm(path.join(mount.dir, 'builds', failed.build_id), { recursive: true, force: true });
      const quiet = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo fits\n` });
      const next = await server.client.callTool({
        name: 'build_image',
        arguments: { context: quiet, image_name: `dib-full-${engine.name}`, smoke_test: false },
      });
      expect((next.structuredContent as { status: string }).status).toBe('succeeded');
    } finally {
      await server.close();
      engine.docker(['image', 'rm', '-f', `dib-full-${engine.name}:latest`]);
    }
  }, 180_000);
});
