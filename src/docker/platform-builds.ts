import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DockerClient } from './client.js';
import type { LocalBuildControl, LocalBuildOptions, LocalBuildResult, LocalDockerBuilder } from './local-builder.js';
import { parsePlatforms, planPlatformBuilds, probeImageStore, type PlatformPlan } from './platforms.js';

export interface PlatformImage {
  platform: string;
  imageRef: string;
  imageId?: string;
}

export interface PlatformBuildsResult extends LocalBuildResult {
  /** Present for a build of several platforms. */
  platformBuild?: { mode: 'manifest-list' | 'per-platform'; reason: string; images: PlatformImage[] };
}

const TAG_TIMEOUT_MS = 30_000;

/**
 * Builds `options.platform` (one platform or a comma list). Several platforms become one manifest list where the
 * engine's image store holds one (asked with `docker info` first), else one build per platform, each under its
 * own tag and into the same log, with `options.imageRef` tagged to the first platform's image.
 */
export async function buildPlatforms(
  deps: { builder: LocalDockerBuilder; docker: DockerClient },
  options: LocalBuildOptions,
  control: LocalBuildControl = {},
): Promise<PlatformBuildsResult> {
  const platforms = parsePlatforms(options.platform);
  if (platforms.length <= 1) return deps.builder.build(options, control);
  const store = await probeImageStore((args, runOptions) => deps.docker.run(args, runOptions));
  const plan = planPlatformBuilds({
    imageRef: options.imageRef,
    platforms,
    store,
    builder: deps.docker.invocation.builder,
  });
  await mkdir(path.dirname(path.resolve(options.logFile)), { recursive: true });
  await writeFile(options.logFile, `# ${plan.mode} build: ${plan.reason}\n`);
  if (plan.mode === 'manifest-list') {
    const result = await deps.builder.build(
      { ...options, platform: plan.builds[0]!.platform, appendLog: true },
      control,
    );
    const images = platforms.map((platform) => ({
      platform,
      imageRef: options.imageRef,
      ...(result.imageId ? { imageId: result.imageId } : {}),
    }));
    return { ...result, platformBuild: { mode: 'manifest-list', reason: plan.reason!, images } };
  }
  return buildEach(deps, options, control, plan);
}

async function buildEach(
  deps: { builder: LocalDockerBuilder; docker: DockerClient },
  options: LocalBuildOptions,
  control: LocalBuildControl,
  plan: PlatformPlan,
): Promise<PlatformBuildsResult> {
  const images: PlatformImage[] = [];
  let last: LocalBuildResult | undefined;
  for (const build of plan.builds) {
    await appendFile(options.logFile, `# platform ${build.platform} -> ${build.imageRef}\n`);
    // Each platform's image gets its own iid file, so one platform's id is never read as another's.
    const iidFile = `${options.logFile}.${build.platform.replaceAll('/', '-')}.iid`;
    last = await deps.builder.build(
      { ...options, platform: build.platform, imageRef: build.imageRef, iidFile, appendLog: true },
      control,
    );
    images.push({
      platform: build.platform,
      imageRef: build.imageRef,
      ...(last.imageId ? { imageId: last.imageId } : {}),
    });
    if (!last.success) break;
  }
  const platformBuild = { mode: 'per-platform' as const, reason: plan.reason!, images };
  const first = images[0];
  if (!last!.success || !first?.imageId) return { ...last!, platformBuild };
  // name:tag names the first platform's image, so what reads the tag (push, a later run) finds one.
  const tag = await deps.docker.run(['tag', first.imageId, options.imageRef], {
    timeoutMs: TAG_TIMEOUT_MS,
    ...(control.signal ? { signal: control.signal } : {}),
  });
  if (tag.exitCode !== 0) {
    return {
      ...last!,
      success: false,
      errorMessage: `docker tag ${first.imageId} ${options.imageRef} failed: ${(tag.stderr || tag.stdout).trim()}`,
      platformBuild,
    };
  }
  // The attempt's image is the first platform's (as name:tag is); each platform's id is in platformBuild.
  return { ...last!, imageId: first.imageId, platformBuild };
}
