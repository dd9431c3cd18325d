import { z } from 'zod';
import type { BuildsApi } from '../build-model/api.js';
import { BUILD_PHASES, BUILD_STATUSES } from '../build-model/record-schema.js';
import { listBuildsInputs } from '../inputs/builds.js';
import { defineTool } from './tool.js';

const buildSummarySchema = z.object({
  build_id: z.string().describe('Pass to get_build_status or cancel_build.'),
  status: z.enum(BUILD_STATUSES).describe('Build status.'),
  phase: z.enum(BUILD_PHASES).describe('Build phase.'),
  image_name: z.string().describe('Image reference.'),
  mode: z.enum(['local', 'codebuild']).describe('Where it builds.'),
  created_at: z.string().describe('When it was requested (ISO 8601).'),
  attempts: z.number().int().describe('Attempts made.'),
  context: z.string().describe('Build context.'),
});

export function listBuildsTool(builds: () => Promise<BuildsApi>) {
  return defineTool({
    name: 'list_builds',
    title: 'List builds',
    description:
      'Lists recent builds on this machine, newest first, with their status, so an agent can find a build_id again.',
    inputSchema: listBuildsInputs.schema,
    outputSchema: {
      builds: z.array(buildSummarySchema).describe('Recent builds, newest first.'),
      damaged: z
        .array(
          z.object({
            build_id: z.string().describe('The build whose record cannot be read.'),
            file: z.string().describe('The damaged file.'),
            problem: z.string().describe('What is wrong with it.'),
          }),
        )
        .describe('Builds found whose record.json is damaged; their logs may still be in the same folder.'),
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false, destructiveHint: false },
    async handler(input) {
      const api = await builds();
      const { records, damaged } = await api.list(input.limit);
      const summaries = records.map((record) => ({
        build_id: record.build_id,
        status: record.status,
        phase: record.phase,
        image_name: record.image_name,
        mode: record.mode,
        created_at: record.created_at,
        attempts: record.attempt,
        context: record.context,
      }));
      const lines = summaries.map((b) => `${b.build_id} ${b.status} ${b.image_name}`);
      for (const entry of damaged) lines.push(`${entry.build_id} DAMAGED: ${entry.file}: ${entry.problem}`);
      return {
        structured: { builds: summaries, damaged },
        summary: lines.length ? lines.join('\n') : 'No builds yet.',
      };
    },
  });
}
