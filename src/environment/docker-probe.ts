import {
  buildxVersionOf,
  inspectBuilder,
  listBuilders,
  type BuildxAnswer,
  type BuildxBuilder,
} from '../docker/buildx.js';
import { DockerClient, dockerInvocationFor, type DockerInvocation } from '../docker/client.js';
import type { BuildKitProgress } from '../docker/output/parser-common.js';
import { listContexts, type DockerContextEntry } from '../docker/contexts.js';
import { containerdImageStoreOf } from '../docker/image-store.js';
import type { CommandResult, CommandRunner } from '../util/command-runner.js';
import { findExecutable } from '../util/find-executable.js';
import {
  builderSummary,
  selectTarget,
  unknownBuilder,
  type RequestedTarget,
  type SelectionProblem,
} from './docker-selection.js';
import { probeQemu, type QemuStatus } from './qemu-probe.js';

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
    source: 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'docker-context' | 'default' | 'docker_context';
    /** The contexts of the CLI's configuration, when they were listed. */
    available?: string[];
  };
  gpu: { available: boolean; runtimes: string[]; default_runtime?: string; cdi_devices: string[] };
  buildx: BuildxStatus;
  containerd_image_store: { enabled?: boolean; reason?: string };
  qemu: QemuStatus;
  /** The docker_context / builder asked for, and whether a build can use them (no invocation when not). */
  selection?: {
    docker_context?: string;
    builder?: string;
    ok: boolean;
    error?: string;
    hint?: string;
    /** How they were applied, e.g. a context's builder mapped to that context. */
    note?: string;
  };
  warnings: string[];
  /**
   * How to call Docker, as the probe did (CLI path, sudo, Docker variables) with the selected builder; present only
   * when the daemon is reachable. Build the one DockerClient from it; nothing else decides how to call Docker.
   */
  invocation?: DockerInvocation;
}

export interface BuildxStatus {
  /** `docker buildx` runs with this CLI. */
  available: boolean;
  /** The plugin's version, e.g. `0.13.1+ds1`. */
  version?: string;
  /** The builder a build uses: the one asked for, else the current one (`docker buildx inspect`). */
  builder?: {
    name: string;
    driver?: string;
    status?: string;
    buildkit_version?: string;
    /** What it can build; platforms other than the engine's own need QEMU (see qemu) or a native node. */
    platforms: string[];
  };
  /** Why buildx or its builder is not reported. */
  reason?: string;
}

