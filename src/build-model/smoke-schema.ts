import { z } from 'zod';

/** Longest output_excerpt a check carries; the full output is not kept, so the tail is what matters. */
export const OUTPUT_EXCERPT_MAX_CHARS = 2_000;
export const OUTPUT_EXCERPT_MAX_LINES = 20;

export const SMOKE_CHECK_STATUSES = ['passed', 'failed', 'skipped'] as const;

export const smokeCheckSchema = z.object({
  name: z
    .string()
    .describe(
      'Which check this is: container-starts, torch-import, torchvision-import, torchaudio-import, torchvision-nms, ' +
        'fsdp-import, tensor-op, cuda-available, cuda-version, nccl, gpu-tensor-op, or command-<n> for the n-th entry ' +
        'of the `commands` input (1-based).',
    ),
  status: z
    .enum(SMOKE_CHECK_STATUSES)
    .describe(
      'passed: the check ran and succeeded. failed: it ran and did not succeed (see detail and output_excerpt). ' +
        'skipped: it did not run and says nothing about the image, e.g. CUDA checks without a GPU runtime, or torch ' +
        'checks on an image without PyTorch. Skipped is never a pass.',
    ),
  duration_ms: z.number().int().nonnegative().describe('How long the check took, in milliseconds.'),
  output_excerpt: z
    .string()
    .max(OUTPUT_EXCERPT_MAX_CHARS)
    .describe(
      `The last ${OUTPUT_EXCERPT_MAX_LINES} lines (at most ${OUTPUT_EXCERPT_MAX_CHARS} characters) of what the check ` +
        'printed: versions on success, the traceback or docker error on failure. Earlier lines are cut.',
    ),
  detail: z
    .string()
    .optional()
    .describe('One or two sentences on what the result means and, for a failure, what to change next.'),
});

export const smokeResultSchema = z.object({
  image: z.string().describe('The image that was tested, as given.'),
  platform: z
    .string()
    .optional()
    .describe('The platform the containers ran as (docker run --platform), when one platform of several was tested.'),
  passed: z
    .boolean()
    .describe('True when no check failed. Skipped checks do not fail the run, so read `checks` for what was covered.'),
  checks: z.array(smokeCheckSchema).describe('Every check in the order it ran, each with its own status.'),
  gpu_runtime: z
    .boolean()
    .describe(
      'True when the containers ran with GPUs attached (`--gpus all`, or CDI devices). False means the CUDA checks ' +
        'were skipped: Docker has no NVIDIA runtime here, or gpu was "off".',
    ),
  python: z.string().optional().describe('Path of the Python interpreter found in the image (python3, else python).'),
  python_version: z.string().optional().describe('Version of that interpreter, e.g. "3.11.2".'),
  torch_version: z.string().optional().describe('torch.__version__ inside the image, e.g. "2.7.1+cu126".'),
  torchvision_version: z.string().optional().describe('torchvision.__version__ inside the image, when installed.'),
  torchaudio_version: z.string().optional().describe('torchaudio.__version__ inside the image, when installed.'),
  cuda_version: z
    .string()
    .optional()
    .describe('CUDA version torch was built with (torch.version.cuda); absent for CPU-only builds.'),
  container_names: z
    .array(z.string())
    .describe(
      'Names of the containers the checks ran in (all started with --rm and the label dib.smoke=1, so none remain).',
    ),
  duration_ms: z.number().int().nonnegative().describe('Wall time of the whole smoke test, in milliseconds.'),
  notes: z
    .array(z.string())
    .describe('Things worth knowing that are not a check result, e.g. why the GPU checks were skipped.'),
});

export type SmokeCheckStatus = (typeof SMOKE_CHECK_STATUSES)[number];
export type SmokeCheck = z.infer<typeof smokeCheckSchema>;
export type SmokeResult = z.infer<typeof smokeResultSchema>;

/**
 * A smoke test's input, in the snake_case the MCP tool uses; src/inputs/smoke-test.ts describes the fields
 * (limits, defaults, agent-facing text) and checks that it produces this shape.
 */
export interface SmokeTestInput {
  image: string;
  commands?: string[];
  gpu?: 'auto' | 'on' | 'off';
  pytorch?: 'auto' | 'on' | 'off';
  timeout_seconds?: number;
}
