import { z } from 'zod';

/** The input fields that name a Dockerfile and its context, shared by analyze_dockerfile and build_image. */
export const sourceFields = {
  context: z
    .string()
    .min(1)
    .default('.')
    .describe('Build context directory (absolute, or relative to the server working directory).'),
  dockerfile: z.string().min(1).default('Dockerfile').describe('Dockerfile path relative to the context.'),
  build_args: z
    .record(z.string(), z.string())
    .default({})
    .describe(
      'Values for ARG instructions, as docker build --build-arg passes them; they also decide base images and pins that use ARGs.',
    ),
  base_image: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Replace the base image of the final stage (the seed --base-image), e.g. a local image with the same stack.',
    ),
};
