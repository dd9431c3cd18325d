import { z } from 'zod';
import type { BuildsApi } from '../build-model/api.js';
import { BUILD_STATUSES } from '../build-model/record-schema.js';
import { InputError } from '../util/errors.js';
import { cancelBuildInputs } from '../inputs/builds.js';
import { defineTool } from './tool.js';

export function cancelBuildTool(builds: () => Promise<BuildsApi>) {
  return defineTool({
    name: 'cancel_build',
    title: 'Cancel build',
    description:
      'Stops a running build (the docker build and any smoke-test container) within seconds and marks it cancelled.',
    inputSchema: cancelBuildInputs.schema,
    outputSchema: {
      build_id: z.string().describe('The build.'),
      cancelled: z.boolean().describe('True when this call stopped it; false when it had already ended.'),
      status: z.enum(BUILD_STATUSES).describe('Status after the call.'),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async handler(input) {
      const api = await builds();
      const before = await api.get(input.build_id);
      if (!before) {
        throw new InputError(
          'build_id',
          `no build "${input.build_id}" is known here`,
          'Use list_builds to see the builds this machine knows.',
        );
      }
      const cancelled = await api.cancel(input.build_id);
      const after = (await api.get(input.build_id)) ?? before;
      const summary = cancelled
        ? `Build ${input.build_id} cancelled.`
        : `Build ${input.build_id} was not running (status ${after.status}); nothing to cancel.`;
      return { structured: { build_id: input.build_id, cancelled, status: after.status }, summary };
    },
  });
}
