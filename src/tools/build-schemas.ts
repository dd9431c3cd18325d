import { z } from 'zod';
import { buildRecordSchema, fixAppliedSchema } from '../build-model/record-schema.js';

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
  log_uri: z
    .string()
    .describe(
      'The full log as an MCP resource (resources/read; pages link to earlier and later ones), for agents that cannot open record.log_file on this machine.',
    ),
  record: buildRecordSchema.describe('The full build record.'),
};

export type BuildResult = z.infer<z.ZodObject<typeof buildResultShape>>;
