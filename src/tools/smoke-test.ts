import type { BuildsApi } from '../build-model/api.js';
import { smokeResultSchema } from '../build-model/smoke-schema.js';
import { smokeTestInputs, toSmokeTestInput } from '../inputs/smoke-test.js';
import { defineTool } from './tool.js';

export function smokeTestTool(builds: () => Promise<BuildsApi>) {
  return defineTool({
    name: 'smoke_test',
    title: 'Smoke-test image',
    description:
      'Proves an image runs: the container starts; for PyTorch images torch/torchvision/torchaudio import with matching versions, ' +
      'torchvision.ops.nms runs, torch.distributed.fsdp imports and a tensor op works; with a GPU runtime, CUDA, NCCL and a GPU op ' +
      '(skipped, not passed, without one); and each of your commands exits 0. Containers are removed afterwards.',
    inputSchema: smokeTestInputs.schema,
    outputSchema: smokeResultSchema.shape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handler(input, context) {
      const api = await builds();
      const result = await api.smokeTest(toSmokeTestInput(input), context.signal);
      const failed = result.checks.filter((check) => check.status === 'failed').map((check) => check.name);
      const skipped = result.checks.filter((check) => check.status === 'skipped').length;
      const summary = result.passed
        ? `Smoke test of ${result.image} passed (${result.checks.length - skipped} checks passed, ${skipped} skipped).`
        : `Smoke test of ${result.image} failed: ${failed.join(', ')}. Read each failed check's detail and output_excerpt.`;
      return { structured: result, summary, isError: !result.passed };
    },
  });
}