export interface DockerProbeOptions {
  runner: CommandRunner;
  /** Program name or path of the Docker CLI. */
  dockerCommand: string;
  useSudo: boolean;
  env: NodeJS.ProcessEnv;
  /** Limit for each docker call; the daemon calls dominate the probe's duration. */
  timeoutMs: number;
  /** A docker context every call goes to (`docker --context NAME`), instead of the CLI's own choice. */
  context?: string;
  /** A buildx builder to build with. */
  builder?: string;
  /** Where binfmt_misc is (tests point it elsewhere). */
  binfmtDir?: string;
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
  DriverStatus?: unknown;
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
  /** The build runs as `docker buildx build` (a named builder): buildx prints it, whatever the CLI's version. */
  throughBuildx = false,
): BuildKitProgress {
  const clientMajor = majorOf(clientVersion);
  const buildx = /(\d+)\.(\d+)\.\d+/.exec(buildxVersion ?? '');
  const cliHandsToBuildx = throughBuildx || (clientMajor !== undefined && clientMajor >= 23);
  if (selected !== 'buildkit' || !cliHandsToBuildx || !buildx) return 'plain';
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

/** The context section: the one asked for wins (`--context` beats DOCKER_HOST and DOCKER_CONTEXT). */
function contextSection(
  env: NodeJS.ProcessEnv,
  shown: string | undefined,
  chosen: string | undefined,
  contexts: DockerContextEntry[] | undefined,
): DockerStatus['context'] {
  const available = contexts ? { available: contexts.map((context) => context.name) } : {};
  if (!chosen) return { ...contextFromEnv(env, shown), ...available };
  const endpoint = contexts?.find((context) => context.name === chosen)?.endpoint;
  return { name: chosen, ...(endpoint ? { docker_host: endpoint } : {}), source: 'docker_context', ...available };
}

const NO_BUILDX_REASON =
  'This Docker CLI has no buildx plugin (`docker buildx` is an unknown command), so no builder, platforms or cache exports are reported.';

function buildxSection(
  buildx: CommandResult,
  inspect: BuildxAnswer<BuildxBuilder> | undefined,
): DockerStatus['buildx'] {
  if (buildx.exitCode !== 0) {
    const reason = buildx.timedOut ? '`docker buildx version` did not answer in time.' : NO_BUILDX_REASON;
    return { available: false, reason };
  }
  const version = buildxVersionOf(buildx.stdout.split('\n')[0] ?? '');
  const base = { available: true, ...(version ? { version } : {}) };
  if (!inspect) return { ...base, reason: 'The builder was not inspected.' };
  if (!inspect.ok) return { ...base, reason: `docker buildx inspect failed: ${inspect.error}` };
  return { ...base, builder: builderSummary(inspect.value) };
}

function imageStoreSection(info: DockerInfoJson | undefined): DockerStatus['containerd_image_store'] {
  if (!info) return { reason: 'docker info did not answer.' };
  const enabled = containerdImageStoreOf(info.DriverStatus);
  if (enabled === undefined) return { reason: 'docker info has no DriverStatus to tell.' };
  return { enabled };
}

/** docker_context / builder against the CLI's contexts; runs only when one was asked for (reads files, no daemon). */
async function resolveSelection(
  base: DockerClient,
  requested: RequestedTarget,
  timeoutMs: number,
): Promise<
  { contexts?: DockerContextEntry[]; context?: string; builder?: string; warnings: string[] } | SelectionProblem
> {
  if (requested.context === undefined && requested.builder === undefined) return { warnings: [] };
  const listed = await listContexts(base, timeoutMs);
  if (!listed.ok) {
    if (requested.context === undefined) return { builder: requested.builder, warnings: [] };
    return { error: listed.error, hint: 'Check the Docker CLI configuration (DOCKER_CONFIG), then retry.' };
  }
  const selected = selectTarget(requested, listed.contexts);
  return 'error' in selected ? selected : { ...selected, contexts: listed.contexts };
}

function noCliStatus(options: DockerProbeOptions, qemu: QemuStatus): DockerStatus {
  return {
    use_sudo: options.useSudo,
    cli: { found: false },
    daemon: {
      state: 'no-cli',
      error: `The Docker CLI (${options.dockerCommand}) is not on PATH.`,
      hint: 'Install Docker (Docker Engine or Docker Desktop) to build locally.',
    },
    builder: { default: 'unknown', selected: 'legacy', buildkit_available: false },
    context: contextFromEnv(options.env, undefined),
    gpu: { available: false, runtimes: [], cdi_devices: [] },
    buildx: { available: false, reason: 'There is no Docker CLI.' },
    containerd_image_store: { reason: 'There is no Docker CLI.' },
    qemu,
    warnings: [],
  };
}

interface ProbeAnswers {
  version: CommandResult;
  buildx: CommandResult;
  info: CommandResult;
  inspect: BuildxAnswer<BuildxBuilder>;
  qemu: QemuStatus;
}

/** The status from the parallel answers: CLI, daemon, builder, GPU, buildx, image store, QEMU. */
function describe(options: DockerProbeOptions, cliPath: string, answers: ProbeAnswers): DockerStatus {
  const { version, buildx, info, inspect, qemu } = answers;
  const versionJson = parseJson<DockerVersionJson>(version.stdout);
  const clientVersion = versionJson?.Client?.Version;
  const buildxVersion = buildx.exitCode === 0 ? buildx.stdout.trim().split('\n')[0] : undefined;
  const builder = resolveBuilder(clientVersion, buildxVersion, options.env);
  const warnings = builder.note ? [builder.note] : [];
  const status: DockerStatus = {
    use_sudo: options.useSudo,
    cli: { found: true, path: cliPath, version: clientVersion, api_version: versionJson?.Client?.ApiVersion },
    daemon: { state: 'unreachable' },
    builder,
    context: contextFromEnv(options.env, undefined),
    gpu: { available: false, runtimes: [], cdi_devices: [] },
    buildx: buildxSection(buildx, inspect),
    containerd_image_store: { reason: 'The daemon did not answer.' },
    qemu,
    warnings,
  };
  if (options.useSudo && /sudo: a (terminal|password) is required|password is required/i.test(version.stderr)) {
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
  const infoJson = info.exitCode === 0 ? parseJson<DockerInfoJson>(info.stdout) : undefined;
  if (infoJson) {
    status.daemon.storage_driver = infoJson.Driver;
    status.daemon.operating_system = infoJson.OperatingSystem;
  } else {
    warnings.push(`docker info failed: ${(info.stderr || info.stdout).split('\n')[0] ?? ''}`.trim());
  }
  status.gpu = gpuFromInfo(infoJson);
  status.containerd_image_store = imageStoreSection(infoJson);
  return status;
}

/** A docker_context / builder that cannot be used: nothing was asked of any daemon, and no build may start. */
function refusedSelection(
  options: DockerProbeOptions,
  cliPath: string,
  problem: SelectionProblem,
  qemu: QemuStatus,
): DockerStatus {
  const status = noCliStatus(options, qemu);
  status.cli = { found: true, path: cliPath };
  status.daemon = { state: 'unreachable', error: problem.error, hint: problem.hint };
  status.buildx = { available: false, reason: 'Not probed: the docker_context / builder asked for cannot be used.' };
  status.containerd_image_store = { reason: status.buildx.reason };
  status.selection = { ...selectionNames(options), ok: false, ...problem };
  return status;
}

function selectionNames(options: DockerProbeOptions) {
  return {
    ...(options.context ? { docker_context: options.context } : {}),
    ...(options.builder ? { builder: options.builder } : {}),
  };
}

/** Whether the builder asked for exists where the build goes; the list of builders only when it does not. */
async function builderProblem(
  status: DockerStatus,
  candidate: DockerClient,
  builder: string,
  inspect: BuildxAnswer<BuildxBuilder>,
  timeoutMs: number,
): Promise<SelectionProblem | undefined> {
  if (!status.buildx.available) {
    return {
      error: `builder "${builder}" needs buildx, and this Docker CLI has none.`,
      hint: 'Install the buildx plugin (Debian/Ubuntu: docker-buildx; Docker Desktop has it), or drop builder.',
    };
  }
  if (inspect.ok || status.daemon.state !== 'reachable') return undefined;
  const listed = await listBuilders(candidate, timeoutMs);
  return unknownBuilder(builder, inspect.error, listed.ok ? listed.value : undefined, candidate.invocation.context);
}

/**
 * Probes Docker the way a build will call it. Every call has a limit and all of them run side by side (the daemon
 * ones, buildx, the contexts, binfmt_misc), so a hung daemon costs one timeout and a healthy one one round trip.
 * With docker_context / builder, the contexts are read first (files, no daemon) to decide where the calls go.
 */
export async function probeDocker(options: DockerProbeOptions): Promise<DockerStatus> {
  const { runner, useSudo, env, timeoutMs } = options;
  const short = Math.min(timeoutMs, 3_000);
  const qemuProbe = probeQemu({ dir: options.binfmtDir, timeoutMs: short });
  const cliPath = await findExecutable(options.dockerCommand, env);
  if (!cliPath) return noCliStatus(options, await qemuProbe);
  const base = new DockerClient(dockerInvocationFor({ cliPath, useSudo, env, builder: 'legacy' }), runner);
  const selection = await resolveSelection(base, { context: options.context, builder: options.builder }, short);
  if ('error' in selection) return refusedSelection(options, cliPath, selection, await qemuProbe);
  const { context, builder: builderName } = selection;
  // The candidate client: the invocation a build would use, tried here before anything relies on it. The builder is
  // settled below, from the CLI's answers; none of the probe's own calls depends on it.
  const candidate = new DockerClient({ ...base.invocation, ...(context ? { context } : {}) }, runner);
  const docker = (args: string[], limitMs = timeoutMs) => candidate.run(args, { timeoutMs: limitMs });
  const [version, buildx, contextShow, listed, info, inspect, qemu] = await Promise.all([
    docker(['version', '--format', '{{json .}}']),
    docker(['buildx', 'version'], short),
    docker(['context', 'show'], short),
    selection.contexts ? undefined : listContexts(base, short),
    docker(['info', '--format', '{{json .}}']),
    inspectBuilder(candidate, builderName, timeoutMs),
    qemuProbe,
  ]);
  const status = describe(options, cliPath, { version, buildx, info, inspect, qemu });
  const shown = contextShow.exitCode === 0 ? contextShow.stdout.trim() || undefined : undefined;
  const contexts = selection.contexts ?? (listed?.ok ? listed.contexts : undefined);
  status.context = contextSection(env, shown, context, contexts);
  status.warnings.push(...selection.warnings);
  const problem = builderName ? await builderProblem(status, candidate, builderName, inspect, timeoutMs) : undefined;
  if (options.context !== undefined || options.builder !== undefined) {
    const note = selection.warnings.length > 0 ? { note: selection.warnings.join(' ') } : {};
    status.selection = { ...selectionNames(options), ok: problem === undefined, ...(problem ?? {}), ...note };
  }
  if (status.daemon.state === 'reachable' && !problem) {
    // A named builder is a buildx builder: BuildKit, whatever DOCKER_BUILDKIT says for plain `docker build`.
    const selected = builderName ? 'buildkit' : status.builder.selected;
    const buildxVersion = status.builder.buildx_version;
    status.invocation = {
      ...candidate.invocation,
      builder: selected,
      ...(builderName ? { buildxBuilder: builderName } : {}),
      ...(selected === 'buildkit'
        ? { progress: buildKitProgressFor(status.cli.version, buildxVersion, selected, builderName !== undefined) }
        : {}),
    };
  }
  return status;
}
