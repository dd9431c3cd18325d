import { z } from 'zod';
import { buildRecordSchema, fixAppliedSchema } from '../build-model/record-schema.js';

export const buildIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'a build id looks like "local-20261129T101500-a1b2c3"')
  .describe('The build_id returned by build_image (or listed by list_builds).');

export const tailLinesSchema = z
  .number()
  .int()
  .min(0)
  .max(500)
  .default(40)
  .describe('How many of the last build-log lines to include (the full log is in record.log_file).');

export const buildResultShape = {
  success: z.boolean().describe('True when the image built (and passed its smoke checks, when they ran).'),
  status: buildRecordSchema.shape.status,
  phase: buildRecordSchema.shape.phase,
  image_name: z.string().describe('The image reference name:tag.'),
  mode: z.enum(['local', 'codebuild']).describe('Where it was built.'),
  build_time: z.string().describe('Wall time so far or in total, e.g. "45.2s".'),
  attempts: z.number().int().describe('Build attempts made.'),
  fixes_applied: z.array(fixAppliedSchema).describe('Fixes applied (what, where, why).'),
  build_id: z.string().describe('Pass to get_build_status or cancel_build.'),
  next_step: z.string().describe('What the agent should do next.'),
  log_tail: z.array(z.string()).describe('The last lines of the build log.'),
  record: buildRecordSchema.describe('The full build record.'),
};

export type BuildResult = z.infer<z.ZodObject<typeof buildResultShape>>;
