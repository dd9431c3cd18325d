import { DockerClient, dockerInvocationFor, type DockerInvocation } from '../docker/client.js';
import type { BuildKitProgress } from '../docker/output/parser-common.js';
import type { CommandResult, CommandRunner } from '../util/command-runner.js';
import { findExecutable } from '../util/find-executable.js';

export type DaemonState = 'reachable' | 'unreachable' | 'permission-denied' | 'unresponsive' | 'no-cli';
/** What plain `docker build` does with this CLI and environment. */
export type DefaultBuilder = 'buildx' | 'buildkit-env' | 'legacy' | 'broken' | 'unknown';
/** What build_image will use: BuildKit whenever this CLI can drive it, the legacy builder otherwise. */
export type SelectedBuilder = 'buildkit' | 'legacy';

export interface DockerStatus {
  use_sudo: boolean;
  cli: { found: boolean; path?: string; version?: string; api_version?: string };
  daemon: {
    state: DaemonState;
    server_version?: string;
    api_version?: string;
    os?: string;
    arch?: string;
    storage_driver?: string;
    operating_system?: string;
    error?: string;
    hint?: string;
  };
  builder: {
    default: DefaultBuilder;
    selected: SelectedBuilder;
    buildx_version?: string;
    buildkit_available: boolean;
    note?: string;
  };
  context: {
    name?: string;
    docker_host?: string;
    source: 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'docker-context' | 'default';
  };
  gpu: { available: boolean; runtimes: string[]; default_runtime?: string; cdi_devices: string[] };
  warnings: string[];
  /**
   * How to call Docker, as the probe did (CLI path, sudo, Docker variables) with the selected builder; present only
   * when the daemon is reachable. Build the one DockerClient from it; nothing else decides how to call Docker.
   */
  invocation?: DockerInvocation;
}

export interface DockerProbeOptions {
  runner: CommandRunner;
  /** Program name or path of the Docker CLI. */
  dockerCommand: string;
  useSudo: boolean;
  env: NodeJS.ProcessEnv;
  /** Limit for each docker call; the daemon calls dominate the probe's duration. */
  timeoutMs: number;
}

interface DockerVersionJson {
  Client?: { Version?: string; ApiVersion?: string } | null;
  Server?: { Version?: string; ApiVersion?: string; Os?: string; Arch?: string } | null;
}

interface DockerInfoJson {
  ServerVersion?: string;
  Driver?: string;
  OSType?: string;
  Architecture?: string;
  OperatingSystem?: string;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  DiscoveredDevices?: { Source?: string; ID?: string }[] | null;
  CDISpecDirs?: string[] | null;
}

const DEPRECATED_LEGACY_NOTE =
  'This Docker CLI has no buildx: `docker build` falls back to the deprecated legacy builder. ' +
  'Install the buildx plugin (docker-buildx) to get BuildKit.';

function parseJson<T>(text: string): T | undefined {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  try {
    return JSON.parse(text.slice(start)) as T;
  } catch {
    return undefined;
  }
}

function majorOf(version: string | undefined): number | undefined {
  const match = version?.match(/^(\d+)\./);
  return match ? Number(match[1]) : undefined;
}

/** The daemon's state in words a user reads: "Docker is not responding", not "Docker is unresponsive". */
export function daemonStateInWords(state: DaemonState): string {
  switch (state) {
    case 'reachable':
      return 'answers';
    case 'unresponsive':
      return 'not responding';
    case 'unreachable':
      return 'not reachable';
    case 'permission-denied':
      return 'refusing this user (permission denied)';
    case 'no-cli':
      return 'not installed (no docker CLI)';
  }
}

/** Classifies why `docker version` could not reach the daemon from the CLI's own error text. */
export function classifyDaemonError(result: CommandResult): { state: DaemonState; error: string; hint: string } {
  const text = `${result.stderr}\n${result.stdout}`.trim();
  const firstLine = text.split('\n').find((line) => /error|cannot|denied|refused|permission/i.test(line)) ?? text;
  if (result.timedOut) {
    return {
      state: 'unresponsive',
      error: `The Docker daemon did not answer within ${Math.round(result.durationMs / 100) / 10} s.`,
      hint: 'The daemon accepts connections but hangs. Restart it (e.g. `sudo systemctl restart docker`) and retry.',
    };
  }
  if (/permission denied/i.test(text)) {
    return {
      state: 'permission-denied',
      error: firstLine.trim(),
      hint:
        'The daemon runs but this user may not use its socket. Pass use_sudo: true (CLI: --use-sudo), ' +
        'or add the user to the docker group (`sudo usermod -aG docker $USER`, then log in again).',
    };
  }
  return {
    state: 'unreachable',
    error: firstLine.trim() || `docker version exited with code ${result.exitCode}`,
    hint: 'Start the Docker daemon (e.g. `sudo systemctl start docker` or Docker Desktop), or check DOCKER_HOST / the active docker context.',
  };
}

