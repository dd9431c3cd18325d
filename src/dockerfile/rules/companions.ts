import { checkCompanion, companionFor, parseVersion, type TorchFamily } from '../../compat/index.js';
import type { Category } from '../categories.js';
import type { InstallCommand } from '../model.js';
import { moveCompanionEdits, repinEdits } from './edits.js';
import type { Resolved } from './resolve.js';
import { runtimeFailure, versionLabel } from './support.js';
import type { DockerfileRule, PkgState, RuleRun, StageState } from './types.js';

/**
 * torchvision-mismatch / torchaudio-mismatch: a companion pinned against another torch in the same install, and
 * companions an earlier install left behind when a later one changes torch.
 */
export const companionsRule: DockerfileRule = {
  name: 'companion-mismatch',
  checkResolved: ({ run, install, byPkg, stateTorch }) => checkCompanions(run, install, byPkg, stateTorch),
  checkUpdated: ({ run, install, changedTorch, state }) => {
    if (changedTorch) checkStaleCompanions(run, install, changedTorch, state);
  },
};

function checkCompanions(
  run: RuleRun,
  install: InstallCommand,
  byPkg: Map<TorchFamily, Resolved>,
  stateTorch: PkgState | undefined,
): void {
  const torch = byPkg.get('torch');
  for (const pkg of ['torchvision', 'torchaudio'] as const) {
    const companion = byPkg.get(pkg);
    if (!companion || companion.dev || (!companion.exact && !companion.minor)) continue;
    let torchVersion: string | null = null;
    let torchWhere = '';
    if (torch) {
      if (torch.dev) continue;
      torchVersion = torch.exact ?? torch.minor;
      torchWhere = `torch${torch.request.req.spec} in the same install`;
    } else if (stateTorch && !install.newEnv && !install.conditional) {
      torchVersion = stateTorch.exact ?? stateTorch.minor;
      torchWhere = `torch ${versionLabel(stateTorch)} from ${stateTorch.how}`;
    }
    if (!torchVersion) continue;
    const companionVersion = companion.exact ?? companion.minor!;
    const check = checkCompanion(torchVersion, pkg, companionVersion);
    if (check.status !== 'mismatch') continue;
    const expected = check.expected!;
    const edits = repinEdits(companion.request, expected, torch?.local ?? null);
    const category: Category = pkg === 'torchvision' ? 'torchvision-mismatch' : 'torchaudio-mismatch';
    const consequence = torch
      ? `pip stops with ResolutionImpossible ("${pkg} ${companionVersion} depends on torch==...") or, in separate steps, installs a ${pkg} that does not match; ${runtimeFailure(pkg)}`
      : `pip replaces the torch already in the image with the one ${pkg} ${companionVersion} pins, or leaves a mismatched pair; ${runtimeFailure(pkg)}`;
    run.add({
      category,
      severity: 'error',
      position: companion.request.position,
      message: `${pkg}${companion.request.req.spec} does not go with ${torchWhere}: ${check.reason ?? 'built for another torch release'}. ${consequence}.`,
      evidence: [
        `${torchWhere}`,
        `torch ${parseVersion(torchVersion)?.minor ?? torchVersion} pairs with ${pkg} ${expected} (${pkg === 'torchvision' ? 'S-VIS-README' : 'S-AUD-RST / S-AUD-2.11'}, patch pairs pytorch-compat.md §1a)`,
      ],
      fix: {
        description: `Pin ${pkg}==${expected}, the release built for torch ${torchVersion}.`,
        edits,
        alternatives: [`or change torch to the release ${pkg} ${companionVersion} was built for`],
      },
    });
  }
}

/** Reports (and re-pins in the state) companions installed earlier that no longer match the new torch. */
function checkStaleCompanions(run: RuleRun, install: InstallCommand, torch: Resolved, state: StageState): void {
  if (torch.dev || install.conditional) return;
  const newTorch = torch.exact ?? torch.minor;
  for (const pkg of ['torchvision', 'torchaudio'] as const) {
    const companion = state.pkgs.get(pkg);
    if (!companion || companion.install === install || companion.origin === 'base') continue;
    if (companion.origin !== 'install' || !companion.request || !companion.install) continue;
    let mismatch = false;
    let reason = '';
    if (companion.unpinned) {
      mismatch = true;
      reason = `${pkg} was installed unpinned on line ${companion.position?.line}, which installs the newest ${pkg} together with the torch it needs; this install then replaces torch with ${torch.request.req.spec.replace(/^==/, '')}`;
    } else if (newTorch && (companion.exact || companion.minor)) {
      const check = checkCompanion(newTorch, pkg, companion.exact ?? companion.minor!);
      if (check.status === 'mismatch') {
        mismatch = true;
        reason = `${pkg} ${versionLabel(companion)} was installed on line ${companion.position?.line}; ${check.reason}`;
      }
    }
    if (!mismatch || !newTorch) continue;
    const expected = companionFor(torch.exact ?? `${torch.minor}.0`, pkg);
    if (!expected) continue;
    const version = (torch.exact ? expected.exact : null) ?? `${expected.minor}.*`;
    const label = torch.local && !version.endsWith('*') ? `+${torch.local}` : '';
    const edits = moveCompanionEdits(
      run.model.sources,
      companion.request,
      companion.install,
      torch.request,
      `${pkg}==${version}${label}`,
    );
    run.add({
      category: pkg === 'torchvision' ? 'torchvision-mismatch' : 'torchaudio-mismatch',
      severity: 'error',
      position: companion.request.position,
      message: `${reason} (line ${torch.request.position.line}). The image ends up with a ${pkg} built for a different torch${torch.variant && companion.variant !== torch.variant ? ` and CUDA build` : ''}; ${runtimeFailure(pkg)}.`,
      evidence: [
        `${pkg}: ${companion.how}`,
        `torch: ${torch.request.req.name}${torch.request.req.spec} on line ${torch.request.position.line}`,
      ],
      fix: {
        description: `Install ${pkg}==${version}${label} in the same command as torch (same index), instead of separately.`,
        edits,
        alternatives: [`pin ${pkg}==${version} where it is installed now and use the same index as torch`],
      },
    });
    state.pkgs.set(pkg, { ...companion, exact: expected.exact, minor: expected.minor, variant: torch.variant });
  }
}
