// Build cache import and export (`--cache-from` / `--cache-to`), in docker's own syntax: `type=registry,ref=IMAGE`,
// `type=inline`, `type=local,src=DIR` / `type=local,dest=DIR`, or a bare image reference (= type=registry,ref=it).
// BuildKit only; which exports work depends on the buildx builder's driver, so this file also says what a driver can.
import path from 'node:path';
import { InputError } from '../util/errors.js';
import type { DockerClient } from './client.js';

export type CacheDirection = 'from' | 'to';
export type CacheType = 'registry' | 'inline' | 'local';

export interface CacheSpec {
  type: CacheType;
  /** The other `key=value` attributes, in order (ref, src, dest, mode, ...); local paths made absolute. */
  attributes: [string, string][];
}

const TYPES: Record<CacheDirection, readonly CacheType[]> = {
  from: ['registry', 'local'],
  to: ['registry', 'inline', 'local'],
};
/** The attribute each type needs, by direction. */
const REQUIRED: Record<CacheDirection, Partial<Record<CacheType, string>>> = {
  from: { registry: 'ref', local: 'src' },
  to: { registry: 'ref', local: 'dest' },
};
const KEY = /^[a-z][a-z0-9-]*$/;
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f,"]/;
const IMAGE_LIKE = /^[a-z0-9][\w.:/@-]*$/i;

function fieldOf(direction: CacheDirection): string {
  return direction === 'from' ? 'cache_from' : 'cache_to';
}

function example(direction: CacheDirection): string {
  return direction === 'from'
    ? 'e.g. "type=registry,ref=registry.example.com/team/app:cache" or "type=local,src=/path/to/cache"'
    : 'e.g. "type=inline", "type=registry,ref=registry.example.com/team/app:cache" or "type=local,dest=/path/to/cache"';
}

function splitAttributes(spec: string, field: string, direction: CacheDirection): [string, string][] {
  return spec.split(',').map((part) => {
    const at = part.indexOf('=');
    const key = at < 0 ? '' : part.slice(0, at).trim();
    const value = at < 0 ? '' : part.slice(at + 1).trim();
    if (!KEY.test(key) || value === '' || UNSAFE.test(value)) {
      throw new InputError(field, `"${part}" is not a key=value attribute`, `Write ${example(direction)}.`);
    }
    return [key, value];
  });
}

/** One cache_from / cache_to entry, checked and normalised; throws InputError with the fix. */
export function parseCacheSpec(spec: string, direction: CacheDirection): CacheSpec {
  const field = fieldOf(direction);
  const text = spec.trim();
  if (direction === 'from' && !text.includes('=') && IMAGE_LIKE.test(text)) {
    return { type: 'registry', attributes: [['ref', text]] };
  }
  const attributes = splitAttributes(text, field, direction);
  const type = attributes.find(([key]) => key === 'type')?.[1];
  if (type === undefined || !(TYPES[direction] as readonly string[]).includes(type)) {
    const inlineFrom = direction === 'from' && type === 'inline';
    throw new InputError(
      field,
      type === undefined ? `"${spec}" has no type=` : `type=${type} is not supported here`,
      inlineFrom
        ? 'An inline cache travels in the pushed image: import it with "type=registry,ref=<that image>".'
        : `Use type=${TYPES[direction].join(', type=')}: ${example(direction)}.`,
    );
  }
  const cacheType = type as CacheType;
  const rest = attributes.filter(([key]) => key !== 'type');
  const required = REQUIRED[direction][cacheType];
  if (required && !rest.some(([key]) => key === required)) {
    throw new InputError(field, `type=${type} needs ${required}=`, `Write ${example(direction)}.`);
  }
  const normalised = rest.map(([key, value]): [string, string] =>
    cacheType === 'local' && (key === 'src' || key === 'dest') ? [key, path.resolve(value)] : [key, value],
  );
  return { type: cacheType, attributes: normalised };
}

/** The docker form of a parsed entry. */
export function cacheSpecText(spec: CacheSpec): string {
  return [`type=${spec.type}`, ...spec.attributes.map(([key, value]) => `${key}=${value}`)].join(',');
}

/** The `--cache-from` / `--cache-to` arguments, each entry checked. */
export function cacheArgs(cacheFrom: readonly string[] = [], cacheTo: readonly string[] = []): string[] {
  return [
    ...cacheFrom.flatMap((spec) => ['--cache-from', cacheSpecText(parseCacheSpec(spec, 'from'))]),
    ...cacheTo.flatMap((spec) => ['--cache-to', cacheSpecText(parseCacheSpec(spec, 'to'))]),
  ];
}

/** What the build's buildx builder can do with caches. */
export interface CacheSupport {
  /** The builder's driver: docker, docker-container, kubernetes, remote; undefined when buildx did not say. */
  driver?: string;
  /** The engine keeps images in containerd (then the docker driver exports every cache type). */
  containerdStore: boolean;
}

/**
 * Asks buildx for the builder's driver (the named builder, else the current one: BUILDX_BUILDER, the context's) and
 * the engine whether it uses the containerd image store.
 */
export async function probeCacheSupport(
  docker: DockerClient,
  options: { builder?: string; timeoutMs?: number } = {},
): Promise<CacheSupport> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  // The build's own builder, when its invocation names one.
  const builder = options.builder ?? docker.invocation.buildxBuilder;
  const [inspect, info] = await Promise.all([
    docker.run(['buildx', 'inspect', ...(builder ? [builder] : [])], { timeoutMs }),
    docker.run(['info', '--format', '{{json .DriverStatus}}'], { timeoutMs }),
  ]);
  const driver = inspect.exitCode === 0 ? /^Driver:\s+(\S+)/m.exec(inspect.stdout)?.[1] : undefined;
  return { ...(driver ? { driver } : {}), containerdStore: info.stdout.includes('io.containerd.snapshotter') };
}

/** Why these cache exports cannot run on this builder, with the next step; undefined when they can. */
export function cacheExportProblem(
  cacheTo: readonly string[],
  support: CacheSupport,
): { message: string; nextSteps: string[] } | undefined {
  if (support.driver !== 'docker' || support.containerdStore) return undefined;
  const refused = cacheTo.map((spec) => parseCacheSpec(spec, 'to')).filter((spec) => spec.type !== 'inline');
  if (refused.length === 0) return undefined;
  return {
    message:
      `cache_to ${refused.map(cacheSpecText).join(' and ')} cannot run: the buildx builder uses the "docker" ` +
      'driver, which exports only inline cache (unless the engine uses the containerd image store).',
    nextSteps: [
      'Use cache_to "type=inline" with push: the cache travels in the pushed image; import it next time with cache_from "type=registry,ref=<image>".',
      'Or create a builder that exports every cache type: `docker buildx create --use --driver docker-container` (it pulls the moby/buildkit image), then build again.',
      'Or turn on the containerd image store in the engine (daemon.json "features": {"containerd-snapshotter": true}).',
    ],
  };
}
