/**
 * push and cache_from / cache_to through the built CLI, against the modern engine (Docker 26 + buildx) and the real
 * registries on its loopback: an open one and one with htpasswd logins. The registries are reachable only from
 * inside the engine's container, so what landed there is read with curl inside it (through the host engine).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLine } from '../../src/builds/event-log.js';
import { makeContext, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { builtServer, startServer } from '../support/mcp-client.js';

interface CliBuild {
  success: boolean;
  status: string;
  build_id: string;
  image_id?: string;
  push?: { ref: string; pushed: boolean; digest?: string };
  error?: { kind: string; summary: string; excerpt: string; next_step: string };
  next_step: string;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
];

/** Runs the built CLI against the engine, with its own state directory. */
function cli(engine: Engine, stateDir: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [builtServer, ...args], {
    env: { ...process.env, ...engine.env, DIB_STATE_DIR: stateDir, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** curl inside the engine's container (the registries listen on its loopback), through the host engine. */
function curlInEngine(engine: Engine, args: string[]): string {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONFIG;
  delete env.DOCKER_CONTEXT;
  const result = spawnSync(
    process.env.DIB_DOCKER ?? 'docker',
    ['exec', engine.container!, 'curl', '-sS', '--max-time', '20', ...args],
    { env, encoding: 'utf8', timeout: 60_000 },
  );
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/** Tags of a repository and the digest of one tag's manifest, as the registry itself says. */
function registryState(engine: Engine, registry: string, name: string, tag: string, auth: string[] = []) {
  const tags = JSON.parse(curlInEngine(engine, [...auth, `http://${registry}/v2/${name}/tags/list`])) as {
    tags?: string[];
  };
  const headers = curlInEngine(engine, [
    ...auth,
    '-I',
    ...MANIFEST_TYPES.flatMap((type) => ['-H', `Accept: ${type}`]),
    `http://${registry}/v2/${name}/manifests/${tag}`,
  ]);
  return { tags: tags.tags ?? [], digest: /^docker-content-digest:\s*(\S+)/im.exec(headers)?.[1] };
}

/** The Dockerfile steps a build reported as cache hits, by their instruction. */
async function cachedInstructions(stateDir: string, buildId: string): Promise<{ started: string[]; cached: string[] }> {
  const file = path.join(stateDir, 'builds', encodeURIComponent(buildId), 'events.jsonl');
  const events = (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as EventLine).event);
  const names = new Map<number, string>();
  for (const event of events) if (event.type === 'step-started') names.set(event.step, event.instruction);
  const cached = events.flatMap((event) => (event.type === 'step-cached' ? [names.get(event.step) ?? ''] : []));
  return { started: [...names.values()], cached };
}

/** Ids of the engine's build cache records whose description holds `marker` (`docker buildx du --verbose`). */
function buildCacheIds(engine: Engine, marker: string): string[] {
  const du = engine.docker(['buildx', 'du', '--verbose']);
  expect(du.status, du.stderr).toBe(0);
  return du.stdout.split(/\n(?=ID:)/).flatMap((block) => {
    const id = /^ID:\s+(\S+)/m.exec(block)?.[1];
    return id && /^Description:.*$/m.exec(block)?.[0].includes(marker) ? [id] : [];
  });
}

describe.each(engines('registry'))('$title', (engine) => {
  if (!ready(engine)) return;
  describe('push to a real registry, and build cache through it', () => {
    const run = `${process.pid}-${Date.now().toString(36)}`;
    const images: string[] = [];
    let stateDir: string;
    let context: string;
    const build = (args: string[], env?: Record<string, string>) =>
      cli(
        engine,
        stateDir,
        ['build', '--context', context, '--base-image', TEST_BASE_IMAGE, '--no-smoke-test', ...args],
        env,
      );

    beforeAll(async () => {
      stateDir = await tempDir('push-state');
      context = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo "push run ${run}" > /run.txt\nCMD ["cat", "/run.txt"]\n`,
      });
    });
    afterAll(() => {
      if (images.length > 0) engine.docker(['image', 'rm', '-f', ...images]);
    });

    it('pushes to the open registry and reports the digest the registry stored', () => {
      const name = `dib-e2e/push-${run}`;
      const ref = `${engine.registry!.open}/${name}:v1`;
      images.push(ref);
      const result = build(['--image-name', `${engine.registry!.open}/${name}`, '--image-tag', 'v1', '--push']);
      expect(result.status, result.stderr).toBe(0);
      const output = JSON.parse(result.stdout) as CliBuild;
      expect(output.push).toMatchObject({ ref, pushed: true });
      expect(output.push?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const landed = registryState(engine, engine.registry!.open, name, 'v1');
      expect(landed.tags).toEqual(['v1']);
      expect(landed.digest).toBe(output.push?.digest);
      expect(output.next_step).toContain(`@${output.push?.digest}`);
    });

    it('build_image over MCP pushes after the smoke test; the record and the registry agree', async () => {
      const name = `dib-e2e/mcp-${run}`;
      const ref = `${engine.registry!.open}/${name}:v1`;
      images.push(ref);
      const server = await startServer({ ...engine.env, DIB_STATE_DIR: stateDir });
      try {
        const result = await server.client.callTool(
          {
            name: 'build_image',
            arguments: {
              context,
              image_name: `${engine.registry!.open}/${name}`,
              image_tag: 'v1',
              base_image: TEST_BASE_IMAGE,
              smoke_commands: ['grep -q "push run" /run.txt'],
              push: true,
            },
          },
          undefined,
          { timeout: 300_000, resetTimeoutOnProgress: true },
        );
        const data = result.structuredContent as unknown as {
          success: boolean;
          record: CliBuild & { smoke?: { passed: boolean } };
        };
        expect(result.isError, JSON.stringify(data)).toBeFalsy();
        expect(data.success).toBe(true);
        expect(data.record.smoke?.passed).toBe(true);
        expect(data.record.push).toMatchObject({ ref, pushed: true });
        expect(registryState(engine, engine.registry!.open, name, 'v1').digest).toBe(data.record.push?.digest);
      } finally {
        await server.close();
      }
    });

    it('fails clearly on the login registry without a login, keeping the image; pushes with one', async () => {
      const { auth, username, password } = engine.registry!;
      const name = `dib-e2e/auth-${run}`;
      const ref = `${auth}/${name}:v1`;
      images.push(ref);
      const args = ['--image-name', `${auth}/${name}`, '--image-tag', 'v1', '--push'];

      const refused = build(args);
      expect(refused.status).toBe(1);
      const failed = JSON.parse(refused.stdout) as CliBuild;
      expect(failed).toMatchObject({ success: false, status: 'failed', push: { ref, pushed: false } });
      expect(failed.error?.kind).toBe('push-failed');
      expect(failed.error?.next_step).toContain(`docker login ${auth}`);
      expect(failed.error?.next_step).toContain(`docker push ${ref}`);
      expect(engine.docker(['image', 'inspect', ref]).status).toBe(0);

      // A DOCKER_CONFIG of the user's holding the login (plugins and contexts as in the engine's own config).
      const config = await tempDir('push-login-config');
      await mkdir(config, { recursive: true });
      for (const entry of ['cli-plugins', 'contexts']) {
        await symlink(path.join(engine.env.DOCKER_CONFIG!, entry), path.join(config, entry));
      }
      const login = spawnSync(
        process.env.DIB_DOCKER ?? 'docker',
        ['login', '--username', username, '--password-stdin', auth],
        { env: { ...process.env, ...engine.env, DOCKER_CONFIG: config }, input: password, encoding: 'utf8' },
      );
      expect(login.status, login.stderr).toBe(0);
      const pushed = build(args, { DOCKER_CONFIG: config });
      expect(pushed.status, pushed.stderr).toBe(0);
      const output = JSON.parse(pushed.stdout) as CliBuild;
      expect(output.push).toMatchObject({ ref, pushed: true });
      const landed = registryState(engine, auth, name, 'v1', ['-u', `${username}:${password}`]);
      expect(landed.tags).toEqual(['v1']);
      expect(landed.digest).toBe(output.push?.digest);
    });

    it('inline cache pushed with the image makes a fresh build reuse its layers through cache_from', async () => {
      const name = `${engine.registry!.open}/dib-e2e/cache-${run}`;
      const cacheContext = await makeContext({
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo "cache run ${run}" > /cache.txt && sleep 1\nRUN cat /cache.txt # cache run ${run}\n`,
      });
      images.push(`${name}:v1`, `${name}:control`, `${name}:v2`);
      const buildCache = (tag: string, args: string[]) => {
        const result = cli(engine, stateDir, [
          'build',
          '--context',
          cacheContext,
          '--base-image',
          TEST_BASE_IMAGE,
          '--no-smoke-test',
          '--image-name',
          name,
          '--image-tag',
          tag,
          ...args,
        ]);
        expect(result.status, result.stderr).toBe(0);
        return JSON.parse(result.stdout) as CliBuild;
      };
      // Only this test's cache records go (by the run marker in their description), not other tests' caches.
      const forget = (tag: string) => {
        expect(engine.docker(['image', 'rm', '-f', `${name}:${tag}`]).status).toBe(0);
        expect(buildCacheIds(engine, `cache run ${run}`).length).toBeGreaterThan(0);
        // A record goes only once nothing depends on it: children first, then their parents.
        for (let round = 0; round < 5; round++) {
          const ids = buildCacheIds(engine, `cache run ${run}`);
          if (ids.length === 0) break;
          for (const id of ids) {
            const pruned = engine.docker(['builder', 'prune', '-af', '--filter', `id=${id}`]);
            expect(pruned.status, pruned.stderr).toBe(0);
          }
        }
        expect(buildCacheIds(engine, `cache run ${run}`)).toEqual([]);
      };
      const isRun = (instruction: string) => instruction.startsWith('RUN echo') && instruction.includes(run);

      const first = buildCache('v1', ['--cache-to', 'type=inline', '--push']);
      expect(first.push?.pushed).toBe(true);
      forget('v1');
      // Without cache_from nothing is left to reuse: the control build runs the step again.
      const control = buildCache('control', []);
      const controlSteps = await cachedInstructions(stateDir, control.build_id);
      expect(controlSteps.started.some(isRun)).toBe(true);
      expect(controlSteps.cached.some(isRun)).toBe(false);
      forget('control');
      const second = buildCache('v2', ['--cache-from', `type=registry,ref=${name}:v1`]);
      const steps = await cachedInstructions(stateDir, second.build_id);
      expect(steps.cached.filter(isRun)).toHaveLength(1);
      expect(steps.cached.some((instruction) => instruction.startsWith('RUN cat'))).toBe(true);
      const out = engine.docker(['run', '--rm', `${name}:v2`, 'cat', '/cache.txt']);
      expect(out.stdout.trim()).toBe(`cache run ${run}`);
    });

    it('a registry nobody answers on fails the build with push-failed and says to check the host', () => {
      const ref = `127.0.0.1:5999/dib-e2e/nowhere-${run}:v1`;
      images.push(ref);
      const result = build(['--image-name', ref.replace(/:v1$/, ''), '--image-tag', 'v1', '--push']);
      expect(result.status).toBe(1);
      const output = JSON.parse(result.stdout) as CliBuild;
      expect(output.error?.kind).toBe('push-failed');
      expect(output.error?.summary).toContain('cannot reach the registry 127.0.0.1:5999');
      expect(output.error?.excerpt).toContain('connection refused');
      expect(output.error?.next_step).toContain('Check the host and port in image_name');
    });

    it('refuses a cache export the docker driver cannot run before building, with the fix', () => {
      const result = build(['--image-name', `dib-e2e-refused-${run}`, '--cache-to', 'type=local,dest=/tmp/x']);
      expect(result.status).toBe(1);
      const output = JSON.parse(result.stdout) as { success: boolean; error: string; next_steps: string[] };
      expect(output.success).toBe(false);
      expect(output.error).toContain('"docker" driver');
      expect(output.next_steps.join('\n')).toMatch(/type=inline[\s\S]*--driver docker-container/);
      expect(engine.docker(['image', 'inspect', `dib-e2e-refused-${run}:latest`]).status).not.toBe(0);
    });

    it('refuses push for an image name without a registry host, before building', () => {
      const result = build(['--image-name', `dib-e2e/bare-${run}`, '--push']);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('push needs a registry host in image_name');
      expect(result.stderr).toContain(`127.0.0.1:5000/dib-e2e/bare-${run}`);
    });
  });
});
