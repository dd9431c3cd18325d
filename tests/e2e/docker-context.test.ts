import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersWithLabel, makeContext, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engine, engines, ready, type Engine } from '../support/engines.js';
import { builtServer } from '../support/mcp-client.js';

const DOCKER = process.env.DIB_DOCKER ?? 'docker';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HOST_SOCKET = 'unix:///var/run/docker.sock';

interface DetectReport {
  docker: {
    daemon: { state: string; server_version?: string };
    context: { name?: string; source: string; available?: string[] };
    buildx: {
      available: boolean;
      version?: string;
      builder?: { name: string; driver?: string; platforms: string[] };
      reason?: string;
    };
    containerd_image_store: { enabled?: boolean; reason?: string };
    qemu: { emulators: { name: string; arch: string; enabled: boolean }[]; reason?: string };
    selection?: { ok: boolean; error?: string; hint?: string; note?: string };
  };
  recommendation: { mode: string; ready: boolean; next_steps: string[] };
}

/** The built CLI with exactly this Docker environment (nothing of the caller's Docker variables). */
function cli(env: Record<string, string>, stateDir: string, args: string[], timeoutMs = 300_000) {
  const base = { ...process.env };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'BUILDX_BUILDER']) delete base[name];
  const result = spawnSync(process.execPath, [builtServer, ...args], {
    env: { ...base, ...env, DIB_STATE_DIR: stateDir, AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Whether the host engine (reached by its own socket, no context) has the image. */
function onHostEngine(ref: string): boolean {
  return (
    spawnSync(DOCKER, ['image', 'inspect', ref], { env: { ...process.env, DOCKER_HOST: HOST_SOCKET }, stdio: 'ignore' })
      .status === 0
  );
}

const qemuArm64 = (report: DetectReport) =>
  report.docker.qemu.emulators.some((emulator) => emulator.arch === 'aarch64' && emulator.enabled);

describe.each(engines('context'))('a build through docker context of the $title', (modern: Engine) => {
  if (!ready(modern) || !ready(engine('host'))) return;
  // The host engine's DOCKER_HOST, with the configuration that holds the modern engine's context (and buildx).
  const hostWithContexts = { DOCKER_HOST: HOST_SOCKET, DOCKER_CONFIG: modern.env.DOCKER_CONFIG! };
  const tag = (suffix: string) => `dib-e2e-context-${suffix}-${process.pid}`;
  const images: string[] = [];
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await tempDir('context-state');
  });
  afterAll(() => {
    if (images.length > 0) modern.docker(['image', 'rm', '-f', ...images]);
  });

  it('detect with docker_context reports that engine, not the one DOCKER_HOST names', () => {
    const result = cli(hostWithContexts, stateDir, ['detect', '--docker-context', modern.context!], 60_000);
    const report = JSON.parse(result.stdout) as DetectReport;
    expect(report.docker.daemon).toMatchObject({ state: 'reachable', server_version: modern.serverVersion });
    expect(report.docker.context).toMatchObject({ name: modern.context, source: 'docker_context' });
    expect(report.docker.buildx.builder).toMatchObject({ name: modern.context, driver: 'docker' });
    expect(report.recommendation).toMatchObject({ mode: 'local', ready: true });
  });

  it('builds and smoke-tests in the context engine while DOCKER_HOST names the host engine', async () => {
    const context = await makeContext({
      Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo "context build ${process.pid}" > /built.txt\n`,
    });
    const name = tag('ctx');
    images.push(`${name}:latest`);
    const result = cli(hostWithContexts, stateDir, [
      'build',
      '--context',
      context,
      '--image-name',
      name,
      '--base-image',
      TEST_BASE_IMAGE,
      '--docker-context',
      modern.context!,
      '--smoke-command',
      `grep -q "context build ${process.pid}" /built.txt`,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as {
      success: boolean;
      image_id?: string;
      smoke_test?: { passed?: boolean };
    };
    expect(output.success).toBe(true);
    const modernId = modern.docker(['image', 'inspect', '-f', '{{.Id}}', `${name}:latest`]);
    expect(modernId.status, modernId.stderr).toBe(0);
    expect(output.image_id).toBe(modernId.stdout.trim());
    expect(onHostEngine(`${name}:latest`)).toBe(false);
  });

  it("maps builder NAME of a context's docker driver to that context, says so, and builds through buildx there", async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo builder > /b.txt\n` });
    const name = tag('builder');
    images.push(`${name}:latest`);
    const result = cli(hostWithContexts, stateDir, [
      'build',
      '--context',
      context,
      '--image-name',
      name,
      '--base-image',
      TEST_BASE_IMAGE,
      '--builder',
      modern.context!,
      '--no-smoke-test',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { success: boolean; warnings?: string[]; log_file: string };
    expect(output.success).toBe(true);
    expect(JSON.stringify(output)).toContain(`docker --context ${modern.context}`);
    // buildx itself built it: `docker buildx build` reads rawjson progress, whose step times are exact to the
    // millisecond (the 20.10 CLI's own BuildKit prints tenths).
    expect(await readFile(output.log_file, 'utf8')).toMatch(/^#\d+ DONE \d+\.\d{3}s$/m);
    expect(modern.docker(['image', 'inspect', `${name}:latest`]).status).toBe(0);
    expect(onHostEngine(`${name}:latest`)).toBe(false);
  });

  it('cancels through the context: the smoke container in that engine is stopped and removed', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo quick > /quick\n` });
    const name = tag('cancel');
    images.push(`${name}:latest`);
    const started = cli(hostWithContexts, stateDir, [
      'build',
      '--context',
      context,
      '--image-name',
      name,
      '--base-image',
      TEST_BASE_IMAGE,
      '--docker-context',
      modern.context!,
      '--smoke-command',
      'sleep 120',
      '--no-wait',
    ]);
    expect(started.status, started.stderr).toBe(0);
    const buildId = (JSON.parse(started.stdout) as { build_id: string }).build_id;
    const label = `dib.smoke.id=${buildId}`;
    for (let poll = 0; poll < 300 && containersWithLabel(label, modern.env).length === 0; poll++) await sleep(100);
    expect(containersWithLabel(label, modern.env)).not.toEqual([]);
    const cancelled = cli(hostWithContexts, stateDir, ['cancel', buildId], 60_000);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ build_id: buildId, status: 'cancelled' });
    expect(containersWithLabel(label, modern.env)).toEqual([]);
  });

  it('refuses an unknown docker context and an unknown builder before building, naming the ones that exist', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` });
    const common = ['build', '--context', context, '--image-name', tag('refused'), '--no-smoke-test'];
    const noContext = cli(hostWithContexts, stateDir, [...common, '--docker-context', 'no-such-context'], 60_000);
    expect(noContext.status).not.toBe(0);
    expect(noContext.stdout + noContext.stderr).toContain('"no-such-context" does not exist');
    expect(noContext.stdout + noContext.stderr).toContain(modern.context!);
    const noBuilder = cli(hostWithContexts, stateDir, [...common, '--builder', 'no-such-builder'], 60_000);
    expect(noBuilder.status).not.toBe(0);
    expect(noBuilder.stdout + noBuilder.stderr).toContain('no builder "no-such-builder"');
    expect(noBuilder.stdout + noBuilder.stderr).toMatch(/Builders here: .*default/);
  });
});

describe.each(engines())('detection of buildx, builder, image store and QEMU on the $title', (target: Engine) => {
  if (!ready(target)) return;
  it('reports what matters on this engine', async () => {
    const stateDir = await tempDir('detect-state');
    const result = cli(target.env, stateDir, ['detect'], 60_000);
    const report = JSON.parse(result.stdout) as DetectReport;
    expect(report.docker.daemon.state).toBe('reachable');
    expect(report.docker.qemu.emulators.length > 0 || report.docker.qemu.reason !== undefined).toBe(true);
    if (!target.capabilities.has('buildx')) {
      // The host CLI has no buildx: said plainly, with nothing made up.
      expect(report.docker.buildx).toMatchObject({ available: false, reason: expect.stringMatching(/no buildx/) });
      expect(report.docker.buildx.builder).toBeUndefined();
      return;
    }
    expect(report.docker.buildx.available).toBe(true);
    expect(report.docker.buildx.version).toMatch(/^0\.13\./);
    expect(report.docker.buildx.builder?.driver).toBe('docker');
    expect(report.docker.buildx.builder?.platforms).toContain('linux/amd64');
    if (qemuArm64(report)) expect(report.docker.buildx.builder?.platforms).toContain('linux/arm64');
    expect(report.docker.containerd_image_store.enabled).toBe(false);
  });
});
