// Checks of secrets and ssh before anything builds (the variables and files they name exist, the builder can take
// them), and how build-arg values travel to the worker: through its environment, never through its job file.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { BuildRefusal, BuildSecretInput } from '../build-model/api.js';
import type { BuildRequest } from '../build-model/attempt.js';
import { validateSecretInputs, type BuildSecret } from '../docker/build-args.js';
import { InputError } from '../util/errors.js';
import { looksLikeSecretName } from '../util/secret-names.js';
import type { TargetSpec } from './job.js';

/** The worker's variable that carries the build args' values (JSON); the worker removes it from its environment. */
export const WORKER_BUILD_ARGS_VARIABLE = 'DIB_WORKER_BUILD_ARGS';

// An ARN (arn:aws:secretsmanager:…) or a secret name; a Parameter Store name, with or without its leading slash.
const AWS_SECRET_REF =
  /^(?:arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(?::[A-Za-z0-9/_+=.@-]*){0,3}|[A-Za-z0-9/_+=.@-]{1,512})$/;
const AWS_PARAMETER_REF =
  /^(?:arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+|\/?[A-Za-z0-9/_.-]{1,2048})$/;

/** The secrets a local docker build takes (`env`, `src`); AWS references are CodeBuild's. */
export function localSecrets(secrets: BuildSecretInput[] = []): BuildSecret[] {
  return secrets.filter((secret): secret is BuildSecret => 'env' in secret || 'src' in secret);
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

/**
 * Checks each secret and ssh forward against this machine (the variable is set, the file is a regular file, the
 * agent socket is known) and makes file paths absolute against the caller's directory. Bad input throws InputError.
 */
export async function resolveSecretInputs(request: BuildRequest, env: NodeJS.ProcessEnv): Promise<void> {
  const secrets = request.secrets ?? [];
  validateSecretInputs(
    secrets.map((secret) => ('src' in secret || 'env' in secret ? secret : { id: secret.id, env: 'AWS' })),
    request.ssh,
  );
  const resolved: BuildSecretInput[] = [];
  for (const [index, secret] of secrets.entries()) {
    const field = `secrets.${index}`;
    if ('env' in secret && env[secret.env] === undefined) {
      throw new InputError(
        `${field}.env`,
        `the variable ${secret.env} is not set in this server's environment`,
        `Set ${secret.env} where the MCP server (or the CLI) starts, e.g. in the client's "env" block; the call names the variable, never its value.`,
      );
    }
    if ('src' in secret) {
      const file = path.resolve(secret.src);
      if (!(await isFile(file))) {
        throw new InputError(
          `${field}.src`,
          `"${secret.src}" is not a regular file`,
          'Pass the path of the file that holds the secret (absolute, or relative to the server working directory).',
        );
      }
      resolved.push({ id: secret.id, src: file });
      continue;
    }
    if ('aws_secret' in secret && !AWS_SECRET_REF.test(secret.aws_secret)) {
      throw new InputError(
        `${field}.aws_secret`,
        'is not a Secrets Manager name or ARN',
        'e.g. "hf-token" or "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf".',
      );
    }
    if ('aws_parameter' in secret && !AWS_PARAMETER_REF.test(secret.aws_parameter)) {
      throw new InputError(`${field}.aws_parameter`, 'is not a Parameter Store name or ARN', 'e.g. "/team/hf-token".');
    }
    resolved.push(secret);
  }
  if (secrets.length > 0) request.secrets = resolved;
  for (const [index, spec] of (request.ssh ?? []).entries()) {
    const [id, paths] = spec.split('=', 2) as [string, string | undefined];
    if (paths === undefined && !env.SSH_AUTH_SOCK) {
      throw new InputError(
        `ssh.${index}`,
        `"${id}" forwards your SSH agent, and SSH_AUTH_SOCK is not set in this server's environment`,
        'Start an agent (`eval "$(ssh-agent)"; ssh-add`) where the server starts, or give the socket or key: "default=/path/to/agent.sock".',
      );
    }
    for (const file of paths?.split(',') ?? []) {
      if (!(await stat(file).catch(() => undefined))) {
        throw new InputError(
          `ssh.${index}`,
          `"${file}" does not exist`,
          'Give the path of an SSH agent socket or a private key file.',
        );
      }
    }
  }
}

/** Why the secrets or ssh cannot be used where the build was decided to run; undefined when they can. */
export function secretTargetProblem(request: BuildRequest, target: TargetSpec): BuildRefusal | undefined {
  const secrets = request.secrets ?? [];
  const ssh = request.ssh ?? [];
  if (secrets.length === 0 && ssh.length === 0) return undefined;
  const aws = secrets.filter((secret) => 'aws_secret' in secret || 'aws_parameter' in secret);
  if (target.mode === 'codebuild') {
    if (ssh.length > 0) {
      return {
        refused: true,
        mode: 'codebuild',
        message: 'ssh forwards your local SSH agent or keys, which a CodeBuild build cannot reach.',
        nextSteps: ['Build locally (force_local), or fetch what needs SSH with a deploy key held as an aws_secret.'],
      };
    }
    const local = localSecrets(secrets)[0];
    if (!local) return undefined;
    // PLAINTEXT variables are kept in the CodeBuild build's details for anyone who may read the project's builds:
    // a secret from the local environment or a file is never sent that way.
    return {
      refused: true,
      mode: 'codebuild',
      message: `secret "${local.id}" comes from ${'env' in local ? 'a local variable' : 'a local file'}, and a CodeBuild build would have to carry its value in plain text.`,
      nextSteps: [
        `Store it in Secrets Manager (\`aws secretsmanager create-secret --name ${local.id} --secret-string file://PATH\`) and pass {"id": "${local.id}", "aws_secret": "${local.id}"}, or a Parameter Store SecureString as "aws_parameter".`,
      ],
    };
  }
  if (aws.length > 0) {
    return {
      refused: true,
      mode: 'local',
      message: `secret "${aws[0]!.id}" is an AWS reference, which only a CodeBuild build resolves.`,
      nextSteps: ['Locally, give the value through a variable ({"id", "env"}) or a file ({"id", "src"}).'],
    };
  }
  if (target.docker.builder === 'legacy') {
    return {
      refused: true,
      mode: 'local',
      message: `${secrets.length > 0 ? 'secrets' : 'ssh'} need BuildKit, and this Docker builds with the legacy builder (which has no --secret or --ssh).`,
      nextSteps: [
        'Install the buildx plugin (docker-buildx) so `docker build` uses BuildKit; with a Docker CLI older than 23, unset DOCKER_BUILDKIT=0. Then build again.',
      ],
    };
  }
  return undefined;
}

/** For the reply: build args whose name says they hold a secret, whose value docker keeps in the image history. */
export function secretBuildArgWarnings(request: Pick<BuildRequest, 'buildArgs'>): string[] {
  const names = Object.keys(request.buildArgs).filter((name) => looksLikeSecretName(name));
  if (names.length === 0) return [];
  return [
    `build arg ${names.join(', ')} looks like a secret: docker keeps a build arg's value in the image history of every RUN step that sees it (docker history). Pass it as a secret instead: secrets [{"id": "${names[0]!.toLowerCase()}", "env": "${names[0]}"}] and RUN --mount=type=secret,id=${names[0]!.toLowerCase()}.`,
  ];
}

/** The job's copy of a request: the build args' names only (their values go to the worker's environment). */
export function jobRequest(request: BuildRequest): { request: BuildRequest; workerEnv: Record<string, string> } {
  const names = Object.keys(request.buildArgs);
  if (names.length === 0) return { request, workerEnv: {} };
  return {
    request: { ...request, buildArgs: Object.fromEntries(names.map((name) => [name, ''])) },
    workerEnv: { [WORKER_BUILD_ARGS_VARIABLE]: JSON.stringify(request.buildArgs) },
  };
}

/** The build args' values the starting process gave the worker; removed from the environment once read. */
export function takeWorkerBuildArgs(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const text = env[WORKER_BUILD_ARGS_VARIABLE];
  delete env[WORKER_BUILD_ARGS_VARIABLE];
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  return Object.fromEntries(
    Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
