import path from 'node:path';
import { InputError } from '../util/errors.js';
import { cacheArgs } from './cache-args.js';
import type { BuildKitProgress } from './output/parser-common.js';
import { parsePlatforms } from './platforms.js';

export type LocalBuilderKind = 'buildkit' | 'legacy';

/**
 * A build secret as docker's `--secret` takes it: the value of a variable of the docker CLI's environment (`env`), or
 * a file (`src`). Only the name or the path is ever held here; docker reads the value itself.
 */
export type BuildSecret = { id: string; env: string } | { id: string; src: string };

export interface DockerBuildOptions {
  /** Build context directory; resolved to an absolute path. */
  contextDir: string;
  /** Dockerfile path; a relative path is taken relative to `contextDir` (as `--dockerfile` is in the seed). */
  dockerfilePath: string;
  /** `name[:tag]`, e.g. `fsdp:latest` or `registry.example.com:5000/team/fsdp:v1`. */
  imageRef: string;
  buildArgs: Record<string, string>;
  target?: string;
  /** `os/arch[/variant]`, e.g. `linux/amd64`, or a comma list of them (`linux/amd64,linux/arm64`). */
  platform?: string;
  noCache?: boolean;
  pull?: boolean;
  labels: Record<string, string>;
  /** Where Docker writes the built image's id (`sha256:...`); resolved to an absolute path. */
  iidFile?: string;
  builder: LocalBuilderKind;
  /** BuildKit's `--progress` mode (default `plain`); the legacy builder has none. */
  progress?: BuildKitProgress;
  /** Cache imports and exports in docker's syntax (BuildKit only; see cache-args.ts). */
  cacheFrom?: string[];
  cacheTo?: string[];
  /** A buildx builder: the build runs as `docker buildx build --builder NAME --load` (BuildKit only). */
  buildxBuilder?: string;
  /** `--secret` (BuildKit only). */
  secrets?: BuildSecret[];
  /** `--ssh`: `default` or `id[=socket-or-key,...]` (BuildKit only). */
  ssh?: string[];
  /** Build args whose value must stay in argv (`NAME=value`); default `valueInArgv`. */
  valueInArgv?: (name: string) => boolean;
}

/**
 * Build args named like the variables the docker CLI (or sudo, or the loader) reads itself keep their value in argv:
 * set in the CLI's environment they would change where and how docker runs. Every other build arg is passed as
 * `--build-arg NAME`, its value in the CLI's environment, so no other local user can read it with `ps`.
 */
const ARGV_BUILD_ARG = /^(?:DOCKER_|BUILDX_|BUILDKIT_|LD_|SUDO_)|^(?:PATH|HOME|TMPDIR|SSH_AUTH_SOCK)$/;

export function valueInArgv(name: string): boolean {
  return ARGV_BUILD_ARG.test(name);
}

/** The variables that carry the build args' values to the docker CLI (see ARGV_BUILD_ARG); never put in argv. */
export function buildArgEnv(
  buildArgs: Record<string, string>,
  inArgv: (name: string) => boolean = valueInArgv,
): Record<string, string> {
  return Object.fromEntries(Object.entries(buildArgs).filter(([name]) => !inArgv(name)));
}

// Grammar of github.com/distribution/reference (name components, optional host[:port], optional tag).
export const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const IMAGE_REF = new RegExp(`^(?:${DOMAIN}/)?${NAME_COMPONENT}(?:/${NAME_COMPONENT})*(?::[\\w][\\w.-]{0,127})?$`);
const BUILD_ARG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// BuildKit's stage-name rule (case-insensitive, as stage names are matched).
const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/i;
// BuildKit takes any id; these characters keep it one field of docker's comma-separated --secret value.
const SECRET_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `default` or an id, optionally `=` and comma-separated socket or key paths (docker's --ssh syntax).
const SSH_SPEC = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}(?:=[^,="\s]+(?:,[^,="\s]+)*)?$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function validateImageRef(imageRef: string, field = 'imageRef'): void {
  const nameLength = imageRef.replace(/:[\w][\w.-]{0,127}$/, '').length;
  if (!IMAGE_REF.test(imageRef) || nameLength > 255) {
    throw new InputError(
      field,
      `"${imageRef}" is not a valid image reference`,
      'Use lowercase name[:tag], e.g. "fsdp:latest" or "registry.example.com/team/fsdp:v1" (no digest, no spaces).',
    );
  }
}

function requireNonEmptyPath(value: string, field: string): void {
  if (value.trim() === '' || value.includes('\0')) {
    throw new InputError(field, 'must be a non-empty path', 'Pass the path of an existing directory or file.');
  }
}

