import { spawnSync } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { builtServer, repoRoot } from '../support/mcp-client.js';

/** One BuildKit SolveStatus, as `docker buildx build --progress=rawjson` prints it (one JSON object a line). */
interface RawStatus {
  vertexes?: { digest: string; name: string; started?: string; completed?: string; cached?: boolean }[];
  statuses?: { id: string; vertex: string; name?: string }[];
  logs?: { vertex: string; stream: number; data: string; timestamp: string }[];
}

const RAWJSON_FIXTURE = path.join(repoRoot, 'tests', 'fixtures', 'build-logs', 'ok.rawjson.log');
const OK_DOCKERFILE = path.join(repoRoot, 'tests', 'fixtures', 'build-logs', 'ok.Dockerfile');

/**
 * buildx 0.13 writes each SolveStatus as indented JSON (json.Encoder with SetIndent), so one event spans many
 * lines: split the stream into its top-level JSON values rather than into lines.
 */
function parseRawJson(text: string): RawStatus[] {
  const values: RawStatus[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (char === '}' && depth > 0 && --depth === 0) {
      values.push(JSON.parse(text.slice(start, i + 1)) as RawStatus);
    }
  }
  return values;
}

function logText(events: RawStatus[]): string {
  return events
    .flatMap((event) => event.logs ?? [])
    .map((log) => Buffer.from(log.data, 'base64').toString('utf8'))
    .join('');
}

/** The environment without the engine selection, so the docker CLI reaches the host engine. */
function hostEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONFIG;
  delete env.DOCKER_CONTEXT;
  return { ...env, ...extra };
}

