import { z } from 'zod';
import type { BuildRequest } from '../build-model/attempt.js';

/**
 * Where a build runs, decided once by the process that starts it (from the probe) and handed to the worker as data,
 * so the worker never decides again: local Docker with the CLI, sudo and builder the probe found, or a CodeBuild
 * project in a region.
 */
export const targetSpecSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('local'),
    /** The probe's DockerInvocation: CLI path, sudo, the Docker variables to pass, and the builder. */
    docker: z.object({
      path: z.string().min(1),
      sudo: z.boolean(),
      env: z.record(z.string(), z.string()),
      builder: z.enum(['buildkit', 'legacy']),
      /** BuildKit's progress mode, decided with the rest (rawjson through buildx). */
      progress: z.enum(['plain', 'rawjson']).optional(),
      /** The docker context of every call (`docker --context NAME ...`), when one was chosen. */
      context: z.string().min(1).optional(),
      /** The buildx builder (`docker buildx build --builder NAME`), when one was chosen. */
      buildxBuilder: z.string().min(1).optional(),
    }),
  }),
  z.object({
    mode: z.literal('codebuild'),
    region: z.string().min(1),
    project: z.string().min(1),
    bucket: z.string().min(1).optional(),
  }),
]);

export type TargetSpec = z.infer<typeof targetSpecSchema>;

/** Everything a worker needs to run one build, written beside the record before the worker starts. */
export interface BuildJob {
  version: 1;
  buildId: string;
  request: BuildRequest;
  target: TargetSpec;
}

export const buildJobSchema = z.object({
  version: z.literal(1),
  buildId: z.string().min(1),
  // The request was validated by the starting process; the worker only needs it to round-trip intact.
  request: z.custom<BuildRequest>((value) => typeof value === 'object' && value !== null),
  target: targetSpecSchema,
});
