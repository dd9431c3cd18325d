import { z } from 'zod';
import { diagnoseBuildLogInputs } from '../inputs/diagnose-build-log.js';
import { defineTool } from './tool.js';

const LOG_FORMS = [
  'buildkit-plain',
  'buildkit-error-summary',
  'buildx-rawjson',
  'legacy',
  'compose',
  'github-actions',
  'codebuild',
  'fragment',
] as const;

const diagnosisSchema = z.object({
  kind: z
    .string()
    .describe('Failure kind, e.g. pip-resolution-impossible, cuda-home-missing, runtime-libgl-missing, unknown.'),
  summary: z.string().describe('One sentence naming the specifics: packages, versions, image, line.'),
  dockerfile_line: z.number().int().optional().describe('1-based Dockerfile line of the failing instruction.'),
  excerpt: z.string().describe('The few log lines that show it.'),
  fixable: z.boolean().describe('The fix can be applied without a human decision (build_image applies it itself).'),
  fix: z
    .looseObject({ action: z.string().describe('What kind of change, e.g. repin, dockerfile-edit, retry.') })
    .optional()
    .describe('The structured change that should fix it; `edit` holds a Dockerfile text edit when there is one.'),
  next_step: z.string().describe('What to do next.'),
});

export function diagnoseBuildLogTool() {
  return defineTool({
    name: 'diagnose_build_log',
    title: 'Diagnose build log',
    description:
      'Explains why a Docker build (or a container run) failed, from its log, with the engine build_image uses for its fixes: ' +
      'pip/conda conflicts (names the torch/torchvision versions), CUDA extension builds (flash-attn, apex, xformers, nvcc, CUDA_HOME), ' +
      'apt (NVIDIA key, tzdata, missing packages), base images, Docker itself, and runtime errors (torchvision ops, no kernel image, driver, ' +
      '/dev/shm, libGL, NumPy 2). Reads any common form: legacy or BuildKit output, error summaries, buildx rawjson, docker compose, ' +
      'GitHub Actions and CodeBuild logs, pasted fragments. With the Dockerfile it names the failing line and gives edits. Reads only.',
    inputSchema: diagnoseBuildLogInputs.schema,
    outputSchema: {
      diagnoses: z.array(diagnosisSchema).describe('Most likely root cause first; empty when the log shows a success.'),
      log_forms: z
        .array(z.enum(LOG_FORMS))
        .describe('The forms the log came in, outer first (e.g. github-actions, legacy).'),
      truncated_to_bytes: z.number().int().optional().describe('Only the last this many bytes/characters were read.'),
    },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handler(input) {
      // The diagnosis engine (and the Dockerfile parser under it) loads on first use, not at server start.
      const { diagnoseLog, summarizeDiagnoses } = await import('../diagnosis/report.js');
      const result = await diagnoseLog({
        ...(input.log === undefined ? {} : { log: input.log }),
        ...(input.log_file === undefined ? {} : { logFile: input.log_file }),
        ...(input.dockerfile === undefined ? {} : { dockerfile: input.dockerfile }),
        ...(input.dockerfile_path === undefined ? {} : { dockerfilePath: input.dockerfile_path }),
      });
      return { structured: result, summary: summarizeDiagnoses(result) };
    },
  });
}