/**
 * How build_image's BuildKit builds print progress: `rawjson` when buildx runs `docker build` (a CLI of Docker 23
 * or later hands BuildKit builds to the buildx plugin) and that buildx has the mode (0.12 and later), else `plain`.
 * A 20.10 CLI keeps its built-in BuildKit for `docker build` even with the plugin installed; it has no rawjson.
 */
export function buildKitProgressFor(
  clientVersion: string | undefined,
  buildxVersion: string | undefined,
  selected: SelectedBuilder,
): BuildKitProgress {
  const clientMajor = majorOf(clientVersion);
  const buildx = /(\d+)\.(\d+)\.\d+/.exec(buildxVersion ?? '');
  if (selected !== 'buildkit' || clientMajor === undefined || clientMajor < 23 || !buildx) return 'plain';
  const [major, minor] = [Number(buildx[1]), Number(buildx[2])];
  return major > 0 || minor >= 12 ? 'rawjson' : 'plain';
}

/** Works out which builder `docker build` uses and which one build_image should use. */
export function resolveBuilder(
  clientVersion: string | undefined,
  buildxVersion: string | undefined,
  env: NodeJS.ProcessEnv,
): DockerStatus['builder'] {
  const buildkitEnv = env.DOCKER_BUILDKIT;
  const clientMajor = majorOf(clientVersion);
  if (buildxVersion) {
    if (buildkitEnv === '0') {
      return { default: 'legacy', selected: 'legacy', buildx_version: buildxVersion, buildkit_available: true };
    }
    return { default: 'buildx', selected: 'buildkit', buildx_version: buildxVersion, buildkit_available: true };
  }
  // Since Docker 23 the CLI hands BuildKit builds to buildx; without the plugin it can only run the legacy builder.
  if (clientMajor !== undefined && clientMajor >= 23) {
    if (buildkitEnv === '1') {
      return {
        default: 'broken',
        selected: 'legacy',
        buildkit_available: false,
        note: 'DOCKER_BUILDKIT=1 is set but this CLI has no buildx, so `docker build` fails; build_image uses the legacy builder (DOCKER_BUILDKIT=0).',
      };
    }
    return { default: 'legacy', selected: 'legacy', buildkit_available: false, note: DEPRECATED_LEGACY_NOTE };
  }
  if (clientMajor === undefined) return { default: 'unknown', selected: 'legacy', buildkit_available: false };
  // Older CLIs carry BuildKit inside and switch to it with DOCKER_BUILDKIT=1.
  if (buildkitEnv === '0') return { default: 'legacy', selected: 'legacy', buildkit_available: true };
  return {
    default: buildkitEnv === '1' ? 'buildkit-env' : 'legacy',
    selected: 'buildkit',
    buildkit_available: true,
    note:
      buildkitEnv === '1'
        ? undefined
        : 'BuildKit is built into this CLI; build_image enables it with DOCKER_BUILDKIT=1.',
  };
}

function gpuFromInfo(info: DockerInfoJson | undefined): DockerStatus['gpu'] {
  const runtimes = Object.keys(info?.Runtimes ?? {}).sort();
  const cdiDevices = (info?.DiscoveredDevices ?? [])
    .filter((device) => device.Source === 'cdi' && typeof device.ID === 'string')
    .map((device) => device.ID as string)
    .filter((id) => /gpu/i.test(id));
  return {
    available: runtimes.some((name) => /nvidia/i.test(name)) || cdiDevices.length > 0,
    runtimes,
    default_runtime: info?.DefaultRuntime,
    cdi_devices: cdiDevices,
  };
}

