import { record, text } from './field.js';
import { patterns } from './patterns.js';

/** The fields that name a Dockerfile and its context, shared by analyze_dockerfile/`analyze` and build_image/`build`. */
export const sourceFields = {
  context: text({
    min: 1,
    pattern: patterns.path,
    default: '.',
    description: 'Build context directory (absolute, or relative to the server working directory).',
    cli: { flag: '--context', value: '<dir>', help: 'build context path' },
  }),
  dockerfile: text({
    min: 1,
    pattern: patterns.path,
    default: 'Dockerfile',
    description: 'Dockerfile path relative to the context.',
    cli: { flag: '--dockerfile', value: '<path>', help: 'Dockerfile path relative to the context' },
  }),
  build_args: record({
    default: {},
    description:
      'Values for ARG instructions, as docker build --build-arg passes them; they also decide base images and pins that use ARGs.',
    cli: { flag: '--build-arg', value: '<KEY=VALUE>', help: 'build argument (repeatable)' },
  }),
  base_image: text({
    min: 1,
    pattern: patterns.imageReference,
    description:
      'Replace the base image of the final stage (CLI --base-image), e.g. a local image with the same stack.',
    cli: { flag: '--base-image', value: '<image>', help: 'override the base image of the final stage' },
  }),
};
