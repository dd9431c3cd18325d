import { z } from 'zod';
import { smokeResultSchema } from './smoke-schema.js';

export const BUILD_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export const BUILD_PHASES = [
  'queued',
  'analyzing',
  'building',
  'diagnosing',
  'smoke-testing',
  'pushing',
  'finished',
] as const;
export const TERMINAL_STATUSES: readonly BuildStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export const fixAppliedSchema = z.object({
  what: z.string().describe('The change, e.g. "torchvision==0.15.0 -> torchvision==0.22.1".'),
  where: z.string().describe('File and line, e.g. "Dockerfile:7" or "requirements.txt:3".'),
  why: z.string().describe('Why it was needed.'),
  source: z
    .enum(['analysis', 'diagnosis'])
    .describe('analysis: found before building; diagnosis: read from a failed build log.'),
  attempt: z.number().int().describe('The attempt that used this fix first.'),
});

export const buildErrorSchema = z.object({
  kind: z.string().describe('What failed, e.g. pip-resolution-impossible, copy-missing-file, base-image-not-found.'),
  summary: z.string().describe('One sentence on what failed.'),
  dockerfile_line: z.number().int().optional().describe('Line of the Dockerfile whose step failed.'),
  excerpt: z.string().describe('The relevant lines of the build log (bounded).'),
  next_step: z.string().describe('What the agent should do next.'),
});

export const attemptSchema = z.object({
  number: z.number().int().describe('1-based attempt number.'),
  started_at: z.string().describe('ISO 8601 start time.'),
  ended_at: z.string().optional().describe('ISO 8601 end time.'),
  success: z.boolean().optional().describe('Whether this attempt built the image.'),
  builder: z.string().optional().describe('buildkit, legacy or codebuild.'),
  failed_step: z.string().optional().describe('The instruction that failed.'),
  diagnosis: z.string().optional().describe('What the log said went wrong.'),
  log_file: z.string().optional().describe('Full log of this attempt.'),
  codebuild_build_id: z.string().optional().describe('CodeBuild build id (project:uuid) of this attempt.'),
  console_url: z.string().optional().describe('AWS console link of the CodeBuild build.'),
});

export const pushSchema = z.object({
  ref: z.string().describe('The reference pushed, host/name:tag.'),
  pushed: z.boolean().describe('Whether the registry took the image.'),
  digest: z.string().optional().describe('Manifest digest the registry stored (sha256:...); pull by ref@digest.'),
});

export const buildRecordSchema = z.object({
  build_id: z.string().describe('Id to pass to get_build_status / cancel_build.'),
  mode: z.enum(['local', 'codebuild']).describe('Where the build runs.'),
  status: z
    .enum(BUILD_STATUSES)
    .describe(
      'Build status; interrupted means the worker process that ran it died (killed, or the machine restarted).',
    ),
  phase: z.enum(BUILD_PHASES).describe('What the build is doing now.'),
  image_name: z.string().describe('Image reference name:tag.'),
  context: z.string().describe('Absolute build context path.'),
  dockerfile: z.string().describe('Dockerfile path relative to the context.'),
  attempt: z.number().int().describe('Current (or last) attempt number.'),
  max_attempts: z.number().int().describe('Attempts allowed.'),
  attempts: z.array(attemptSchema).describe('Every attempt so far.'),
  fixes_applied: z.array(fixAppliedSchema).describe('Every fix applied, in order.'),
  progress: z
    .object({
      steps_done: z.number().int().describe('Build steps finished in the current attempt.'),
      steps_total: z.number().int().optional().describe('Build steps in the current attempt, when known.'),
      message: z.string().describe('Last progress message.'),
    })
    .describe('Progress of the current attempt.'),
  created_at: z.string().describe('ISO 8601 time the build was requested.'),
  ended_at: z.string().optional().describe('ISO 8601 time the build ended.'),
  build_time_seconds: z.number().optional().describe('Wall time from start to end.'),
  image_id: z.string().optional().describe('Built image id (sha256:...).'),
  image_size_bytes: z.number().optional().describe('Built image size.'),
  platform_build: z
    .object({
      mode: z
        .enum(['manifest-list', 'per-platform'])
        .describe(
          'manifest-list: one image (image_name) holding every platform, on an engine with the containerd image store; per-platform: one image per platform, each under its own tag, because the engine stores one platform per tag.',
        ),
      reason: z.string().describe('Why this mode, and for per-platform how to get one manifest list.'),
      images: z
        .array(
          z.object({
            platform: z.string().describe('os/arch[/variant].'),
            image_ref: z.string().describe("The tag that names this platform's image."),
            image_id: z
              .string()
              .optional()
              .describe("Image id (sha256:...); in a manifest list, the list's id (docker picks the platform at run)."),
            smoke_passed: z.boolean().optional().describe("Whether this platform's smoke test passed, when run."),
            smoke_failed_checks: z.array(z.string()).optional().describe('The smoke checks that failed on it.'),
          }),
        )
        .describe("Each platform's image, in the order asked."),
    })
    .optional()
    .describe("A build of several platforms: how it was built and each platform's image."),
  smoke: smokeResultSchema.optional().describe('Smoke test results, when run.'),
  error: buildErrorSchema.optional().describe('Why the build failed, when it did.'),
  push: pushSchema
    .optional()
    .describe('The push to the registry, when push was asked (after the build and smoke test).'),
  log_file: z.string().describe('Full log of the latest attempt on disk (the reply only carries a tail).'),
  written_fixes: z
    .array(
      z.object({
        file: z.string().describe('File in the context.'),
        backup: z.string().describe('Backup of the original.'),
      }),
    )
    .optional()
    .describe('Files write_fixes changed in the context, after the build succeeded.'),
  fixed_dockerfile: z
    .string()
    .optional()
    .describe('The fixed copy of the Dockerfile the build used, when fixes applied.'),
  owner_pid: z
    .number()
    .int()
    .describe('The worker process that runs the build (to detect interrupted builds; it outlives servers and CLIs).'),
  owner_start_ticks: z
    .string()
    .optional()
    .describe('Start time of that process (clock ticks since boot), so a reused pid is not taken for it.'),
  warnings: z
    .array(z.string())
    .optional()
    .describe('Things to tell the user, e.g. the CodeBuild charges and cost estimate.'),
  region: z.string().optional().describe('AWS region of a CodeBuild build.'),
});

export type BuildStatus = (typeof BUILD_STATUSES)[number];
export type BuildPhase = (typeof BUILD_PHASES)[number];
export type BuildRecord = z.infer<typeof buildRecordSchema>;
export type FixApplied = z.infer<typeof fixAppliedSchema>;
export type BuildError = z.infer<typeof buildErrorSchema>;
export type PushRecord = z.infer<typeof pushSchema>;