function contextFromEnv(env: NodeJS.ProcessEnv, contextName: string | undefined): DockerStatus['context'] {
  if (env.DOCKER_HOST) return { name: contextName, docker_host: env.DOCKER_HOST, source: 'DOCKER_HOST' };
  if (env.DOCKER_CONTEXT) return { name: env.DOCKER_CONTEXT, source: 'DOCKER_CONTEXT' };
  if (contextName && contextName !== 'default') return { name: contextName, source: 'docker-context' };
  return { name: contextName ?? 'default', source: 'default' };
}

export async function probeDocker(options: DockerProbeOptions): Promise<DockerStatus> {
  const { runner, useSudo, env, timeoutMs } = options;
  const warnings: string[] = [];
  const cliPath = await findExecutable(options.dockerCommand, env);
  const context = contextFromEnv(env, undefined);
  const noGpu: DockerStatus['gpu'] = { available: false, runtimes: [], cdi_devices: [] };
  if (!cliPath) {
    return {
      use_sudo: useSudo,
      cli: { found: false },
      daemon: {
        state: 'no-cli',
        error: `The Docker CLI (${options.dockerCommand}) is not on PATH.`,
        hint: 'Install Docker (Docker Engine or Docker Desktop) to build locally.',
      },
      builder: { default: 'unknown', selected: 'legacy', buildkit_available: false },
      context,
      gpu: noGpu,
      warnings,
    };
  }
  // The candidate client: the invocation a build would use, tried here before anything relies on it. The builder is
  // settled below, from the CLI's answers; none of the probe's own calls depends on it.
  const candidate = new DockerClient(dockerInvocationFor({ cliPath, useSudo, env, builder: 'legacy' }), runner);
  const docker = (args: string[], limitMs = timeoutMs) => candidate.run(args, { timeoutMs: limitMs });

  // The calls that need no daemon run beside the one that does, so a hung daemon costs one timeout, not three.
  const [version, buildx, contextShow] = await Promise.all([
    docker(['version', '--format', '{{json .}}']),
    docker(['buildx', 'version'], Math.min(timeoutMs, 3_000)),
    docker(['context', 'show'], Math.min(timeoutMs, 3_000)),
  ]);
  const versionJson = parseJson<DockerVersionJson>(version.stdout);
  const clientVersion = versionJson?.Client?.Version;
  const buildxVersion = buildx.exitCode === 0 ? buildx.stdout.trim().split('\n')[0] : undefined;
  const builder = resolveBuilder(clientVersion, buildxVersion, env);
  if (builder.note) warnings.push(builder.note);
  const status: DockerStatus = {
    use_sudo: useSudo,
    cli: { found: true, path: cliPath, version: clientVersion, api_version: versionJson?.Client?.ApiVersion },
    daemon: { state: 'unreachable' },
    builder,
    context: contextFromEnv(env, contextShow.exitCode === 0 ? contextShow.stdout.trim() || undefined : undefined),
    gpu: noGpu,
    warnings,
  };
  if (useSudo && /sudo: a (terminal|password) is required|password is required/i.test(version.stderr)) {
    status.daemon = {
      state: 'permission-denied',
      error: 'sudo needs a password, and build_image cannot type one.',
      hint: 'Allow passwordless sudo for docker, or add the user to the docker group and drop use_sudo.',
    };
    return status;
  }
  if (version.exitCode !== 0 || !versionJson?.Server) {
    status.daemon = classifyDaemonError(version);
    return status;
  }
  const server = versionJson.Server;
  status.daemon = {
    state: 'reachable',
    server_version: server.Version,
    api_version: server.ApiVersion,
    os: server.Os,
    arch: server.Arch,
  };
  status.invocation = { ...candidate.invocation, builder: builder.selected };
  if (builder.selected === 'buildkit')
    status.invocation.progress = buildKitProgressFor(clientVersion, buildxVersion, builder.selected);
  const info = await docker(['info', '--format', '{{json .}}']);
  const infoJson = info.exitCode === 0 ? parseJson<DockerInfoJson>(info.stdout) : undefined;
  if (infoJson) {
    status.daemon.storage_driver = infoJson.Driver;
    status.daemon.operating_system = infoJson.OperatingSystem;
  } else {
    warnings.push(`docker info failed: ${(info.stderr || info.stdout).split('\n')[0] ?? ''}`.trim());
  }
  status.gpu = gpuFromInfo(infoJson);
  return status;
}
