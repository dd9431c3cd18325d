import type { BuildsApi } from '../build-model/api.js';
import { analysisResultSchema, type AnalysisResult } from '../dockerfile/schema.js';
import { analyzeDockerfileInputs, toAnalyzeOptions } from '../inputs/analyze-dockerfile.js';
import { defineTool } from './tool.js';

export function summarizeAnalysis(result: AnalysisResult): string {
  const { errors, warnings, infos } = result.summary;
  const top = result.findings
    .filter((finding) => finding.severity === 'error')
    .slice(0, 3)
    .map((finding) => `${finding.file}:${finding.line} ${finding.category}: ${finding.message.split('. ')[0]}`);
  const fixed = result.fixed
    ? ` Fixes: ${result.fixed.applied.length} applied to ${result.fixed.files.length} file(s); ${result.fixed.remaining_findings.filter((f) => f.severity === 'error').length} error(s) remain.`
    : '';
  const written = result.written?.length
    ? ` Written: ${result.written.map((w) => `${w.file} (backup ${w.backup})`).join(', ')}.`
    : '';
  const stack = [
    result.stack.base_image?.image ? `base ${result.stack.base_image.image}` : undefined,
    result.stack.torch?.version ? `torch ${result.stack.torch.version}` : undefined,
    result.stack.cuda?.version ? `CUDA ${result.stack.cuda.version}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  return `${errors} error(s), ${warnings} warning(s), ${infos} info(s)${stack ? ` (${stack})` : ''}.${top.length ? ` ${top.join(' | ')}.` : ''}${fixed}${written}`;
}

export function analyzeDockerfileTool(builds?: () => Promise<Pick<BuildsApi, 'imagePlatforms'>>) {
  return defineTool({
    name: 'analyze_dockerfile',
    title: 'Analyze Dockerfile',
    description:
      'Finds PyTorch/CUDA/Python/base-image conflicts in a Dockerfile and the requirement files it copies in, before anything is built: ' +
      'torchvision/torchaudio pinned for another torch, CUDA wheel variants that do not exist, torch and companions from different CUDA builds, ' +
      'torch CUDA vs base-image CUDA, torch replaced by a later install, unsupported Python, impossible pytorch/pytorch or nvidia/cuda tags, CPU wheels on GPU bases, ' +
      "missing kernels for a target GPU, base images for another platform than the build's, and pip caches left in layers. Each finding has the file, line, why, and a fix. " +
      'With fix it returns the fixed texts and a diff; it writes files only with write (atomically, with a backup). Runs in milliseconds.',
    inputSchema: analyzeDockerfileInputs.schema,
    outputSchema: analysisResultSchema.shape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handler(input) {
      const { analyzeDockerfile } = await import('../dockerfile/analyze.js');
      const result = await analyzeDockerfile({
        ...toAnalyzeOptions(input),
        // Only with a platform: the local base images' platforms, for the platform guard.
        ...(builds
          ? { inspectImagePlatforms: async (refs: string[]) => (await builds()).imagePlatforms(refs, false) }
          : {}),
      });
      return { structured: result, summary: summarizeAnalysis(result) };
    },
  });
}
