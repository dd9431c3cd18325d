import {
  companionFor,
  cudaMinor,
  cudaToVariant,
  parseVersion,
  torchRelease,
  variantToCuda,
  type Companion,
  type TorchFamily,
} from '../../compat/index.js';
import type { InstallCommand } from '../model.js';
import type { Position } from '../text.js';
import { insertPinEdits, replaceTagEdits } from './edits.js';
import type { Resolved } from './resolve.js';
import { pickClosest, rootStage, versionLabel } from './support.js';
import type { DockerfileRule, PkgState, RawFinding, RuleRun, Severity, StageState } from './types.js';

/** torch-replaced: an install that replaces the torch already in the stage (base image, earlier install). */
export const torchReplacedRule: DockerfileRule = {
  name: 'torch-replaced',
  checkResolved: ({ run, install, byPkg, state }) => {
    if (!install.conditional) checkReplacement(run, install, byPkg, state);
  },
};

function checkReplacement(
  run: RuleRun,
  install: InstallCommand,
  byPkg: Map<TorchFamily, Resolved>,
  state: StageState,
): void {
  if (install.newEnv) return;
  const existing = state.pkgs.get('torch');
  if (!existing || existing.origin === 'implicit') return;
  const torch = byPkg.get('torch');
  const where = existing.how;
  const current = existing.vendor
    ? `NVIDIA's own torch build in ${where}`
    : `the torch ${versionLabel(existing)} from ${where}`;
  const upgradeFlag = install.upgrade ? '-U/--upgrade' : install.forceReinstall ? '--force-reinstall' : null;
  const baseCompanions = ['torchvision', 'torchaudio'].filter(
    (pkg) => state.pkgs.get(pkg as Companion)?.origin === 'base' && !byPkg.has(pkg as Companion),
  );
  const companionNote =
    baseCompanions.length > 0
      ? ` The ${baseCompanions.join(' and ')} from the base image stay and no longer match.`
      : '';
  if (torch) {
    if (torch.dev) {
      run.add(
        replaced(
          'warning',
          torch.request.position,
          `This installs a pre-release torch from ${install.indexUrl?.text ?? 'a nightly index'} over ${current}${upgradeFlag ? ` (${upgradeFlag})` : ''}: the image carries two torch builds in its layers and anything built against the first one (NVIDIA/DLC extensions, apex, transformer-engine) may break.${companionNote}`,
          [`existing torch: ${where}`],
        ),
      );
      return;
    }
    if (torch.unpinned) {
      if (upgradeFlag) {
        run.add(
          replaced(
            'warning',
            torch.request.position,
            `Unpinned torch with ${upgradeFlag} replaces ${current} with whatever is newest on the index at build time, so the image's torch changes from build to build.${companionNote}`,
            [`existing torch: ${where}`],
          ),
        );
      }
      return;
    }
    if (!torch.exact && !torch.minor) return;
    const sameRelease = existing.exact !== null && torch.exact !== null && existing.exact === torch.exact;
    if (sameRelease) {
      if (torch.local && existing.origin === 'base') {
        run.add({
          ...replaced(
            'info',
            torch.request.position,
            `torch${torch.request.req.spec} is the same release as the torch in ${where}, but the +${torch.local} label makes pip download and install it again (pip compares the local label too), adding a second copy of torch to the image layers.`,
            [`existing torch: ${where}`],
          ),
          fix: {
            description: `Drop the torch install (the base image already has torch ${existing.exact}), or pin without the +${torch.local} label.`,
            edits: [],
            alternatives: [],
          },
        });
      }
      return;
    }
    if (existing.vendor) {
      run.add(
        replaced(
          'warning',
          torch.request.position,
          `torch${torch.request.req.spec} replaces NVIDIA's own torch build in ${where}: the image gets a second torch (gigabytes) and NVIDIA's extensions compiled against their build (apex, transformer-engine, flash-attn) may stop loading.${companionNote}`,
          [`existing torch: ${where}`],
        ),
      );
      return;
    }
    if (torch.exact && existing.exact && parseVersion(torch.exact)?.base === parseVersion(existing.exact)?.base) return;
    const fix = baseTagFixForTorch(install, torch, existing);
    run.add({
      ...replaced(
        'warning',
        torch.request.position,
        `torch${torch.request.req.spec} replaces ${current}: the image carries both in its layers${existing.variant && torch.variant && existing.variant !== torch.variant ? `, and the CUDA build changes from ${existing.variant} to ${torch.variant}` : torch.variant ? '' : ', and the replacement comes from PyPI with its own CUDA build'}.${companionNote}`,
        [
          `existing torch: ${where}`,
          `requested: torch${torch.request.req.spec} on ${torch.request.viaFile ?? run.dockerfile}:${torch.request.position.line}`,
        ],
      ),
      fix,
    });
    return;
  }
  if (!upgradeFlag) return;
  for (const pkg of ['torchvision', 'torchaudio'] as const) {
    const companion = byPkg.get(pkg);
    if (!companion || !companion.unpinned) continue;
    const expected = existing.exact
      ? companionFor(existing.exact, pkg)
      : existing.minor
        ? companionFor(`${existing.minor}.0`, pkg)
        : undefined;
    const version = expected ? ((existing.exact ? expected.exact : null) ?? `${expected.minor}.*`) : null;
    const edits = version ? insertPinEdits(companion.request, `==${version}`) : [];
    run.add({
      ...replaced(
        'warning',
        companion.request.position,
        `${pkg} without a version and with ${upgradeFlag} upgrades ${pkg} to its newest release, and because every ${pkg} release pins one exact torch, pip also replaces ${current} with the newest torch.`,
        [`existing torch: ${where}`, `${pkg} releases pin torch exactly (pytorch-compat.md §5a)`],
      ),
      fix: version
        ? {
            description: `Pin ${pkg}==${version} so it matches the torch already installed.`,
            edits,
            alternatives: [`install ${pkg} in the same command as torch`],
          }
        : undefined,
    });
  }
}

