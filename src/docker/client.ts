// The one way this project calls Docker. The decision (which CLI, sudo or not, which Docker variables, which
// builder) is made once, by the probe, as a plain DockerInvocation; every caller gets a DockerClient built from it
// and never decides again. Only this file knows how sudo changes a command line.
import path from 'node:path';
import type { CommandResult, CommandRunner } from '../util/command-runner.js';
import type { BuildKitProgress, OutputStream } from './output/parser-common.js';
import type { ProcessSpawner, SpawnedProcess } from './process-spawner.js';

/** How to call Docker: a plain, JSON-serialisable decision, so a worker process can be handed the same one. */
export interface DockerInvocation {
  /** The Docker CLI: an absolute path once the probe found it on PATH (a bare name only when it was not found). */
  path: string;
  /** Run the CLI as `sudo -n` (never prompts: fails instead when a password would be needed). */
  sudo: boolean;
  /** The Docker variables of the caller's environment, to pass to every call (see DOCKER_ENV_VARIABLES). */
  env: Record<string, string>;
  /** The builder `docker build` runs with (DOCKER_BUILDKIT=1 or 0). */
  builder: 'buildkit' | 'legacy';
  /**
   * How a BuildKit build prints its progress: `rawjson` when buildx runs `docker build` (exact step timings and
   * cache hits as data), `plain` otherwise (the CLI's built-in BuildKit, Docker 20.10). Absent: plain.
   */
  progress?: BuildKitProgress;
  /**
   * The Docker context every call goes to, as the global `docker --context NAME` flag (it wins over DOCKER_HOST
   * and DOCKER_CONTEXT): the build, image inspect, the smoke-test run, push, and the clean-up after a cancel.
   */
  context?: string;
  /** A buildx builder to build with: the build runs as `docker buildx build --builder NAME --load`. */
  buildxBuilder?: string;
}

/**
 * The variables that change which daemon, credentials or builder the Docker CLI uses. Only these are passed on:
 * through sudo they must be named one by one, and nothing else of the caller's environment belongs there.
 * DOCKER_BUILDKIT is not among them: the invocation's `builder` decides it for builds.
 */
export const DOCKER_ENV_VARIABLES = [
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_TLS',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'DOCKER_API_VERSION',
  'DOCKER_DEFAULT_PLATFORM',
  'DOCKER_CONTENT_TRUST',
  'DOCKER_CONTENT_TRUST_SERVER',
  'BUILDX_BUILDER',
  'BUILDX_CONFIG',
] as const;

/** One Docker call as a program, its arguments and the variables to set for it (merged over the process's own). */
export interface DockerCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface DockerRunOptions {
  /** Hard limit; the process is killed when it passes. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Text for the process's stdin. */
  input?: string;
  /** Variables for this call only, e.g. DOCKER_BUILDKIT. */
  extraEnv?: Record<string, string>;
}

export interface DockerSpawnOptions {
  /** Called for every output line, stdout and stderr interleaved in the order they arrive. */
  onLine: (line: string, stream: OutputStream) => void;
  /** Variables for this call only, e.g. DOCKER_BUILDKIT. */
  extraEnv?: Record<string, string>;
  /** Variables for this call whose values must never be in any argv (build-arg values, env secrets); see command(). */
  privateEnv?: Record<string, string>;
  cwd?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The invocation for a CLI path, use_sudo and the caller's environment; keeps only the Docker variables that are set. */
export function dockerInvocationFor(options: {
  cliPath: string;
  useSudo: boolean;
  env: NodeJS.ProcessEnv;
  builder: 'buildkit' | 'legacy';
  progress?: BuildKitProgress;
  context?: string;
  buildxBuilder?: string;
}): DockerInvocation {
  const env: Record<string, string> = {};
  for (const name of DOCKER_ENV_VARIABLES) {
    const value = options.env[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  // A bare name stays a name (it was not found on PATH); anything with a slash is made absolute, so it can neither
  // depend on a later working directory nor be read by sudo as a VAR=value argument or an option.
  const cliPath = options.cliPath.includes('/') ? path.resolve(options.cliPath) : options.cliPath;
  return {
    path: cliPath,
    sudo: options.useSudo,
    env,
    builder: options.builder,
    ...(options.progress === undefined ? {} : { progress: options.progress }),
    ...(options.context ? { context: options.context } : {}),
    ...(options.buildxBuilder ? { buildxBuilder: options.buildxBuilder } : {}),
  };
}

/** Runs Docker CLI commands as the invocation says: the same path, sudo and variables for every call. */
export class DockerClient {
  constructor(
    readonly invocation: DockerInvocation,
    private readonly runner: CommandRunner,
    private readonly spawner?: ProcessSpawner,
  ) {}

  /**
   * The program and arguments for one docker call. sudo resets the environment, so with sudo the variables go as
   * sudo's own `VAR=value` arguments (`sudo -n VAR=value... /path/docker args`) and none is left to the environment.
   * Private variables are the exception: any local user can read an argv (`ps`), so through sudo they stay in the
   * environment and are only named (`--preserve-env=NAME,...`; the same sudoers rule that allows VAR=value allows it).
   */
  command(
    args: readonly string[],
    extraEnv: Record<string, string> = {},
    privateEnv: Record<string, string> = {},
  ): DockerCommand {
    const env = { ...this.invocation.env, ...extraEnv };
    for (const [name, value] of Object.entries({ ...env, ...privateEnv })) {
      if (!ENV_NAME.test(name) || value.includes('\0')) throw new Error(`not a usable environment variable: ${name}`);
    }
    // The context is a global flag, so it goes before the subcommand: `docker --context NAME build ...`.
    const context = this.invocation.context;
    const dockerArgs = context ? ['--context', context, ...args] : [...args];
    if (!this.invocation.sudo)
      return { command: this.invocation.path, args: dockerArgs, env: { ...env, ...privateEnv } };
    const assignments = Object.entries(env)
      .filter(([name]) => !(name in privateEnv))
      .map(([name, value]) => `${name}=${value}`);
    const names = Object.keys(privateEnv);
    const preserve = names.length > 0 ? [`--preserve-env=${names.join(',')}`] : [];
    return {
      command: 'sudo',
      args: ['-n', ...preserve, ...assignments, this.invocation.path, ...dockerArgs],
      env: { ...privateEnv },
    };
  }

  /** Runs a short docker command and resolves with its result, failed or not. */
  run(args: readonly string[], options: DockerRunOptions): Promise<CommandResult> {
    const { command, args: fullArgs, env } = this.command(args, options.extraEnv);
    return this.runner.run(command, fullArgs, {
      timeoutMs: options.timeoutMs,
      env,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.input === undefined ? {} : { input: options.input }),
    });
  }

  /** Starts a long docker command (a build) with its output streamed line by line. */
  spawn(args: readonly string[], options: DockerSpawnOptions): SpawnedProcess {
    if (!this.spawner) throw new Error('this DockerClient was made without a ProcessSpawner, so it cannot stream');
    const { command, args: fullArgs, env } = this.command(args, options.extraEnv, options.privateEnv);
    return this.spawner.spawn(command, fullArgs, {
      env,
      onLine: options.onLine,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
  }
}
