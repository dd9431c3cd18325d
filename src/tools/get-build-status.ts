import { z } from 'zod';
import type { BuildsApi } from '../build-model/api.js';
import { InputError } from '../util/errors.js';
import { getBuildStatusInputs, MAX_WAIT_SECONDS } from '../inputs/builds.js';
import { buildResultShape } from './build-schemas.js';
import { buildLogLink, summarizeBuild, toBuildResult } from './build-result.js';
import { defineTool } from './tool.js';

export function getBuildStatusTool(builds: () => Promise<BuildsApi>) {
  return defineTool({
    name: 'get_build_status',
    title: 'Get build status',
    description:
      'Returns a build record (status, phase, attempt, fixes, timings, image, smoke results, error) with the last log lines. ' +
      `With wait_seconds (up to ${MAX_WAIT_SECONDS}) it waits until the status or phase changes, so a few calls follow a long build. ` +
      'Builds whose server stopped are reported as interrupted.',
    inputSchema: getBuildStatusInputs.schema,
    outputSchema: {
      ...buildResultShape,
      active: z
        .boolean()
        .describe("The build's worker process is running (any server or CLI on this machine may have started it)."),
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false, destructiveHint: false },
    async handler(input, context) {
      const api = await builds();
      // A CodeBuild id (project:uuid) finds the build whose attempt it was.
      const buildId = (await api.get(input.build_id))?.build_id ?? input.build_id;
      const record = await api.waitForChange(buildId, input.wait_seconds * 1000, context.signal);
      if (!record) {
        throw new InputError(
          'build_id',
          `no build "${input.build_id}" is known here`,
          'Use list_builds to see the builds this machine knows.',
        );
      }
      const result = {
        ...(await toBuildResult(api, record, input.tail_lines)),
        active: await api.isActive(record.build_id),
      };
      return { structured: result, summary: summarizeBuild(result), links: [buildLogLink(result)] };
    },
  });
}
