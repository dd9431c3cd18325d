import { MAX_PLATFORMS, parsePlatforms } from '../util/platforms.js';

export { MAX_PLATFORMS, parsePlatforms };
import type { CommandResult } from '../util/command-runner.js';
import { containerdImageStoreOf } from './image-store.js';

/** The normalised `--platform` value: the platforms joined with commas; undefined when there are none. */
export function platformFlag(platforms: readonly string[]): string | undefined {
  return platforms.length === 0 ? undefined : platforms.join(',');
}

/**
 * The tag suffix of one platform's image in a per-platform build: the architecture and variant (`arm64`, `arm-v7`),
 * with the OS in front when it is not linux (`windows-amd64`). This is the suffix projects publish per-architecture
 * tags with before they join them into one list (`docker manifest create name:tag name:tag-amd64 name:tag-arm64`).
 */
export function platformTagSuffix(platform: string): string {
  const [os, ...rest] = platform.split('/');
  return (os === 'linux' ? rest : [os!, ...rest]).join('-');
}

/** `name:tag` -> `name:tag-arm64` (a tag has at most 128 characters: the base tag is cut to fit). */
export function platformImageRef(imageRef: string, platform: string): string {
  const suffix = platformTagSuffix(platform);
  const colon = imageRef.lastIndexOf(':');
  const hasTag = colon > imageRef.lastIndexOf('/');
  const name = hasTag ? imageRef.slice(0, colon) : imageRef;
  const tag = hasTag ? imageRef.slice(colon + 1) : 'latest';
  return `${name}:${tag.slice(0, 127 - suffix.length)}-${suffix}`;
}

/** Which image store the engine has: `containerd` holds multi-platform images (manifest lists); `classic` one platform per tag. */
export type ImageStoreKind = 'containerd' | 'classic' | 'unknown';

export interface ImageStore {
  kind: ImageStoreKind;
  /** `docker info`'s storage driver: `overlayfs` (containerd snapshotter) or `overlay2` (classic), when known. */
  driver?: string;
  /** Why the kind is unknown. */
  problem?: string;
}

/** The `docker info` arguments whose output `imageStoreFromInfo` reads. */
export const IMAGE_STORE_INFO_ARGS = ['info', '--format', '{{json .Driver}} {{json .DriverStatus}}'];

/**
 * Reads the image store from `docker info --format '{{json .Driver}} {{json .DriverStatus}}'`: the containerd image
 * store shows `["driver-type","io.containerd.snapshotter.v1"]` in DriverStatus (its Driver is the snapshotter,
 * `overlayfs`); the classic store has a graph driver such as `overlay2`.
 */
export function imageStoreFromInfo(result: Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>): ImageStore {
  if (result.exitCode !== 0) {
    return { kind: 'unknown', problem: (result.stderr || result.stdout).trim().split('\n')[0] || 'docker info failed' };
  }
  const match = /^("[^"]*")\s+(.*)$/s.exec(result.stdout.trim());
  if (!match) return { kind: 'unknown', problem: `unexpected docker info output: ${result.stdout.slice(0, 100)}` };
  let driver: string;
  let status: unknown;
  try {
    driver = JSON.parse(match[1]!) as string;
    status = JSON.parse(match[2]!);
  } catch {
    return { kind: 'unknown', problem: `unexpected docker info output: ${result.stdout.slice(0, 100)}` };
  }
  const snapshotter = containerdImageStoreOf(status) === true;
  return { kind: snapshotter || driver === 'overlayfs' ? 'containerd' : 'classic', driver };
}

/** Asks the engine which image store it has (one `docker info`); detection can call it too. */
export async function probeImageStore(
  run: (args: string[], options: { timeoutMs: number }) => Promise<CommandResult>,
  timeoutMs = 15_000,
): Promise<ImageStore> {
  return imageStoreFromInfo(await run(IMAGE_STORE_INFO_ARGS, { timeoutMs }));
}

/** One `docker build` of a multi-platform build plan. */
export interface PlatformBuild {
  /** The `--platform` value: one platform, or all of them for a manifest list. */
  platform: string;
  /** The tag it writes. */
  imageRef: string;
}

export interface PlatformPlan {
  /** single: no or one platform; manifest-list: one build of every platform; per-platform: one build each. */
  mode: 'single' | 'manifest-list' | 'per-platform';
  builds: PlatformBuild[];
  platforms: string[];
  /** Why this mode, for the reply (absent for `single`). */
  reason?: string;
}

/**
 * How to build `platforms`: one manifest list where the engine's image store can hold one (containerd, BuildKit),
 * else one build per platform, each under its own tag (`name:tag-arm64`), with `name:tag` tagged to the first.
 */
export function planPlatformBuilds(options: {
  imageRef: string;
  platforms: readonly string[];
  store: ImageStore;
  builder: 'buildkit' | 'legacy';
}): PlatformPlan {
  const { imageRef, platforms, store, builder } = options;
  if (platforms.length <= 1) {
    return { mode: 'single', platforms: [...platforms], builds: [{ platform: platforms[0] ?? '', imageRef }] };
  }
  if (store.kind === 'containerd' && builder === 'buildkit') {
    return {
      mode: 'manifest-list',
      platforms: [...platforms],
      builds: [{ platform: platforms.join(','), imageRef }],
      reason: `the engine uses the containerd image store, which holds a multi-platform image: ${imageRef} is one manifest list of ${platforms.join(', ')}`,
    };
  }
  const why =
    builder === 'legacy'
      ? 'the legacy builder builds one platform at a time'
      : store.kind === 'classic'
        ? `the engine's classic image store${store.driver ? ` (${store.driver})` : ''} holds one platform per tag, so it cannot load a manifest list`
        : `the engine's image store could not be read (${store.problem ?? 'unknown'}), so a manifest list might not load`;
  return {
    mode: 'per-platform',
    platforms: [...platforms],
    builds: platforms.map((platform) => ({ platform, imageRef: platformImageRef(imageRef, platform) })),
    reason: `${why}: one build per platform (${platforms.map((platform) => platformImageRef(imageRef, platform)).join(', ')}), and ${imageRef} names the first. Enable the containerd image store ("features": {"containerd-snapshotter": true} in daemon.json) for one manifest list.`,
  };
}

/** `docker image inspect` format for an image's platform, `os/arch[/variant]`. */
const PLATFORM_FORMAT = '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}';

/**
 * The platforms of the images among `refs` that are present locally (others are left out: the guard then knows
 * only what FROM --platform says). Never pulls.
 */
export async function localImagePlatforms(
  run: (args: string[], options: { timeoutMs: number }) => Promise<CommandResult>,
  refs: readonly string[],
  timeoutMs = 15_000,
): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  await Promise.all(
    refs
      .filter((ref) => !ref.startsWith('-'))
      .map(async (ref) => {
        const result = await run(['image', 'inspect', '--format', PLATFORM_FORMAT, ref], { timeoutMs });
        const platform = result.stdout.trim();
        if (result.exitCode === 0 && /^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/.test(platform)) found[ref] = platform;
      }),
  );
  return found;
}
