// Checks of push and cache_from / cache_to before anything builds: a push needs a registry host in image_name, and
// caches need BuildKit, a local build, and (for exports other than inline) a builder whose driver can export them.
import type { BuildRefusal } from '../build-model/api.js';
import type { BuildRequest } from '../build-model/attempt.js';
import { cacheExportProblem, parseCacheSpec, probeCacheSupport } from '../docker/cache-args.js';
import type { DockerClient } from '../docker/client.js';
import { registryHostOf } from '../docker/push.js';
import { InputError } from '../util/errors.js';
import type { TargetSpec } from './job.js';

/** push without a registry host in image_name is bad input: say how to name one. */
export function checkPushInput(request: Pick<BuildRequest, 'push' | 'imageRef'>): void {
  if (!request.push || registryHostOf(request.imageRef) !== undefined) return;
  const name = request.imageRef.replace(/:[\w][\w.-]{0,127}$/, '');
  throw new InputError(
    'image_name',
    `push needs a registry host in image_name, and "${name}" has none`,
    `Name the registry first: e.g. "registry.example.com/${name}", "127.0.0.1:5000/${name}", ` +
      `"<account>.dkr.ecr.<region>.amazonaws.com/${name}" or, for Docker Hub, "docker.io/<user>/${name}".`,
  );
}

function hasCache(request: BuildRequest): boolean {
  return (request.cacheFrom?.length ?? 0) + (request.cacheTo?.length ?? 0) > 0;
}

/** Why push or the caches cannot run where the build was decided to run; undefined when they can. */
export async function targetProblem(
  request: BuildRequest,
  target: TargetSpec,
  docker: () => DockerClient,
): Promise<BuildRefusal | undefined> {
  const used = [
    request.push ? 'push' : '',
    hasCache(request) ? 'cache_from/cache_to' : '',
    request.platform?.includes(',') ? 'several platforms' : '',
  ].filter(Boolean);
  if (used.length === 0) return undefined;
  if (target.mode === 'codebuild') {
    return {
      refused: true,
      mode: 'codebuild',
      message: `${used.join(' and ')} run with local Docker only, and this build would go to CodeBuild.`,
      nextSteps: ['Build locally (force_local, with Docker running), or drop these inputs for the CodeBuild build.'],
    };
  }
  if (!hasCache(request)) return undefined;
  if (target.docker.builder === 'legacy') {
    return {
      refused: true,
      mode: 'local',
      message: 'cache_from/cache_to need BuildKit, and this Docker builds with the legacy builder.',
      nextSteps: ['Install the buildx plugin (docker-buildx) so `docker build` uses BuildKit, then build again.'],
    };
  }
  // Inline cache works on every BuildKit builder: only other exports need the driver.
  if (!request.cacheTo?.some((spec) => parseCacheSpec(spec, 'to').type !== 'inline')) return undefined;
  const problem = cacheExportProblem(request.cacheTo, await probeCacheSupport(docker()));
  return problem && { refused: true, mode: 'local', ...problem };
}
