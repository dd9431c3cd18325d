import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'vitest';
import { dockerRequired } from './docker.js';

/**
 * The Docker engines end-to-end tests can run against, for `describe.each(engines())(...)`:
 * - `host`: the machine's own engine (Debian bookworm's Docker 20.10; the `docker` CLI on PATH has no buildx, so
 *   `docker build` runs the legacy builder), started by scripts/provision-docker.sh;
 * - `modern`: Docker 26 + buildx 0.13 in a container of the host engine, with registries on its loopback and arm64
 *   through QEMU, started by scripts/provision-modern-engine.sh, which writes the env file read here.
 *
 * An engine that does not answer is returned with `skip: true`, unless DIB_REQUIRE_DOCKER=1 (CI): then it is
 * returned with `skip: false` and `require()` fails with the reason. `ready(engine)` at the top of a
 * `describe.each` body does both: it registers one test saying why (failed in CI, skipped elsewhere) and returns
 * false, so the body can `return` before its real tests.
 */

export type EngineName = 'host' | 'modern';
export type Capability = 'buildx' | 'buildkit-default' | 'rawjson' | 'registry' | 'arm64' | 'context';

export interface RegistryInfo {
  /** `127.0.0.1:5000`: no login. Reachable from the engine (and inside its container), not from the host. */
  open: string;
  /** `127.0.0.1:5001`: htpasswd logins. */
  auth: string;
  username: string;
  password: string;
}

export interface Engine {
  name: EngineName;
  /** What the engine is, for test titles. */
  title: string;
  available: boolean;
  /** Why the engine is not available. */
  missing?: string;
  /** Skip this engine's tests (not available, and Docker not required). */
  skip: boolean;
  /** Variables to pass to the product (and to the docker CLI) so that it uses this engine. */
  env: Record<string, string>;
  serverVersion?: string;
  buildxVersion?: string;
  /**
   * What tests may rely on. The modern engine's are fixed (not probed), so `engines('buildx')` always lists it and
   * a broken modern engine fails instead of vanishing; the host's buildx ones follow whether its CLI has buildx.
   */
  capabilities: ReadonlySet<Capability>;
  platforms: string[];
  registry?: RegistryInfo;
  /** The docker context that points at the engine (in `env.DOCKER_CONFIG`). */
  context?: string;
  /** The host engine's container that runs this engine (for `docker exec` into its loopback). */
  container?: string;
  /** The arm64 base image; undefined when provisioned with DIB_SKIP_ARM64=1. */
  arm64Image?: string;
  /** Skip a test that needs the arm64 image (missing, and Docker not required; required, the test fails). */
  skipArm64: boolean;
  /** Throws, with the reason, when the engine is not available. */
  require(): void;
  /** Runs the docker CLI (the one on PATH, or DIB_DOCKER) against this engine. */
  docker(args: string[], options?: { input?: string | Buffer; timeoutMs?: number; cwd?: string }): DockerRun;
}

export interface DockerRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface ModernEnvFile {
  dockerHost: string;
  dockerConfig: string;
  context: string;
  engineContainer: string;
  engineVersion: string;
  buildxVersion: string;
  registry: string;
  authRegistry: string;
  registryCredentials: string;
  arm64Image: string;
  images: string;
}

export const PROVISION_DIR = process.env.DIB_PROVISION_DIR ?? '/var/tmp/docker-image-builder-provision';
/** The env file scripts/provision-modern-engine.sh writes (its JSON twin; env.sh beside it). */
export const MODERN_ENV_FILE = process.env.DIB_MODERN_ENV_FILE ?? path.join(PROVISION_DIR, 'modern', 'env.json');

const DOCKER = process.env.DIB_DOCKER ?? 'docker';

