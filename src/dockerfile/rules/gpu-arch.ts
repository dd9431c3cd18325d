import {
  archSupport,
  cudaMinor,
  publishedCudaVariants,
  torchRelease,
  TORCH_RELEASES,
  variantToCuda,
} from '../../compat/index.js';
import type { Stage } from '../model.js';
import { replaceTagEdits, variantEdits } from './edits.js';
import { familyName, resolveRequest } from './resolve.js';
import { pickClosest, rootStage } from './support.js';
import type { DockerfileRule, Edit, PkgState, RawFinding, RuleRun } from './types.js';

/** gpu-arch-unsupported: the final stage's torch has no kernels for the target GPU. */
export const gpuArchRule: DockerfileRule = {
  name: 'gpu-arch-unsupported',
  checkFinal: checkGpuArch,
};

function checkGpuArch(run: RuleRun): void {
  const { model, states, targetGpu } = run;
  const finalStage = model.stages[model.stages.length - 1];
  if (!targetGpu || !finalStage) return;
  const state = states.get(finalStage);
  const torch = state?.pkgs.get('torch');
  if (!torch?.variant || !torch.variant.startsWith('cu')) return;
  const support = archSupport(torch.variant, targetGpu.capability);
  if (support.status !== 'unsupported') return;
  const candidates = torch.minor
    ? publishedCudaVariants(torch.minor).filter(
        (variant) => archSupport(variant, targetGpu.capability).status === 'supported',
      )
    : [];
  const target =
    candidates.length > 0 && torch.minor
      ? pickClosest(candidates, state?.cuda ? cudaMinor(state.cuda.version) : variantToCuda(torch.variant))
      : undefined;
  const edits = target ? switchEdits(torch, torch.variant, target, finalStage) : [];
  const newer = TORCH_RELEASES.filter((release) =>
    release.cuda.some(
      (variant) =>
        variant.status === 'published' && archSupport(variant.variant, targetGpu.capability).status === 'supported',
    ),
  ).map((release) => release.torch);
  run.add({
    category: 'gpu-arch-unsupported',
    severity: 'error',
    position: torch.position ?? { file: run.dockerfile, line: finalStage.line, column: 1 },
    message: `The ${torch.variant} build of torch${torch.minor ? ` ${torch.minor}` : ''} has no kernels for ${targetGpu.label} (compute capability ${targetGpu.capability}); on that GPU every CUDA op fails with "no kernel image is available for execution on the device".`,
    evidence: [
      support.archs
        ? `${torch.variant} wheels carry sm ${support.archs.join(', ')} (${support.source})`
        : `${torch.variant} wheels carry no kernels above compute capability 9.0 (${support.source})`,
      `torch: ${torch.how}`,
    ],
    fix: target
      ? {
          description: `Use the ${target} build of torch ${torch.minor}, which has kernels for compute capability ${targetGpu.capability}.`,
          edits,
          alternatives:
            target && state?.cuda
              ? [`also move the base image to CUDA ${variantToCuda(target)} to keep them aligned`]
              : [],
        }
      : fixWithNewerTorch(torch, newer),
  });
}

/** Edits that move torch from `variant` to `target`: in the install that put it there, or in a pytorch/pytorch tag. */
function switchEdits(torch: PkgState, variant: string, target: string, finalStage: Stage): Edit[] {
  if (torch.install) {
    const install = torch.install;
    const resolved = install.requests
      .filter((item) => familyName(item.req.name))
      .map((item) => resolveRequest(install, item, []));
    return variantEdits(install, resolved, variant, target);
  }
  if (torch.origin !== 'base') return [];
  const root = rootStage(finalStage);
  const release = torchRelease(torch.minor ?? '');
  const cuda = variantToCuda(target);
  if (root.facts?.family === 'pytorch' && release?.dockerCuda?.includes(cuda ?? '') && torch.exact) {
    return replaceTagEdits(
      root,
      `${torch.exact}-cuda${cuda}-cudnn${release.dockerCudnn}-${root.facts.flavor ?? 'runtime'}`,
    );
  }
  return [];
}

function fixWithNewerTorch(torch: PkgState, newer: string[]): RawFinding['fix'] {
  if (newer.length === 0) return undefined;
  return {
    description: `No torch ${torch.minor ?? ''} build supports this GPU; torch ${newer[0]} or later has kernels for it.`,
    edits: [],
    alternatives: [],
  };
}
