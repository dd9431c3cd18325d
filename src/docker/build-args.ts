import path from 'node:path';
import { InputError } from '../util/errors.js';
import { cacheArgs } from './cache-args.js';
import type { BuildKitProgress } from './output/parser-common.js';
import { parsePlatforms } from './platforms.js';

export type LocalBuilderKind = 'buildkit' | 'legacy';

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
}

// Grammar of github.com/distribution/reference (name components, optional host[:port], optional tag).
export const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const IMAGE_REF = new RegExp(`^(?:${DOMAIN}/)?${NAME_COMPONENT}(?:/${NAME_COMPONENT})*(?::[\\w][\\w.-]{0,127})?$`);
const BUILD_ARG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// BuildKit's stage-name rule (case-insensitive, as stage names are matched).
const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/i;
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
  for (const [key, value] of Object.entries(options.buildArgs)) buildArgs.push('--build-arg', `${key}=${value}`);
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