/** The secret and ssh inputs, checked as text (the files and variables they name are checked by the caller). */
export function validateSecretInputs(secrets: BuildSecret[] = [], ssh: string[] = []): void {
  const seen = new Set<string>();
  secrets.forEach((secret, index) => {
    if (!SECRET_ID.test(secret.id)) {
      throw new InputError(
        `secrets.${index}.id`,
        `"${secret.id}" is not a usable secret id`,
        'Use letters, digits, ".", "_" or "-" (at most 128), e.g. "hf_token"; the Dockerfile mounts it with RUN --mount=type=secret,id=hf_token.',
      );
    }
    if (seen.has(secret.id)) {
      throw new InputError(`secrets.${index}.id`, `"${secret.id}" is given twice`, 'Give each secret id once.');
    }
    seen.add(secret.id);
    if ('env' in secret && !ENV_NAME.test(secret.env)) {
      throw new InputError(
        `secrets.${index}.env`,
        `"${secret.env}" is not an environment variable name`,
        'Name the variable that holds the value, e.g. "HF_TOKEN" (letters, digits, "_").',
      );
    }
    if ('src' in secret && (secret.src.trim() === '' || /[\0,"\n\r]/.test(secret.src))) {
      throw new InputError(
        `secrets.${index}.src`,
        'must be a file path without commas, quotes or line breaks',
        'Pass the path of the file that holds the secret, e.g. "~/.config/hf/token" expanded.',
      );
    }
  });
  ssh.forEach((spec, index) => {
    if (!SSH_SPEC.test(spec)) {
      throw new InputError(
        `ssh.${index}`,
        `"${spec}" is not an ssh forwarding spec`,
        'Use "default" (your SSH agent, SSH_AUTH_SOCK) or "id=/path/to/agent.sock" or "id=/path/to/key[,/path/to/key2]".',
      );
    }
  });
}

function validateOptions(options: DockerBuildOptions): void {
  requireNonEmptyPath(options.contextDir, 'contextDir');
  requireNonEmptyPath(options.dockerfilePath, 'dockerfilePath');
  if (options.iidFile !== undefined) requireNonEmptyPath(options.iidFile, 'iidFile');
  validateImageRef(options.imageRef);
  for (const [key, value] of Object.entries(options.buildArgs)) {
    if (!BUILD_ARG_KEY.test(key)) {
      throw new InputError(
        `buildArgs.${key}`,
        'is not a valid build argument name',
        'Build argument names are identifiers: letters, digits and underscores, not starting with a digit.',
      );
    }
    if (value.includes('\0')) {
      throw new InputError(`buildArgs.${key}`, 'contains a NUL character', 'Remove the NUL character from the value.');
    }
  }
  for (const [key, value] of Object.entries(options.labels)) {
    if (key === '' || key.includes('=') || /\s/.test(key) || CONTROL_CHARS.test(key)) {
      throw new InputError(
        `labels.${key}`,
        'is not a valid label key',
        'Use a key without "=", spaces or control characters, e.g. "org.opencontainers.image.source".',
      );
    }
    if (value.includes('\0')) {
      throw new InputError(`labels.${key}`, 'contains a NUL character', 'Remove the NUL character from the value.');
    }
  }
  if (options.target !== undefined && !STAGE_NAME.test(options.target)) {
    throw new InputError(
      'target',
      `"${options.target}" is not a valid stage name`,
      'Use the name given after AS in a FROM line of the Dockerfile.',
    );
  }
  validateSecretInputs(options.secrets, options.ssh);
  // One platform, or a comma list of them (a manifest list, BuildKit with the containerd image store).
  if (options.platform !== undefined) parsePlatforms(options.platform);
}

/** The variables that select the builder for `docker build`; the DockerClient passes them (through sudo too). */
export function builderEnv(builder: LocalBuilderKind): Record<string, string> {
  return { DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' };
}

/**
 * `build`, or with a named builder `buildx build --builder NAME --load`: buildx, because only it selects builders
 * (a Docker 20.10 CLI's `docker build` never goes through buildx), and `--load`, because a builder of another
 * driver (docker-container, kubernetes, remote) keeps its result in its own cache otherwise; the image must reach
 * the engine that smoke-tests and pushes it.
 */
function buildCommand(options: DockerBuildOptions): string[] {
  if (options.buildxBuilder === undefined) return ['build'];
  if (options.builder !== 'buildkit') {
    throw new InputError('builder', 'needs BuildKit', 'A buildx builder builds with BuildKit; install docker-buildx.');
  }
  return ['buildx', 'build', '--builder', options.buildxBuilder, '--load'];
}

/**
 * The `docker build` arguments (after the CLI) for the options, as an array (never a shell string); a DockerClient
 * turns them into the command. Paths are made absolute, so none can be mistaken for a flag and the result does not
 * depend on a cwd.
 */
export function dockerBuildArgs(options: DockerBuildOptions): string[] {
  validateOptions(options);
  const contextDir = path.resolve(options.contextDir);
  const dockerfile = path.resolve(contextDir, options.dockerfilePath);

  const buildArgs = buildCommand(options);
  if (options.builder === 'buildkit') buildArgs.push(`--progress=${options.progress ?? 'plain'}`);
  // The classic builder keeps a failed step's container unless told otherwise; BuildKit creates none.
  else buildArgs.push('--force-rm');
  buildArgs.push('-f', dockerfile, '-t', options.imageRef);
  const inArgv = options.valueInArgv ?? valueInArgv;
  for (const [key, value] of Object.entries(options.buildArgs)) {
    buildArgs.push('--build-arg', inArgv(key) ? `${key}=${value}` : key);
  }
  for (const secret of options.secrets ?? []) {
    buildArgs.push(
      '--secret',
      'env' in secret ? `id=${secret.id},env=${secret.env}` : `id=${secret.id},src=${path.resolve(secret.src)}`,
    );
  }
  for (const spec of options.ssh ?? []) buildArgs.push('--ssh', spec);
  for (const [key, value] of Object.entries(options.labels)) buildArgs.push('--label', `${key}=${value}`);
  if (options.target !== undefined) buildArgs.push('--target', options.target);
  if (options.platform !== undefined) buildArgs.push('--platform', options.platform);
  if (options.noCache === true) buildArgs.push('--no-cache');
  if (options.pull === true) buildArgs.push('--pull');
  buildArgs.push(...cacheArgs(options.cacheFrom, options.cacheTo));
  if (options.iidFile !== undefined) buildArgs.push('--iidfile', path.resolve(options.iidFile));
  buildArgs.push(contextDir);
  return buildArgs;
}
