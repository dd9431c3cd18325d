import os from 'node:os';
import path from 'node:path';

/** Settings read once from the environment; everything else receives them as plain values. */
export interface Config {
  /** Docker CLI program or path (DIB_DOCKER). */
  dockerCommand: string;
  /** Where build records and logs live (DIB_STATE_DIR, else $XDG_STATE_HOME/docker-image-builder). */
  stateDir: string;
  dockerTimeoutMs: number;
  awsTimeoutMs: number;
  /** build_image with wait returns `running` after this many seconds so clients with 60 s limits never time out. */
  softDeadlineSeconds: number;
  /** Longest silence between progress notifications while a call waits on a build (DIB_HEARTBEAT_SECONDS). */
  heartbeatSeconds: number;
}

/** An environment variable whose value cannot be used; its default is used instead. */
export interface ConfigProblem {
  variable: string;
  /** A bounded excerpt of the value, JSON-quoted so control characters show. */
  value: string;
  /** What a valid value looks like. */
  expected: string;
  /** The value used instead. */
  fallback: number;
}

export interface ConfigReading {
  config: Config;
  /** Every variable that was set but unusable (empty when the environment is fine). */
  problems: ConfigProblem[];
}

const NUMBER_SETTINGS = [
  { key: 'dockerTimeoutMs', variable: 'DIB_DOCKER_TIMEOUT_MS', fallback: 3_000, example: '5000' },
  { key: 'awsTimeoutMs', variable: 'DIB_AWS_TIMEOUT_MS', fallback: 2_500, example: '5000' },
  { key: 'softDeadlineSeconds', variable: 'DIB_SOFT_DEADLINE_SECONDS', fallback: 40, example: '40' },
  { key: 'heartbeatSeconds', variable: 'DIB_HEARTBEAT_SECONDS', fallback: 15, example: '15' },
] as const;

function excerpt(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.DIB_STATE_DIR) return path.resolve(env.DIB_STATE_DIR);
  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'docker-image-builder');
}

/**
 * Reads the settings. An unusable value never throws: it is reported as a problem and its default is used, so the
 * MCP server can start (and say so on stderr) while the CLI refuses with the variable's name.
 */
export function readConfig(env: NodeJS.ProcessEnv): ConfigReading {
  const problems: ConfigProblem[] = [];
  const numbers = {} as Record<(typeof NUMBER_SETTINGS)[number]['key'], number>;
  for (const setting of NUMBER_SETTINGS) {
    const raw = env[setting.variable];
    const value = raw === undefined || raw.trim() === '' ? setting.fallback : Number(raw);
    if (Number.isFinite(value) && value > 0) {
      numbers[setting.key] = value;
      continue;
    }
    numbers[setting.key] = setting.fallback;
    problems.push({
      variable: setting.variable,
      value: excerpt(raw ?? ''),
      expected: `a positive number, e.g. ${setting.variable}=${setting.example}`,
      fallback: setting.fallback,
    });
  }
  return {
    config: { dockerCommand: env.DIB_DOCKER || 'docker', stateDir: defaultStateDir(env), ...numbers },
    problems,
  };
}

/** The settings, with defaults in place of unusable values (see readConfig for the problems). */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  return readConfig(env).config;
}

/** One line per problem, for stderr or an error message. */
export function describeConfigProblem(problem: ConfigProblem): string {
  return `${problem.variable}=${problem.value} is not usable: expected ${problem.expected}; using ${problem.fallback}.`;
}
