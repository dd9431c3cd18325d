import { companionFor, type TorchFamily } from '../../compat/index.js';
import { satisfies, validRange } from '@renovatebot/pep440';
import type { InstallCommand, StageEvent } from '../model.js';
import { stageStart } from './context.js';
import { familyName, resolveRequest, type Resolved } from './resolve.js';
import { versionLabel } from './support.js';
import type { DockerfileRule, InstallStep, ResolvedStep, RuleRun, StageState } from './types.js';

/**
 * Walks every stage's events in Dockerfile order, keeping what each stage has installed (torch family, Python,
 * CUDA) in run.states, and calls the rules' install hooks on the way.
 */
export function simulateStages(run: RuleRun, rules: readonly DockerfileRule[]): void {
  for (const stage of run.model.stages) {
    const state = stageStart(run, stage);
    const reported = new Set<string>();
    const firstInStage = (key: string): boolean => {
      if (reported.has(key)) return false;
      reported.add(key);
      return true;
    };
    for (const event of stage.events) {
      if (event.kind === 'install') processInstall(rules, { run, stage, state, install: event.install, firstInStage });
      else applyEvent(run, state, event);
    }
    run.states.set(stage, state);
  }
}

/** Events other than installs: they change the stage's Python, CUDA or packages without a finding of their own. */
function applyEvent(run: RuleRun, state: StageState, event: Exclude<StageEvent, { kind: 'install' }>): void {
  switch (event.kind) {
    case 'python':
      state.python = { version: event.version, how: event.how, position: event.position, span: event.span ?? null };
      break;
    case 'python-provider':
      state.pythonProvided = true;
      break;
    case 'stage-copy': {
      const source = run.states.get(event.from);
      if (source && event.python) {
        for (const [pkg, value] of source.pkgs)
          state.pkgs.set(pkg, {
            ...value,
            origin: 'stage-copy',
            how: `${value.how}, copied from stage ${event.from.name ?? event.from.index}`,
          });
        if (source.python) state.python = source.python;
      }
      if (source && event.cuda && source.cuda)
        state.cuda = {
          ...source.cuda,
          how: `${source.cuda.how}, copied from stage ${event.from.name ?? event.from.index}`,
        };
      break;
    }
    case 'uninstall':
      for (const name of event.names) {
        const pkg = familyName(name);
        if (pkg) state.pkgs.delete(pkg);
      }
      break;
  }
}

function processInstall(rules: readonly DockerfileRule[], step: InstallStep): void {
  const { install, state } = step;
  for (const rule of rules) rule.checkInstall?.(step);

  const constraints = install.requests.filter((request) => request.constraint && familyName(request.req.name));
  const resolved = install.requests
    .filter((request) => !request.constraint && familyName(request.req.name) && !request.req.unresolved)
    .map((request) => resolveRequest(install, request, constraints));
  if (resolved.length === 0) return;
  const byPkg = new Map<TorchFamily, Resolved>();
  for (const item of resolved) if (!byPkg.has(item.pkg)) byPkg.set(item.pkg, item);
  const resolvedStep: ResolvedStep = { ...step, resolved, byPkg, stateTorch: state.pkgs.get('torch') };
  for (const rule of rules) rule.checkResolved?.(resolvedStep);

  if (install.conditional) return;
  const changedTorch = takeInInstall(step.run, resolvedStep);
  const updatedStep = { ...resolvedStep, changedTorch };
  for (const rule of rules) rule.checkUpdated?.(updatedStep);
}

/** Updates the stage state with what the install leaves installed; returns the new torch when it changed torch. */
function takeInInstall(run: RuleRun, step: ResolvedStep): Resolved | undefined {
  const { install, state, resolved, byPkg, stateTorch } = step;
  const torch = byPkg.get('torch');
  if (install.newEnv) state.pkgs = new Map();
  const effective = resolved.filter((item) => !keepsInstalled(install, state, item));
  const newTorch = effective.find((item) => item.pkg === 'torch');
  const torchChanged =
    newTorch !== undefined &&
    (!stateTorch ||
      install.newEnv ||
      stateTorch.exact !== newTorch.exact ||
      (stateTorch.variant !== null && newTorch.variant !== null && stateTorch.variant !== newTorch.variant));
  for (const item of effective) setInstalled(run, install, state, item, newTorch);
  // a companion installed without torch pulls in the torch it needs
  if (!torch && !stateTorch && (byPkg.has('torchvision') || byPkg.has('torchaudio'))) {
    const companion = (byPkg.get('torchvision') ?? byPkg.get('torchaudio'))!;
    state.pkgs.set('torch', {
      pkg: 'torch',
      exact: null,
      minor: companion.torchMinor,
      local: null,
      variant: companion.variant,
      variantHow: companion.variantHow,
      origin: 'implicit',
      install,
      request: companion.request,
      unpinned: companion.unpinned,
      vendor: false,
      position: companion.request.position,
      how: `pulled in by ${companion.pkg} on ${companion.request.viaFile ?? run.dockerfile}:${companion.request.position.line}`,
    });
  }
  return torchChanged ? newTorch : undefined;
}

/** Whether pip leaves the installed package as it is for this request. */
function keepsInstalled(install: InstallCommand, state: StageState, item: Resolved): boolean {
  const upgrading = install.upgrade || install.forceReinstall;
  const existing = state.pkgs.get(item.pkg);
  if (!existing || upgrading || install.newEnv) return false;
  if (item.unpinned) return true;
  if (item.exact || item.minor) return false;
  // a range (torch>=1.7): pip keeps what is installed when it satisfies the range, or when we cannot tell
  const spec = item.request.req.spec;
  return !existing.exact || !validRange(spec) || satisfies(existing.exact, spec);
}

function setInstalled(
  run: RuleRun,
  install: InstallCommand,
  state: StageState,
  item: Resolved,
  newTorch: Resolved | undefined,
): void {
  const existing = state.pkgs.get(item.pkg);
  let exact = item.dev ? null : item.exact;
  let minor = item.dev ? null : item.minor;
  let unpinned = item.unpinned;
  let how = `${install.tool} install on ${item.request.viaFile ?? run.dockerfile}:${item.request.position.line}`;
  if (item.pkg !== 'torch' && newTorch && !newTorch.dev && (newTorch.exact || newTorch.minor) && !exact && !minor) {
    // installed together with a pinned torch: the resolver picks the matching release
    const expectation = companionFor(newTorch.exact ?? `${newTorch.minor}.0`, item.pkg);
    if (expectation) {
      exact = newTorch.exact ? expectation.exact : null;
      minor = expectation.minor;
      unpinned = false;
      how += ` (resolved to match torch ${versionLabel(newTorch)})`;
    }
  }
  const sameRelease = existing && exact !== null && existing.exact === exact;
  state.pkgs.set(item.pkg, {
    pkg: item.pkg,
    exact,
    minor,
    local: item.local,
    variant: item.variant ?? (sameRelease ? existing.variant : null),
    variantHow: item.variant ? item.variantHow : sameRelease ? existing.variantHow : null,
    origin: 'install',
    install,
    request: item.request,
    unpinned,
    vendor: false,
    position: item.request.position,
    how,
  });
}
