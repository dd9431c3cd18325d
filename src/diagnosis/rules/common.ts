import { excerpt, findLine, type FailureScope } from '../failure-scope.js';

export function lineOf(scope: FailureScope): { dockerfileLine?: number } {
  return scope.dockerfileLine === undefined ? {} : { dockerfileLine: scope.dockerfileLine };
}

/** The first line (index and match) that one of `patterns` matches, searching the scope, then the whole log. */
export function firstMatch(
  scope: FailureScope,
  patterns: readonly RegExp[],
  where: 'scope' | 'all' = 'scope',
): { index: number; match: RegExpExecArray; lines: readonly string[] } | undefined {
  const sources = where === 'scope' ? [scope.lines, scope.allLines] : [scope.allLines];
  for (const lines of sources) {
    for (let index = 0; index < lines.length; index++) {
      for (const pattern of patterns) {
        const match = pattern.exec(lines[index]!);
        if (match) return { index, match, lines };
      }
    }
  }
  return undefined;
}

/** `lines[index]` with up to `before`/`after` neighbours, bounded like every excerpt. */
export function around(lines: readonly string[], index: number, before = 0, after = 0): string {
  return excerpt(lines, index - before, index + after);
}

/** Whether any line of the scope (or the failing instruction) matches. */
export function mentions(scope: FailureScope, pattern: RegExp): boolean {
  return pattern.test(scope.failedInstruction ?? '') || findLine(scope.allLines, pattern) >= 0;
}

/** The CUDA extension packages whose source builds fail in the same few ways. */
export const CUDA_EXTENSIONS =
  /\b(flash[-_]attn|flash[-_]attention|apex|xformers|deepspeed|bitsandbytes|mamba[-_]ssm|causal[-_]conv1d|vllm|auto[-_]gptq|detectron2|pytorch3d|kaolin|mmcv(?:[-_]full)?|torch[-_]scatter|torch[-_]sparse|tiny[-_]cuda[-_]nn|nvdiffrast|gsplat|diff[-_]gaussian[-_]rasterization|natten|groundingdino)(?![A-Za-z0-9])/i;
