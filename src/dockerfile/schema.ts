import { z } from 'zod';
import { CATEGORIES } from './categories.js';

/**
 * The result of analyze_dockerfile / `docker-image-builder analyze`: an MCP structuredContent and CLI JSON contract.
 * Field names are snake_case. Lines and columns are 1-based; end columns are exclusive.
 */

export const severitySchema = z
  .enum(['error', 'warning', 'info'])
  .describe(
    'error: the build fails or the image cannot use the GPU / a package; warning: likely wrong or wasteful; info: worth knowing',
  );

export const categorySchema = z
  .enum(CATEGORIES)
  .describe(
    'What kind of problem: torchvision-mismatch, torchaudio-mismatch, cuda-variant-unavailable, mixed-cuda-variants, cuda-base-mismatch, torch-replaced, python-unsupported, base-tag-invalid, cpu-wheel-on-gpu-base, gpu-arch-unsupported, pip-no-cache-dir, python-missing, requirements-file-missing, index-url-invalid, secret-in-arg-or-env',
  );

export const textEditSchema = z
  .object({
    file: z.string().describe('File to edit, relative to the build context (the Dockerfile or a requirements file)'),
    start_line: z.number().int().positive().describe('1-based line where the replaced text starts'),
    start_column: z.number().int().positive().describe('1-based column where the replaced text starts'),
    end_line: z.number().int().positive().describe('1-based line where the replaced text ends'),
    end_column: z
      .number()
      .int()
      .positive()
      .describe('1-based column after the last replaced character (exclusive); equal to start for an insertion'),
    new_text: z
      .string()
      .describe('Replacement text; only these characters change, the rest of the line stays as written'),
  })
  .describe('A minimal, line-preserving edit');

export const fixSchema = z
  .object({
    description: z
      .string()
      .describe(
        'What the fix does and why this option was chosen (keeps your torch version and the base image CUDA where possible)',
      ),
    edits: z
      .array(textEditSchema)
      .optional()
      .describe('Edits that apply the fix; absent when the fix needs a decision only you can make'),
    alternatives: z
      .array(z.string())
      .optional()
      .describe('Other fixes that would also work, e.g. a different torch release or base image'),
  })
  .describe('How to fix the finding');

export const findingSchema = z
  .object({
    category: categorySchema,
    severity: severitySchema,
    file: z
      .string()
      .describe('File the finding points at, relative to the build context (the Dockerfile or a requirements file)'),
    line: z.number().int().positive().describe('1-based line in that file'),
    column: z.number().int().positive().optional().describe('1-based column in that line'),
    message: z.string().describe('What is wrong, why, and what happens at build or run time'),
    evidence: z
      .array(z.string())
      .describe('The facts the finding rests on, with source keys from the compatibility data (e.g. S-TI-BM)'),
    fix: fixSchema.optional(),
  })
  .describe('One problem found in the Dockerfile or a file it installs from');

const sourcedValueSchema = z
  .object({
    version: z.string().describe('The detected version, e.g. "12.1.0" or "3.10"'),
    source: z
      .string()
      .describe(
        'Where it was detected, e.g. "base image nvidia/cuda:12.1.0-devel-ubuntu22.04 tag" or "apt-get install python3 on ubuntu22.04"',
      ),
  })
  .describe('A detected version and where it came from');

export const packageInfoSchema = z
  .object({
    version: z
      .string()
      .nullable()
      .describe(
        'Exact version ("2.7.1"), a release line ("2.7.x"), or null when unknown (unpinned, NGC build, unresolved ARG)',
      ),
    cuda_variant: z
      .string()
      .nullable()
      .describe('Wheel build: "cu128", "cpu", "rocm6.2"...; null when it cannot be known'),
    variant_source: z
      .string()
      .nullable()
      .describe('How the build variant was determined (index URL, +cuXXX label, base image tag, PyPI default)'),
    source: z.string().describe('Where the package comes from: base image, or an install with file:line'),
    file: z.string().optional().describe('File of the install that provides it'),
    line: z.number().int().positive().optional().describe('Line of that install'),
    pinned: z.boolean().describe('False when installed without a version (whatever is newest at build time)'),
  })
  .describe('A torch-family package as it ends up in the image');

export const stageSchema = z
  .object({
    index: z.number().int().nonnegative().describe('0-based stage index'),
    name: z.string().nullable().describe('Stage name from FROM ... AS <name>'),
    line: z.number().int().positive().describe('Line of the FROM instruction'),
    base: z
      .string()
      .describe(
        'Base image after ARG substitution, or the stage it builds on; "<unresolved>" marks an ARG without a value',
      ),
    from_stage: z.string().nullable().describe('Name of the earlier stage this one builds on (FROM <stage>)'),
  })
  .describe('A build stage');