/** Runs the built CLI against the engine, with its own state directory. */
function cli(engine: Engine, stateDir: string, args: string[], timeoutMs = 300_000) {
  const result = spawnSync(process.execPath, [builtServer, ...args], {
    env: { ...process.env, ...engine.env, DIB_STATE_DIR: stateDir, AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.each(engines('buildx'))('$title', (engine) => {
  if (!ready(engine)) return;
  describe('Docker 26 + buildx, through the product and through buildx itself', () => {
    const tag = (suffix: string) => `dib-e2e-modern-${suffix}-${process.pid}`;
    const images: string[] = [];
    let stateDir: string;

    beforeAll(async () => {
      stateDir = await tempDir('modern-state');
    });
    afterAll(() => {
      if (images.length > 0) engine.docker(['image', 'rm', '-f', ...images]);
    });

    it('detect reports the engine, its buildx and BuildKit as the builder', () => {
      const result = cli(engine, stateDir, ['detect'], 60_000);
      const report = JSON.parse(result.stdout) as {
        docker: {
          daemon: { state: string; server_version?: string };
          builder: { default: string; selected: string; buildx_version?: string; buildkit_available: boolean };
          context: { source: string; docker_host?: string };
        };
      };
      expect(report.docker.daemon.state).toBe('reachable');
      expect(report.docker.daemon.server_version).toBe(engine.serverVersion);
      expect(report.docker.daemon.server_version).toMatch(/^2[6-9]\./);
      expect(report.docker.builder).toMatchObject({
        default: 'buildx',
        selected: 'buildkit',
        buildkit_available: true,
      });
      expect(report.docker.builder.buildx_version).toContain('0.13');
      expect(report.docker.context).toMatchObject({ source: 'DOCKER_HOST', docker_host: engine.env.DOCKER_HOST });
    });

    it('the CLI builds a small image with BuildKit, into this engine only', async () => {
      const context = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo "built on $(uname -m)" > /built.txt\nCMD ["cat", "/built.txt"]\n`,
      });
      const name = tag('cli');
      images.push(`${name}:latest`);
      const result = cli(engine, stateDir, [
        'build',
        '--context',
        context,
        '--image-name',
        name,
        '--base-image',
        TEST_BASE_IMAGE,
        '--no-smoke-test',
      ]);
      expect(result.status, result.stderr).toBe(0);
      const output = JSON.parse(result.stdout) as { success: boolean; log_file: string; build_id: string };
      expect(output.success).toBe(true);
      // BuildKit's plain progress (`#N [1/2] FROM ...`), not the legacy builder's `Step 1/3 :`.
      const log = await readFile(output.log_file, 'utf8');
      expect(log).toMatch(/^#\d+ \[1\/2\] FROM /m);
      expect(log).not.toMatch(/^Step \d+\/\d+ : /m);
      const run = engine.docker(['run', '--rm', `${name}:latest`]);
      expect(run.stdout.trim()).toBe('built on x86_64');
      // The host engine never saw it.
      const onHost = spawnSync(process.env.DIB_DOCKER ?? 'docker', ['image', 'inspect', `${name}:latest`], {
        env: hostEnv(),
        stdio: 'ignore',
      });
      expect(onHost.status).not.toBe(0);
    });

    it.skipIf(engine.skipArm64)('the CLI builds for linux/arm64 from the arm64 base, through QEMU', async () => {
      expect(engine.arm64Image, 'no arm64 image: provisioned with DIB_SKIP_ARM64=1?').toBeDefined();
      const context = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo "machine=$(uname -m) run=${process.pid}"\n`,
      });
      const name = tag('arm64');
      images.push(`${name}:latest`);
      const result = cli(engine, stateDir, [
        'build',
        '--context',
        context,
        '--image-name',
        name,
        '--platform',
        'linux/arm64',
        '--base-image',
        engine.arm64Image!,
        '--no-smoke-test',
      ]);
      expect(result.status, result.stderr).toBe(0);
      const output = JSON.parse(result.stdout) as { success: boolean; log_file: string };
      expect(output.success).toBe(true);
      expect(await readFile(output.log_file, 'utf8')).toContain(`machine=aarch64 run=${process.pid}`);
      expect(engine.docker(['image', 'inspect', '-f', '{{.Architecture}}', `${name}:latest`]).stdout.trim()).toBe(
        'arm64',
      );
    });

    it('docker buildx build --progress=rawjson prints BuildKit status events as JSON lines', async () => {
      const context = await makeContext({
        Dockerfile: await readFile(OK_DOCKERFILE, 'utf8'),
        'hello.txt': 'hello from the build context\n',
      });
      const name = tag('rawjson');
      images.push(`${name}:latest`);
      const result = engine.docker(['buildx', 'build', '--progress=rawjson', '--no-cache', '-t', name, context]);
      expect(result.status, result.stderr).toBe(0);
      const events = parseRawJson(result.stderr);
      expect(events.length).toBeGreaterThan(3);
      const vertexes = events.flatMap((event) => event.vertexes ?? []);
      const names = new Set(vertexes.map((vertex) => vertex.name));
      expect(names).toContain(`[1/4] FROM docker.io/${TEST_BASE_IMAGE}`);
      expect(names).toContain('[4/4] RUN echo building && cat /app/hello.txt');
      expect(vertexes.filter((vertex) => vertex.completed).length).toBeGreaterThan(3);
      // RUN output arrives as base64 log chunks of the RUN vertex.
      expect(logText(events)).toContain('hello from the build context');
      if (process.env.DIB_RECORD_FIXTURES === '1') await writeFile(RAWJSON_FIXTURE, result.stderr);
    });

    it('the recorded rawjson fixture has the same shape as live output', async () => {
      const events = parseRawJson(await readFile(RAWJSON_FIXTURE, 'utf8'));
      expect(events.length).toBeGreaterThan(3);
      expect(events.flatMap((event) => event.vertexes ?? []).some((vertex) => vertex.name.includes('RUN'))).toBe(true);
      expect(logText(events)).toContain('building');
    });

    it('pushes to the open registry, and to the one with logins only after docker login', async () => {
      const registry = engine.registry!;
      // One small layer: the push measures the registries, not gzip of a 100 MB base layer on 2 cores.
      const context = await makeContext({
        Dockerfile: 'FROM scratch\nCOPY pushed.txt /pushed.txt\n',
        'pushed.txt': `pushed by ${process.pid}\n`,
      });
      const open = `${registry.open}/dib-e2e/push:${process.pid}`;
      const auth = `${registry.auth}/dib-e2e/push:${process.pid}`;
      images.push(open, auth);
      const built = engine.docker(['buildx', 'build', '--progress=plain', '-t', open, '-t', auth, context]);
      expect(built.status, built.stderr).toBe(0);

      const pushOpen = engine.docker(['push', open]);
      expect(pushOpen.status, pushOpen.stderr).toBe(0);
      const tags = spawnSync(
        'docker',
        ['exec', engine.container!, 'curl', '-fsS', `http://${registry.open}/v2/dib-e2e/push/tags/list`],
        { encoding: 'utf8', env: hostEnv() },
      );
      expect(JSON.parse(tags.stdout)).toMatchObject({
        name: 'dib-e2e/push',
        tags: expect.arrayContaining([`${process.pid}`]),
      });

      const denied = engine.docker(['push', auth]);
      expect(denied.status).not.toBe(0);
      expect(denied.stderr).toMatch(/no basic auth credentials|unauthorized/i);

      // A separate config dir for the login, so the credentials do not stay in the shared one.
      const config = await tempDir('modern-login');
      await cp(engine.env.DOCKER_CONFIG!, config, { recursive: true });
      const loginEnv = { ...engine.env, DOCKER_CONFIG: config };
      const login = spawnSync('docker', ['login', '-u', registry.username, '--password-stdin', registry.auth], {
        env: { ...process.env, ...loginEnv },
        input: registry.password,
        encoding: 'utf8',
      });
      expect(login.status, login.stderr).toBe(0);
      const pushAuth = spawnSync('docker', ['push', auth], { env: { ...process.env, ...loginEnv }, encoding: 'utf8' });
      expect(pushAuth.status, pushAuth.stderr).toBe(0);
    }, 180_000);

    it.skipIf(engine.skipArm64)('builds for linux/arm64 through QEMU from the arm64 base', async () => {
      expect(engine.arm64Image, 'no arm64 image: provisioned with DIB_SKIP_ARM64=1?').toBeDefined();
      const context = await makeContext({ Dockerfile: `FROM ${engine.arm64Image}\nRUN echo "machine=$(uname -m)"\n` });
      const result = engine.docker([
        'buildx',
        'build',
        '--platform',
        'linux/arm64',
        '--progress=plain',
        '--no-cache',
        context,
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toContain('machine=aarch64');
    });

    it('the docker context points at the engine', () => {
      const result = spawnSync('docker', ['--context', engine.context!, 'version', '--format', '{{.Server.Version}}'], {
        env: hostEnv({ DOCKER_CONFIG: engine.env.DOCKER_CONFIG! }),
        encoding: 'utf8',
      });
      expect(result.stdout.trim()).toBe(engine.serverVersion);
    });
  });
});