function replaced(severity: Severity, position: Position, message: string, evidence: string[]): RawFinding {
  return { category: 'torch-replaced', severity, position, message, evidence };
}

function baseTagFixForTorch(install: InstallCommand, torch: Resolved, existing: PkgState): RawFinding['fix'] {
  const alternatives = [
    `drop the torch pin and use the torch ${versionLabel(existing)} of the base image (pin companions to match it)`,
  ];
  const root = rootStage(install.stage);
  const facts = root.facts;
  if (existing.origin !== 'base' || facts?.family !== 'pytorch' || !facts.cuda || !torch.exact) {
    return {
      description:
        "Install torch in one place only: either use the base image's torch or pick a base image without torch.",
      edits: [],
      alternatives,
    };
  }
  const release = torchRelease(torch.minor ?? '');
  const baseCuda = cudaMinor(facts.cuda);
  const torchCuda = torch.variant ? variantToCuda(torch.variant) : null;
  const dockerCuda = release?.dockerCuda ?? [];
  const cuda = dockerCuda.includes(baseCuda ?? '')
    ? baseCuda
    : torchCuda && dockerCuda.includes(torchCuda)
      ? torchCuda
      : variantToCuda(
          pickClosest(
            dockerCuda.map((value) => cudaToVariant(value)!),
            baseCuda,
          ) ?? '',
        );
  if (!release?.dockerCudnn || !cuda) {
    return {
      description: `No pytorch/pytorch tag for torch ${torch.exact} is known; use the base image's torch or a base image without torch.`,
      edits: [],
      alternatives,
    };
  }
  const tag = `${torch.exact}-cuda${cuda}-cudnn${release.dockerCudnn}-${facts.flavor ?? 'runtime'}`;
  const edits = replaceTagEdits(root, tag);
  return {
    description: `Use the base image built for torch ${torch.exact}: pytorch/pytorch:${tag}${cuda !== baseCuda ? ` (torch ${torch.minor} images have no CUDA ${baseCuda})` : ''}.`,
    edits,
    alternatives,
  };
}
