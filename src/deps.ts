import type { Config } from './config.js';
import type { EnvironmentDeps } from './environment/detect.js';
import { ExecaCommandRunner, type CommandRunner } from './util/command-runner.js';

/** Everything the tools need from the outside world, passed in so tests can swap any part. */
export interface ServerDeps {
  config: Config;
  env: NodeJS.ProcessEnv;
  runner: CommandRunner;
}

export function createDefaultDeps(config: Config, env: NodeJS.ProcessEnv): ServerDeps {
  return { config, env, runner: new ExecaCommandRunner() };
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
