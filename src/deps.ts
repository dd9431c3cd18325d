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
  /** The registry if it was created, so shutdown can stop running builds without creating it. */
  loadedBuilds: () => Builds | undefined;
}

export function createDefaultDeps(config: Config, env: NodeJS.ProcessEnv): ServerDeps {
  const runner = new ExecaCommandRunner();
  type Builds = Awaited<ReturnType<ServerDeps['builds']>>;
  let builds: Builds | undefined;
  let loading: Promise<Builds> | undefined;
  return {
    config,
    env,
    runner,
    builds: () => {
      loading ??= import('./builds/builds.js').then(({ Builds }) => (builds = new Builds({ config, env, runner })));
      return loading;
    },
    loadedBuilds: () => builds,
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
