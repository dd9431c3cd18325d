import { text } from './field.js';
import { patterns } from './patterns.js';

/** The fields that say which Docker a local build uses, shared by detect_environment/`detect` and build_image/`build`. */
export const dockerTargetFields = {
  docker_context: text({
    min: 2,
    max: 200,
    pattern: patterns.dockerContext,
    description:
      'Docker context to build with (`docker context ls`): every docker call of the build (build, inspect, smoke test, push, cancel) goes to it as `docker --context NAME`, instead of DOCKER_HOST or the current context. Local builds only; an unknown context is refused with the list of contexts.',
    cli: { flag: '--docker-context', value: '<name>', help: 'docker context for every docker call (docker --context)' },
  }),
  builder: text({
    min: 1,
    max: 200,
    pattern: patterns.buildxBuilder,
    description:
      "buildx builder to build with (`docker buildx ls`): the build runs as `docker buildx build --builder NAME --load`, so a docker-container, Kubernetes or remote builder builds and the image still lands in the engine. A builder named after a docker context is that context's own engine and selects docker_context NAME too. Needs buildx; an unknown builder is refused with the list of builders.",
    cli: { flag: '--builder', value: '<name>', help: 'buildx builder (docker buildx build --builder)' },
  }),
};
