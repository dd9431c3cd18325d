import { checkCompanion, compareDotted, variantToCuda } from '../../compat/index.js';
import type { InstallCommand } from '../model.js';
import { labelEdits } from './edits.js';
import type { DockerfileRule, Edit, RuleRun, StageState } from './types.js';

/** mixed-cuda-variants: torch and a companion from different CUDA builds. */
export const mixedVariantsRule: DockerfileRule = {
  name: 'mixed-cuda-variants',
  checkUpdated: ({ run, install, state }) => checkMixedVariants(run, install, state),
};

function checkMixedVariants(run: RuleRun, install: InstallCommand, state: StageState): void {
  const torch = state.pkgs.get('torch');
  if (!torch?.variant || torch.origin === 'implicit') return;
  for (const pkg of ['torchvision', 'torchaudio'] as const) {
    const companion = state.pkgs.get(pkg);
    if (!companion?.variant || companion.variant === torch.variant) continue;
    if (companion.install !== install && torch.install !== install) continue;
    // base-image companions under a replaced torch are reported by torch-replaced
    if (companion.origin === 'base') continue;
    // a companion of another release is reported as a version mismatch; its build follows once it is re-pinned
    const torchVersion = torch.exact ?? torch.minor;
    const companionVersion = companion.exact ?? companion.minor;
    if (torchVersion && companionVersion && checkCompanion(torchVersion, pkg, companionVersion).status === 'mismatch')
      continue;
    if (pkg === 'torchaudio' && companion.minor && compareDotted(companion.minor, '2.11') >= 0) {
      const a = variantToCuda(companion.variant);
      const b = variantToCuda(torch.variant);
      if (a && b && a.split('.')[0] === b.split('.')[0]) continue; // torchaudio >= 2.11.1 only checks the major
    }
    const a = variantToCuda(companion.variant);
    const b = variantToCuda(torch.variant);
    const majorDiffers = !a || !b || a.split('.')[0] !== b.split('.')[0];
    const later = companion.install === install ? companion : torch;
    const edits: Edit[] = [];
    if (companion.install === install && companion.request && companion.local && companion.request.req.versionRange) {
      edits.push(...labelEdits(companion.request, companion.local, torch.variant));
    }
    run.add({
      category: 'mixed-cuda-variants',
      severity: majorDiffers ? 'error' : 'warning',
      position: later.position ?? install.position,
      message: `torch is the ${torch.variant} build (${torch.variantHow}) but ${pkg} is the ${companion.variant} build (${companion.variantHow}). ${pkg} checks this at import: "Detected that PyTorch and ${pkg} were compiled with different CUDA ${majorDiffers ? 'major ' : ''}versions" and its CUDA ops do not load.`,
      evidence: [`torch: ${torch.how}`, `${pkg}: ${companion.how}`],
      fix: {
        description: `Install ${pkg} from the same index as torch (${torch.variant}), in the same command.`,
        edits,
        alternatives: [],
      },
    });
  }
}