export const stackSchema = z
  .object({
    final_stage: z
      .object({ index: z.number().int().nonnegative(), name: z.string().nullable(), line: z.number().int().positive() })
      .nullable()
      .describe('The stage `docker build` produces by default (the last one)'),
    platform: z.string().describe('Target platform assumed for TARGETPLATFORM/TARGETARCH (override with build_args)'),
    stages: z.array(stageSchema).describe('All stages in file order'),
    base_image: z
      .object({
        image: z
          .string()
          .nullable()
          .describe(
            'Base image of the final stage (following FROM <stage> to the external image); null when an ARG has no value',
          ),
        as_written: z.string().describe('The FROM argument as written in the Dockerfile'),
        line: z.number().int().positive().describe('Line of that FROM'),
        family: z
          .string()
          .describe('nvidia-cuda, pytorch, ngc-pytorch, aws-dlc, python, ubuntu, debian, conda, other, or unresolved'),
        overridden_from: z.string().optional().describe('The original base image when base_image was overridden'),
        unresolved_args: z.array(z.string()).describe('ARGs used in FROM that have no value; pass them in build_args'),
      })
      .nullable()
      .describe('Base image of the final stage'),
    cuda: sourcedValueSchema
      .nullable()
      .describe('CUDA toolkit in the final image (from the base image or a stage copy)'),
    cudnn: sourcedValueSchema.nullable().describe('cuDNN as stated by the base image tag'),
    python: sourcedValueSchema.nullable().describe('Python of the final image'),
    torch: packageInfoSchema.nullable(),
    torchvision: packageInfoSchema.nullable(),
    torchaudio: packageInfoSchema.nullable(),
    driver_min: z
      .object({ cuda: z.string(), linux_driver: z.string() })
      .nullable()
      .describe('Minimum Linux host driver for the CUDA build torch uses (S-NV-RN)'),
    target_gpu: z
      .object({ input: z.string(), compute_capability: z.string() })
      .nullable()
      .describe('The target_gpu that was checked, as understood'),
  })
  .describe('What was detected about the image, so you can reason beyond the findings');

export const fixedFileSchema = z
  .object({
    file: z.string().describe('File relative to the build context'),
    new_text: z.string().describe('The complete fixed file text'),
    diff: z.string().describe('Unified diff from the original'),
  })
  .describe('A file the fixes changed');

export const analysisResultSchema = z
  .object({
    dockerfile: z.string().describe('The analysed Dockerfile, relative to the build context'),
    context: z.string().optional().describe('Absolute path of the build context (file-based analysis only)'),
    findings: z.array(findingSchema).describe('Problems found, errors first; at most 200'),
    summary: z
      .object({
        errors: z.number().int().nonnegative(),
        warnings: z.number().int().nonnegative(),
        infos: z.number().int().nonnegative(),
        truncated: z.boolean().describe('True when findings were cut at 200'),
      })
      .describe('Counts by severity (before truncation)'),
    stack: stackSchema,
    notes: z
      .array(z.string())
      .describe('Things that could not be analysed (remote or generated requirement files, ARGs without values)'),
    fixed: z
      .object({
        files: z
          .array(fixedFileSchema)
          .describe('Each changed file with its new text and diff; empty when nothing needed fixing'),
        applied: z
          .array(
            z.object({
              category: categorySchema,
              file: z.string(),
              line: z.number().int().positive(),
              description: z.string(),
            }),
          )
          .describe('The fixes that were applied'),
        remaining_findings: z.array(findingSchema).describe('Findings of the fixed files when analysed again'),
        alternatives: z.array(z.string()).describe('Other fixes that would also have worked'),
      })
      .optional()
      .describe('Present when fix was requested'),
    written: z
      .array(
        z.object({
          file: z.string(),
          backup: z.string().describe('Backup of the original, relative to the build context'),
        }),
      )
      .optional()
      .describe('Files written to disk (only with write: true)'),
  })
  .describe('analyze_dockerfile result');

export type Finding = z.infer<typeof findingSchema>;
export type FixOutput = z.infer<typeof fixSchema>;
export type TextEditOutput = z.infer<typeof textEditSchema>;
export type Stack = z.infer<typeof stackSchema>;
export type PackageInfo = z.infer<typeof packageInfoSchema>;
export type AnalysisResult = z.infer<typeof analysisResultSchema>;
