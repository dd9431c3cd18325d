import {
  bestCudaVariant,
  cudaMinor,
  publishedCudaVariants,
  pypiDefaultCuda,
  torchRelease,
  TORCH_RELEASES,
  variantAvailability,
  variantToCuda,
} from '../../compat/index.js';
import type { InstallCommand } from '../model.js';
import { variantEdits } from './edits.js';
import type { Resolved } from './resolve.js';
import { nearestRelease } from './support.js';
import type { DockerfileRule, RuleRun, StageState } from './types.js';

/** cuda-variant-unavailable: a CUDA build PyTorch never published for that release. */
export const cudaVariantRule: DockerfileRule = {
  name: 'cuda-variant-unavailable',
  checkResolved: ({ run, install, resolved, state }) => checkVariantAvailability(run, install, resolved, state),
};

function checkVariantAvailability(
  run: RuleRun,
  install: InstallCommand,
  resolved: Resolved[],
  state: StageState,
): void {
  const bad = resolved.filter((item) => {
    if (!item.requested || !item.torchMinor || item.dev || item.requested.how === 'conda') return false;
    if (item.unpinned) return false;
    return variantAvailability(item.torchMinor, item.requested.variant) === 'absent';
  });
  if (bad.length === 0) return;
  const first = bad.find((item) => item.pkg === 'torch') ?? bad[0]!;
  const requested = first.requested!;
  const torchMinor = first.torchMinor!;
  const published = publishedCudaVariants(torchMinor);
  const silent = requested.how === 'extra-index' || requested.how === 'find-links';
  const preferCuda = state.cuda ? cudaMinor(state.cuda.version) : variantToCuda(requested.variant);
  const target = preferCuda ? bestCudaVariant(torchMinor, preferCuda) : undefined;
  const alternatives: string[] = [];
  const withVariant = TORCH_RELEASES.filter((release) =>
    release.cuda.some((variant) => variant.variant === requested.variant && variant.status === 'published'),
  ).map((release) => release.torch);
  if (withVariant.length > 0) {
    alternatives.push(
      `keep ${requested.variant}: use torch ${nearestRelease(withVariant, torchMinor)} (releases with ${requested.variant} wheels: ${withVariant.join(', ')})`,
    );
  }
  const edits = target ? variantEdits(install, resolved, requested.variant, target) : [];
  const what = bad.map((item) => `${item.pkg}${item.request.req.spec}`).join(', ');
  run.add({
    category: 'cuda-variant-unavailable',
    severity: silent ? 'warning' : 'error',
    position: first.request.position,
    message: silent
      ? `PyTorch never published ${requested.variant} wheels for torch ${torchMinor} (${what}), so pip ignores the ${requested.ref?.text ?? requested.variant} index and silently installs the plain PyPI build${pypiDefaultCuda(torchMinor) ? ` (${pypiDefaultCuda(torchMinor)})` : ''} instead: the image gets a different CUDA build than the Dockerfile asks for.`
      : `PyTorch never published ${requested.variant} wheels for torch ${torchMinor} (${what}); pip fails with "Could not find a version that satisfies the requirement" / "No matching distribution found".`,
    evidence: [
      `torch ${torchMinor} CUDA wheels: ${published.join(', ') || 'none known'} (${torchRelease(torchMinor)?.cudaSource ?? 'S-TI-BM'})`,
      `requested: ${requested.how === 'label' ? `+${requested.variant} in the version` : `${requested.ref?.text ?? requested.variant}`}`,
    ],
    fix: target
      ? {
          description: `Use the published ${target} build${state.cuda ? ` (closest to the base image's CUDA ${state.cuda.version})` : ''}, keeping torch ${torchMinor}.`,
          edits,
          alternatives,
        }
      : undefined,
  });
}
