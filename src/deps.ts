import { fileURLToPath } from 'node:url';
import type { Builds } from './builds/builds.js';
import type { Config } from './config.js';
import type { EnvironmentDeps } from './environment/detect.js';
import { ExecaCommandRunner, type CommandRunner } from './util/command-runner.js';

/** Everything the tools need from the outside world, passed in so tests can swap any part. */
export interface ServerDeps {
  config: Config;
  env: NodeJS.ProcessEnv;
  runner: CommandRunner;
  /** The build registry, created on first use: it loads the builder, which an agent that only detects never needs. */
  builds: () => Promise<Builds>;
}

export interface DefaultDepsOptions {
  /**
   * The program entry that runs a build worker when given its command; default: this program's own entry, which
   * sits beside this module (dist/index.js).
   */
  workerEntry?: string;
}

export function createDefaultDeps(
  config: Config,
  env: NodeJS.ProcessEnv,
  options: DefaultDepsOptions = {},
): ServerDeps {
  const runner = new ExecaCommandRunner();
  const entry = options.workerEntry ?? fileURLToPath(new URL('./index.js', import.meta.url));
  let loading: Promise<Builds> | undefined;
  return {
    config,
    env,
    runner,
    builds: () => {
      loading ??= Promise.all([import('./builds/builds.js'), import('./builds/worker-launcher.js')]).then(
        ([{ Builds }, { spawnWorkerLauncher }]) =>
          new Builds({
            config,
            env,
            runner,
            launcher: spawnWorkerLauncher({ entry, env, stateDir: config.stateDir }),
          }),
      );
      return loading;
    },
  };
}

export function environmentDeps(deps: ServerDeps): EnvironmentDeps {
  return {
    runner: deps.runner,
    env: deps.env,
    dockerCommand: deps.config.dockerCommand,
    dockerTimeoutMs: deps.config.dockerTimeoutMs,
    awsTimeoutMs: deps.config.awsTimeoutMs,
  };
}