function run(
  env: Record<string, string>,
  args: string[],
  options: { input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): DockerRun {
  const result: SpawnSyncReturns<string> = spawnSync(DOCKER, args, {
    env: { ...process.env, ...env },
    input: options.input,
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.error ? `${result.stderr ?? ''}${result.error.message}` : (result.stderr ?? ''),
  };
}

function serverVersion(env: Record<string, string>): { version?: string; error?: string } {
  const result = run(env, ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
  if (result.status === 0 && result.stdout.trim()) return { version: result.stdout.trim() };
  return { error: (result.stderr || result.stdout).trim().split('\n')[0] ?? `exit ${result.status}` };
}

function makeEngine(
  fields: Omit<Engine, 'skip' | 'skipArm64' | 'require' | 'docker'> & { env: Record<string, string> },
  hint: string,
): Engine {
  const skip = !fields.available && !dockerRequired;
  return {
    ...fields,
    skip,
    skipArm64: skip || (fields.arm64Image === undefined && !dockerRequired),
    require() {
      if (!fields.available) throw new Error(`The ${fields.name} engine is not available: ${fields.missing}. ${hint}`);
    },
    docker: (args, options) => run(fields.env, args, options),
  };
}

function hostEngine(): Engine {
  // The host engine is what the CLI reaches with no DOCKER_HOST / DOCKER_CONFIG of ours.
  const env: Record<string, string> = {};
  const probe = serverVersion(env);
  const buildx = run(env, ['buildx', 'version'], { timeoutMs: 10_000 });
  const buildxVersion = buildx.status === 0 ? buildx.stdout.trim().split(/\s+/)[1] : undefined;
  const capabilities = new Set<Capability>();
  if (buildxVersion) capabilities.add('buildx').add('buildkit-default').add('rawjson');
  return makeEngine(
    {
      name: 'host',
      title: `host engine${probe.version ? ` (Docker ${probe.version})` : ''}`,
      available: probe.version !== undefined,
      missing: probe.error,
      env,
      serverVersion: probe.version,
      buildxVersion,
      capabilities,
      platforms: ['linux/amd64'],
    },
    'Run scripts/provision-docker.sh.',
  );
}

function readModernEnv(): { env?: ModernEnvFile; error?: string } {
  if (!existsSync(MODERN_ENV_FILE)) return { error: `${MODERN_ENV_FILE} does not exist` };
  try {
    return { env: JSON.parse(readFileSync(MODERN_ENV_FILE, 'utf8')) as ModernEnvFile };
  } catch (error) {
    return { error: `${MODERN_ENV_FILE} is not JSON: ${(error as Error).message}` };
  }
}

function modernEngine(): Engine {
  const capabilities = new Set<Capability>(['buildx', 'buildkit-default', 'rawjson', 'registry', 'arm64', 'context']);
  const platforms = ['linux/amd64', 'linux/arm64'];
  const hint = 'Run scripts/provision-modern-engine.sh (after scripts/provision-docker.sh).';
  const file = readModernEnv();
  if (!file.env) {
    return makeEngine(
      {
        name: 'modern',
        title: 'modern engine',
        available: false,
        missing: file.error,
        env: {},
        capabilities,
        platforms,
      },
      hint,
    );
  }
  const modern = file.env;
  const env = { DOCKER_HOST: modern.dockerHost, DOCKER_CONFIG: modern.dockerConfig };
  const probe = serverVersion(env);
  let registry: RegistryInfo | undefined;
  let missing = probe.error;
  try {
    const credentials = JSON.parse(readFileSync(modern.registryCredentials, 'utf8')) as {
      username: string;
      password: string;
    };
    registry = {
      open: modern.registry,
      auth: modern.authRegistry,
      username: credentials.username,
      password: credentials.password,
    };
  } catch (error) {
    missing ??= `registry credentials unreadable: ${(error as Error).message}`;
  }
  return makeEngine(
    {
      name: 'modern',
      title: `modern engine (Docker ${probe.version ?? modern.engineVersion} + buildx ${modern.buildxVersion})`,
      available: missing === undefined,
      missing,
      env,
      serverVersion: probe.version,
      buildxVersion: modern.buildxVersion,
      capabilities,
      platforms,
      registry,
      context: modern.context,
      container: modern.engineContainer,
      arm64Image: modern.arm64Image || undefined,
    },
    hint,
  );
}

let cache: Engine[] | undefined;

/**
 * The engines, probed once per test file. With `withCapabilities`, only engines that have all of them (by
 * definition, so the list never depends on what happens to answer).
 */
export function engines(...withCapabilities: Capability[]): Engine[] {
  cache ??= [hostEngine(), modernEngine()];
  return cache.filter((engine) => withCapabilities.every((capability) => engine.capabilities.has(capability)));
}

export function engine(name: EngineName): Engine {
  return engines().find((candidate) => candidate.name === name)!;
}

/**
 * For the top of a `describe.each(engines())` body: true when the engine answers. Otherwise registers one test,
 * "<engine> is available", that fails with the reason under DIB_REQUIRE_DOCKER=1 and is skipped elsewhere, so a
 * missing engine shows up in the counts as a failure rather than as skipped tests behind a failed hook.
 */
export function ready(engine: Engine): boolean {
  if (engine.available) return true;
  it.skipIf(engine.skip)(`${engine.name} engine is available`, () => engine.require());
  return false;
}
