import {
  archSupport,
  bestCudaVariant,
  checkCompanion,
  companionFor,
  compareDotted,
  cudaMinor,
  cudaToVariant,
  driverMinFor,
  firstTorchForPython,
  isNewerThanKnown,
  latestCudaPatch,
  nvidiaCudnnSpelling,
  NVIDIA_CUDA_FLAVORS,
  NVIDIA_CUDA_OS_RULES,
  parseVersion,
  publishedCudaVariants,
  pypiDefaultCuda,
  pythonSupport,
  torchMinorsForCompanion,
  torchRelease,
  TORCH_RELEASES,
  variantAvailability,
  variantToCuda,
  type Companion,
  type ParsedGpu,
  type TorchFamily,
} from '../compat/index.js';
import { satisfies, validRange } from '@renovatebot/pep440';
import { NVIDIA_CUDA_TAG, PYTORCH_TAG, type ImageFacts } from './images.js';
import {
  isValidPytorchIndex,
  type IndexRef,
  type InstallCommand,
  type Model,
  type PackageRequest,
  type Stage,
} from './model.js';
import { spanOf, UNRESOLVED, type Position, type Span } from './text.js';
import type { Category } from './categories.js';

export { CATEGORIES, type Category } from './categories.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Edit {
  span: Span;
  text: string;
}

export interface RawFinding {
  category: Category;
  severity: Severity;
  position: Position;
  message: string;
  evidence: string[];
  fix?: { description: string; edits: Edit[]; alternatives: string[] };
}

export interface PkgState {
  pkg: TorchFamily;
  exact: string | null;
  minor: string | null;
  local: string | null;
  variant: string | null;
  variantHow: string | null;
  origin: 'base' | 'install' | 'stage-copy' | 'implicit';
  install?: InstallCommand;
  request?: PackageRequest;
  /** Installed without a version: whatever was newest at build time. */
  unpinned: boolean;
  /** A vendor build whose version the tag does not state (NGC). */
  vendor: boolean;
  position: Position | null;
  how: string;
}

export interface StageState {
  pkgs: Map<TorchFamily, PkgState>;
  python: { version: string; how: string; position: Position | null; span?: Span | null } | null;
  cuda: { version: string; how: string } | null;
  hasCuda: boolean | null;
  pythonProvided: boolean;
}

export interface RuleContext {
  model: Model;
  targetGpu?: ParsedGpu;
}

export interface RuleOutput {
  findings: RawFinding[];
  states: Map<Stage, StageState>;
}

const FAMILY = new Set<string>(['torch', 'torchvision', 'torchaudio', 'pytorch']);
const familyName = (name: string): TorchFamily | null =>
  name === 'pytorch' ? 'torch' : FAMILY.has(name) ? (name as TorchFamily) : null;

function versionLabel(state: { exact: string | null; minor: string | null }): string {
  return state.exact ?? (state.minor ? `${state.minor}.x` : 'of unknown version');
}

function rootStage(stage: Stage): Stage {
  let current = stage;
  while (current.parent) current = current.parent;
  return current;
}

function cloneState(state: StageState): StageState {
  return { ...state, pkgs: new Map(state.pkgs), python: state.python, cuda: state.cuda };
}

function initialState(stage: Stage, facts: ImageFacts | null, dockerfile: string): StageState {
  const state: StageState = { pkgs: new Map(), python: null, cuda: null, hasCuda: null, pythonProvided: false };
  if (!facts) return state;
  const where = `base image ${facts.ref}`;
  const position: Position = { file: dockerfile, line: stage.line, column: 1 };
  state.hasCuda = facts.hasCuda;
  if (facts.cuda) state.cuda = { version: facts.cuda, how: `${where} tag` };
  if (facts.python) state.python = { version: facts.python, how: `${where} tag`, position: null };
  state.pythonProvided = !['nvidia-cuda', 'ubuntu', 'debian'].includes(facts.family);
  if (facts.hasTorch) {
    const parsed = facts.torchVersion ? parseVersion(facts.torchVersion) : null;
    const exact = parsed && parsed.release.length >= 3 ? parsed.base : null;
    const variant =
      facts.family === 'pytorch' || facts.family === 'aws-dlc'
        ? facts.hasCuda === false
          ? 'cpu'
          : facts.cuda
            ? cudaToVariant(facts.cuda)
            : null
        : null;
    state.pkgs.set('torch', {
      pkg: 'torch',
      exact,
      minor: parsed?.minor ?? null,
      local: null,
      variant,
      variantHow: variant ? `${where} tag` : null,
      origin: 'base',
      unpinned: false,
      vendor: facts.family === 'ngc-pytorch',
      position,
      how: facts.family === 'ngc-pytorch' ? `${where} (NVIDIA build, version not in the tag)` : where,
    });
    if (facts.hasCompanions) {
      for (const pkg of ['torchvision', 'torchaudio'] as const) {
        if (facts.family === 'ngc-pytorch' && pkg === 'torchaudio') continue;
        const expectation = exact ? companionFor(exact, pkg) : undefined;
        state.pkgs.set(pkg, {
          pkg,
          exact: expectation?.exact ?? null,
          minor: expectation?.minor ?? null,
          local: null,
          variant,
          variantHow: variant ? `${where} tag` : null,
          origin: 'base',
          unpinned: false,
          vendor: facts.family === 'ngc-pytorch',
          position,
          how: where,
        });
      }
    }
  }
  return state;
}

interface Resolved {
  request: PackageRequest;
  pkg: TorchFamily;
  exact: string | null;
  minor: string | null;
  local: string | null;
  /** torch minor this package belongs to (companions mapped back). */
  torchMinor: string | null;
  variant: string | null;
  variantHow: string | null;
  /** The variant the user asked for (label / index), even when pip will not find it. */
  requested: {
    variant: string;
    how: 'label' | 'index' | 'extra-index' | 'find-links' | 'wheel-url' | 'conda' | 'torch-backend';
    ref?: IndexRef;
  } | null;
  dev: boolean;
  unpinned: boolean;
}

function torchMinorOf(pkg: TorchFamily, minor: string | null): string | null {
  if (!minor) return null;
  if (pkg === 'torch') return minor;
  const candidates = torchMinorsForCompanion(pkg, minor);
  return candidates.length === 1 ? candidates[0]! : null;
}

function resolveRequest(install: InstallCommand, request: PackageRequest, constraints: PackageRequest[]): Resolved {
  const pkg = familyName(request.req.name)!;
  let pin = request.req.pin;
  if (!pin.exact && !pin.minor && request.req.spec === '') {
    const constraint = constraints.find((candidate) => familyName(candidate.req.name) === pkg);
    if (constraint) pin = constraint.req.pin;
  }
  const minor = pin.minor;
  const torchMinor = torchMinorOf(pkg, minor);
  const resolved: Resolved = {
    request,
    pkg,
    exact: pin.exact,
    minor,
    local: pin.local,
    torchMinor,
    variant: null,
    variantHow: null,
    requested: null,
    dev: false,
    unpinned: !pin.exact && !pin.minor && request.req.spec === '' && !request.req.url,
  };
  const req = request.req;
  if (install.tool === 'conda') {
    if (install.condaCpu) resolved.variant = 'cpu';
    else if (install.condaCuda) resolved.variant = cudaToVariant(install.condaCuda.cuda);
    if (resolved.variant) {
      resolved.variantHow = install.condaCpu ? 'conda cpuonly' : `conda CUDA ${install.condaCuda!.cuda}`;
      resolved.requested = { variant: resolved.variant, how: 'conda' };
    }
    return resolved;
  }
  if (req.urlVariant) {
    resolved.variant = req.urlVariant;
    resolved.variantHow = 'wheel URL';
    resolved.requested = { variant: req.urlVariant, how: 'wheel-url' };
    return resolved;
  }
  const dev = (ref: IndexRef | null | undefined) => ref?.channel === 'nightly' || ref?.channel === 'test';
  if (pin.local && /^(cu\d+|cpu|rocm[\d.]+|xpu)$/.test(pin.local)) {
    resolved.variant = pin.local;
    resolved.variantHow = `+${pin.local} in the version`;
    resolved.requested = { variant: pin.local, how: 'label' };
    resolved.dev = dev(install.indexUrl) || install.extraIndexUrls.some(dev);
    return resolved;
  }
  if (install.torchBackend && /^(cu\d+|cpu)$/.test(install.torchBackend)) {
    resolved.variant = install.torchBackend;
    resolved.variantHow = `uv --torch-backend=${install.torchBackend}`;
    resolved.requested = { variant: install.torchBackend, how: 'torch-backend' };
    return resolved;
  }
  if (install.indexUrl) {
    const ref = install.indexUrl;
    resolved.dev = dev(ref);
    if (ref.pytorch && ref.variant) {
      resolved.requested = { variant: ref.variant, how: 'index', ref };
      const otherIndexes = install.extraIndexUrls.filter((extra) => !extra.pytorch || extra.variant !== ref.variant);
      if (otherIndexes.length === 0) {
        resolved.variant = ref.variant;
        resolved.variantHow = `--index-url ${ref.text}`;
      }
      return resolved;
    }
    if (!ref.pypi) return resolved;
  }
  const pytorchExtra = [...install.extraIndexUrls, ...install.findLinks].find((ref) => ref.pytorch && ref.variant);
  if (pytorchExtra) {
    resolved.dev = dev(pytorchExtra);
    const how = install.extraIndexUrls.includes(pytorchExtra) ? 'extra-index' : 'find-links';
    resolved.requested = { variant: pytorchExtra.variant!, how, ref: pytorchExtra };
    if (resolved.unpinned || !torchMinor || resolved.dev) return resolved;
    const availability = variantAvailability(torchMinor, pytorchExtra.variant!);
    if (availability === 'published') {
      resolved.variant = pytorchExtra.variant;
      resolved.variantHow = `${how === 'extra-index' ? '--extra-index-url' : '--find-links'} ${pytorchExtra.text} (pip prefers its +${pytorchExtra.variant} build)`;
      return resolved;
    }
    if (availability !== 'absent') return resolved;
    // pip falls back to the PyPI build
  } else if ([...install.extraIndexUrls, ...install.findLinks].some((ref) => ref.pytorch)) {
    return resolved;
  }
  if (install.noIndex) return resolved;
  if (torchMinor && !resolved.unpinned) {
    const pypi = pypiDefaultCuda(torchMinor);
    if (pypi) {
      resolved.variant = pypi;
      resolved.variantHow = `plain PyPI build of torch ${torchMinor} (${pypi})`;
    }
  }
  return resolved;
}

function runtimeFailure(pkg: Companion): string {
  return pkg === 'torchvision'
    ? 'at import time it fails with errors such as "operator torchvision::nms does not exist" or undefined symbols'
    : 'importing it fails with undefined symbols, or torchaudio refuses to load its C++ extension';
}

export function runRules(context: RuleContext): RuleOutput {
  const { model } = context;
  const findings: RawFinding[] = [];
  const states = new Map<Stage, StageState>();
  const sources = model.sources;
  const add = (finding: RawFinding) => findings.push(finding);
  const dockerfile = model.dockerfilePath;

  // ---- base images ----------------------------------------------------------------------------------------------
  for (const stage of model.stages) {
    if (stage.facts) checkBaseTag(stage, stage.facts, add);
    if (!stage.parent && stage.unresolvedArgs.length > 0) {
      model.notes.push(
        `FROM on line ${stage.line} uses ${stage.unresolvedArgs.map((name) => `$${name}`).join(', ')} without a value; pass build_args to analyse the base image`,
      );
    }
  }

  // ---- per stage simulation ---------------------------------------------------------------------------------------
  for (const stage of model.stages) {
    const state = stage.parent
      ? cloneState(states.get(stage.parent) ?? initialState(stage, null, dockerfile))
      : initialState(stage, stage.facts, dockerfile);
    let reportedMissingPython = false;
    for (const event of stage.events) {
      switch (event.kind) {
        case 'python':
          state.python = { version: event.version, how: event.how, position: event.position, span: event.span ?? null };
          break;
        case 'python-provider':
          state.pythonProvided = true;
          break;
        case 'stage-copy': {
          const source = states.get(event.from);
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
        case 'install': {
          const install = event.install;
          if (install.tool !== 'conda' && !state.pythonProvided && !reportedMissingPython) {
            const facts = rootStage(stage).facts;
            if (facts && ['nvidia-cuda', 'ubuntu', 'debian'].includes(facts.family)) {
              reportedMissingPython = true;
              add({
                category: 'python-missing',
                severity: 'warning',
                position: install.position,
                message: `${install.tool} runs here, but nothing earlier in this stage installs Python or pip, and ${facts.ref} ships without them. The RUN fails with "${install.tool === 'uv' ? 'uv' : 'pip'}: not found" (exit code 127).`,
                evidence: [
                  `base image ${facts.ref} (${facts.family}); no apt-get install python3-pip, conda, get-pip.py or COPY of a Python before line ${install.position.line}`,
                ],
                fix: {
                  description:
                    'Install Python and pip first, e.g. `RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip`.',
                  edits: [],
                  alternatives: ['start from an image that has Python (pytorch/pytorch, a python:3.x image) instead'],
                },
              });
            }
          }
          processInstall(install, state, stage);
          break;
        }
      }
    }
    states.set(stage, state);
  }

  function processInstall(install: InstallCommand, state: StageState, stage: Stage): void {
    // pip cache
    if (install.tool !== 'conda' && !install.cache.disabled) {
      const flag = install.tool === 'uv' ? '--no-cache' : '--no-cache-dir';
      add({
        category: 'pip-no-cache-dir',
        severity: 'warning',
        position: install.position,
        message: `This ${install.tool === 'uv' ? 'uv pip' : 'pip'} install keeps its download and wheel cache in the image layer (${install.tool === 'uv' ? '/root/.cache/uv' : '/root/.cache/pip'}). For PyTorch that is often gigabytes of extra image size that every pull pays for.`,
        evidence: [
          `no ${flag}, no ${install.tool === 'uv' ? 'UV_NO_CACHE' : 'PIP_NO_CACHE_DIR'}, no BuildKit cache mount and no cache clean-up later in the same RUN`,
        ],
        fix: {
          description: `Add ${flag} to the install.`,
          edits: install.installWordEnd ? [{ span: install.installWordEnd, text: ` ${flag}` }] : [],
          alternatives: [
            `RUN --mount=type=cache,target=/root/.cache/${install.tool === 'uv' ? 'uv' : 'pip'} keeps the cache out of the image and speeds up rebuilds`,
          ],
        },
      });
    }
    // index URLs
    for (const ref of [install.indexUrl, ...install.extraIndexUrls, ...install.findLinks]) {
      if (!ref || !ref.pytorch || ref.text.includes(UNRESOLVED) || isValidPytorchIndex(ref.text)) continue;
      add({
        category: 'index-url-invalid',
        severity: 'warning',
        position: ref.position ?? install.position,
        message: `${ref.text} is not a PyTorch wheel index (expected https://download.pytorch.org/whl[/nightly|/test]/<cu128|cpu|rocm6.4|...>). pip gets a 404 from it, ignores it, and installs the packages from PyPI instead, with whatever CUDA build PyPI has.`,
        evidence: [`index path does not match download.pytorch.org/whl/<channel>/<variant>/`],
      });
    }

    const constraints = install.requests.filter((request) => request.constraint && familyName(request.req.name));
    const resolved = install.requests
      .filter((request) => !request.constraint && familyName(request.req.name) && !request.req.unresolved)
      .map((request) => resolveRequest(install, request, constraints));
    if (resolved.length === 0) return;
    const byPkg = new Map<TorchFamily, Resolved>();
    for (const item of resolved) if (!byPkg.has(item.pkg)) byPkg.set(item.pkg, item);
    const torch = byPkg.get('torch');
    const stateTorch = state.pkgs.get('torch');

    checkVariantAvailability(install, resolved, state);
    checkCompanions(install, byPkg, stateTorch);
    checkPython(install, resolved, state, stage);

    if (install.conditional) return;
    checkReplacement(install, byPkg, state);

    // update state
    if (install.newEnv) state.pkgs = new Map();
    const upgrading = install.upgrade || install.forceReinstall;
    const keeps = (item: Resolved): boolean => {
      const existing = state.pkgs.get(item.pkg);
      if (!existing || upgrading || install.newEnv) return false;
      if (item.unpinned) return true;
      if (item.exact || item.minor) return false;
      // a range (torch>=1.7): pip keeps what is installed when it satisfies the range, or when we cannot tell
      const spec = item.request.req.spec;
      return !existing.exact || !validRange(spec) || satisfies(existing.exact, spec);
    };
    const effective = resolved.filter((item) => !keeps(item));
    const newTorch = effective.find((item) => item.pkg === 'torch');
    const torchChanged =
      newTorch !== undefined &&
      (!stateTorch ||
        install.newEnv ||
        stateTorch.exact !== newTorch.exact ||
        (stateTorch.variant !== null && newTorch.variant !== null && stateTorch.variant !== newTorch.variant));
    for (const item of effective) {
      const existing = state.pkgs.get(item.pkg);
      let exact = item.dev ? null : item.exact;
      let minor = item.dev ? null : item.minor;
      let unpinned = item.unpinned;
      let how = `${install.tool} install on ${item.request.viaFile ?? dockerfile}:${item.request.position.line}`;
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
        how: `pulled in by ${companion.pkg} on ${companion.request.viaFile ?? dockerfile}:${companion.request.position.line}`,
      });
    }
    if (torchChanged) checkStaleCompanions(install, newTorch, state);
    checkMixedVariants(install, state);
    checkBaseCuda(install, state, stage);
  }

  // ---- cuda-variant-unavailable --------------------------------------------------------------------------------
  function checkVariantAvailability(install: InstallCommand, resolved: Resolved[], state: StageState): void {
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
    add({
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

  // ---- torchvision / torchaudio vs torch ----------------------------------------------------------------------------
  function checkCompanions(
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
      add({
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

  // ---- companions left behind when torch changes ------------------------------------------------------------------
  function checkStaleCompanions(install: InstallCommand, torch: Resolved, state: StageState): void {
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
        companion.request,
        companion.install,
        torch.request,
        `${pkg}==${version}${label}`,
      );
      add({
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

  // ---- torch-replaced -----------------------------------------------------------------------------------------
  function checkReplacement(install: InstallCommand, byPkg: Map<TorchFamily, Resolved>, state: StageState): void {
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
        add(
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
          add(
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
          add({
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
        add(
          replaced(
            'warning',
            torch.request.position,
            `torch${torch.request.req.spec} replaces NVIDIA's own torch build in ${where}: the image gets a second torch (gigabytes) and NVIDIA's extensions compiled against their build (apex, transformer-engine, flash-attn) may stop loading.${companionNote}`,
            [`existing torch: ${where}`],
          ),
        );
        return;
      }
      if (torch.exact && existing.exact && parseVersion(torch.exact)?.base === parseVersion(existing.exact)?.base)
        return;
      const fix = baseTagFixForTorch(install, torch, existing);
      add({
        ...replaced(
          'warning',
          torch.request.position,
          `torch${torch.request.req.spec} replaces ${current}: the image carries both in its layers${existing.variant && torch.variant && existing.variant !== torch.variant ? `, and the CUDA build changes from ${existing.variant} to ${torch.variant}` : torch.variant ? '' : ', and the replacement comes from PyPI with its own CUDA build'}.${companionNote}`,
          [
            `existing torch: ${where}`,
            `requested: torch${torch.request.req.spec} on ${torch.request.viaFile ?? dockerfile}:${torch.request.position.line}`,
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
      add({
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

  // ---- mixed CUDA variants ----------------------------------------------------------------------------------------
  function checkMixedVariants(install: InstallCommand, state: StageState): void {
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
      add({
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

  // ---- torch CUDA vs base image CUDA, CPU wheels on GPU images ------------------------------------------------------
  function checkBaseCuda(install: InstallCommand, state: StageState, stage: Stage): void {
    const torch = state.pkgs.get('torch');
    if (!torch || torch.install !== install || !torch.variant || !torch.request) return;
    const request = torch.request;
    if (torch.variant === 'cpu') {
      if (state.hasCuda !== true) return;
      const cuda = state.cuda ? cudaMinor(state.cuda.version) : null;
      const target = cuda && torch.minor ? bestCudaVariant(torch.minor, cuda) : undefined;
      const resolved = install.requests
        .filter((item) => familyName(item.req.name))
        .map((item) => resolveRequest(install, item, []));
      add({
        category: 'cpu-wheel-on-gpu-base',
        severity: 'error',
        position: request.position,
        message: `torch is the CPU-only build (${torch.variantHow}) on a CUDA base image (${rootStage(stage).facts?.ref ?? 'GPU image'}): the image builds, but torch.cuda.is_available() is False and any .cuda() call raises "Torch not compiled with CUDA enabled".`,
        evidence: [
          `torch: ${torch.how}`,
          `base image CUDA: ${state.cuda?.version ?? 'present (version not in the tag)'}`,
        ],
        fix: target
          ? {
              description: `Install the ${target} build of torch ${torch.minor} to match the base image's CUDA ${state.cuda!.version}.`,
              edits: variantEdits(install, resolved, 'cpu', target),
              alternatives: ['if CPU is intended, use a base image without CUDA (python:3.x-slim) to save gigabytes'],
            }
          : undefined,
      });
      return;
    }
    if (!state.cuda || state.hasCuda !== true) return;
    // on a torch image (pytorch/pytorch, DLC, NGC) the image's CUDA belongs to its torch: torch-replaced covers it
    const rootFamily = rootStage(stage).facts?.family;
    if (rootFamily === 'pytorch' || rootFamily === 'aws-dlc' || rootFamily === 'ngc-pytorch') return;
    const torchCuda = variantToCuda(torch.variant);
    const baseCuda = cudaMinor(state.cuda.version);
    if (!torchCuda || !baseCuda || torchCuda === baseCuda) return;
    const [torchMajor, torchMinorPart] = torchCuda.split('.').map(Number) as [number, number];
    const [baseMajor, baseMinorPart] = baseCuda.split('.').map(Number) as [number, number];
    const majorDiffers = torchMajor !== baseMajor;
    const severity: Severity = majorDiffers ? 'error' : torchMinorPart > baseMinorPart ? 'warning' : 'info';
    const driver = driverMinFor(torch.variant);
    const consequence = majorDiffers
      ? `CUDA extensions compiled in this image (apex, flash-attn, DeepSpeed ops, detectron2) fail: torch.utils.cpp_extension raises "The detected CUDA version (${baseCuda}) mismatches the version that was used to compile PyTorch (${torchCuda})"; and hosts are sized for the base image's driver, not the wheel's`
      : torchMinorPart > baseMinorPart
        ? `the wheel needs a newer driver (${driver ? `>= ${driver.driver} for CUDA ${driver.cuda}` : 'than the base image'}) than hosts chosen for the base image's CUDA ${baseCuda} may have, and nvcc ${baseCuda} builds extensions against a torch built with ${torchCuda}`
        : `it works (the wheel carries its own CUDA ${torchCuda} runtime), but the base image's CUDA ${baseCuda} libraries are unused weight and nvcc ${baseCuda} differs from torch's CUDA`;
    let fix: RawFinding['fix'];
    if (majorDiffers && torch.minor) {
      const sameMajor = publishedCudaVariants(torch.minor).filter(
        (variant) => variantToCuda(variant)?.split('.')[0] === String(baseMajor),
      );
      const resolved = install.requests
        .filter((item) => familyName(item.req.name))
        .map((item) => resolveRequest(install, item, []));
      const switchable =
        torch.variantHow?.startsWith('+') ||
        torch.variantHow?.startsWith('--index-url') ||
        torch.variantHow?.startsWith('--extra-index-url') ||
        torch.variantHow?.startsWith('--find-links');
      if (sameMajor.length > 0 && switchable) {
        const target = bestCudaVariant(torch.minor, baseCuda)!;
        fix = {
          description: `Install the ${target} build of torch ${torch.minor}, matching the base image's CUDA ${baseMajor}.x.`,
          edits: variantEdits(install, resolved, torch.variant, target),
          alternatives: [],
        };
      } else {
        const patch = latestCudaPatch(torchCuda);
        const edits = patch ? nvidiaVersionEdits(rootStage(stage), patch) : [];
        const otherTorch = TORCH_RELEASES.filter((release) =>
          release.cuda.some(
            (variant) =>
              variant.status === 'published' && variantToCuda(variant.variant)?.split('.')[0] === String(baseMajor),
          ),
        );
        fix = {
          description:
            edits.length > 0
              ? `Use a CUDA ${torchCuda} base image (nvidia/cuda ${patch}) to match torch's ${torch.variant} build, keeping torch ${versionLabel(torch)}.`
              : `Use a base image with CUDA ${torchCuda}, or a torch release with a CUDA ${baseMajor}.x build.`,
          edits,
          alternatives:
            otherTorch.length > 0
              ? [
                  `keep the base image: torch ${nearestRelease(
                    otherTorch.map((release) => release.torch),
                    torch.minor,
                  )} or later publishes CUDA ${baseMajor}.x wheels`,
                ]
              : [],
        };
      }
    } else {
      fix = {
        description: `Prefer a base image with CUDA ${torchCuda}, or a torch CUDA build matching ${baseCuda}.`,
        edits: [],
        alternatives: [],
      };
    }
    add({
      category: 'cuda-base-mismatch',
      severity,
      position: request.position,
      message: `torch is the CUDA ${torchCuda} build (${torch.variantHow}) but the base image has CUDA ${state.cuda.version}: ${consequence}.`,
      evidence: [
        `torch: ${torch.how}`,
        `base CUDA: ${state.cuda.how}`,
        ...(driver ? [`CUDA ${driver.cuda} needs Linux driver >= ${driver.driver} (S-NV-RN)`] : []),
      ],
      fix,
    });
  }

  // ---- Python ---------------------------------------------------------------------------------------------------
  function checkPython(install: InstallCommand, resolved: Resolved[], state: StageState, stage: Stage): void {
    const python = install.pythonHint
      ? { version: install.pythonHint, how: `${install.tool} run by python${install.pythonHint}`, position: null }
      : state.python;
    for (const item of resolved) {
      if (item.pkg !== 'torch') continue;
      const wheelPython = item.request.req.wheelPython;
      if (wheelPython && python) {
        const wheelVersion = /^cp(\d)(\d+)$/.exec(wheelPython);
        if (wheelVersion && `${wheelVersion[1]}.${wheelVersion[2]}` !== cudaMinorish(python.version)) {
          add({
            category: 'python-unsupported',
            severity: 'error',
            position: item.request.position,
            message: `The torch wheel is for Python ${wheelVersion[1]}.${wheelVersion[2]} (${wheelPython}) but the image's Python is ${python.version} (${python.how}); pip refuses it: "is not a supported wheel on this platform".`,
            evidence: [`wheel tag ${wheelPython}`, `python: ${python.how}`],
          });
        }
        continue;
      }
      if (!item.torchMinor || !python || item.dev) continue;
      const pythonMinor = cudaMinorish(python.version);
      const support = pythonSupport(item.torchMinor, pythonMinor);
      if (support !== 'unsupported' && support !== 'experimental') continue;
      const release = torchRelease(item.torchMinor)!;
      const firstTorch = firstTorchForPython(pythonMinor, item.torchMinor);
      const alternatives = firstTorch
        ? [`keep Python ${pythonMinor}: torch ${firstTorch} is the first release with wheels for it`]
        : [];
      const edits = support === 'unsupported' ? pythonEdits(stage, release.python.max, python) : [];
      add({
        category: 'python-unsupported',
        severity: support === 'unsupported' ? 'error' : 'warning',
        position: item.request.position,
        message:
          support === 'unsupported'
            ? `torch ${item.torchMinor} has wheels for Python ${release.python.min}-${release.python.max} only, and this image's Python is ${python.version} (${python.how}): pip fails with "No matching distribution found for torch${item.request.req.spec}".`
            : `torch ${item.torchMinor} supports Python ${pythonMinor} only experimentally (${release.python.note ?? release.python.source}).`,
        evidence: [
          `torch ${item.torchMinor}: Python ${release.python.min}-${release.python.max} (${release.python.source}${release.python.note ? `; ${release.python.note}` : ''})`,
          `python: ${python.how}`,
        ],
        fix:
          support === 'unsupported'
            ? {
                description:
                  edits.length > 0
                    ? `Use Python ${release.python.max}, the newest Python torch ${item.torchMinor} supports.`
                    : `Use a Python between ${release.python.min} and ${release.python.max}.`,
                edits,
                alternatives,
              }
            : undefined,
      });
    }
  }

  // ---- GPU architecture ---------------------------------------------------------------------------------------------
  const finalStage = model.stages[model.stages.length - 1];
  if (context.targetGpu && finalStage) {
    const state = states.get(finalStage);
    const torch = state?.pkgs.get('torch');
    if (torch?.variant && torch.variant.startsWith('cu')) {
      const support = archSupport(torch.variant, context.targetGpu.capability);
      if (support.status === 'unsupported') {
        const candidates = torch.minor
          ? publishedCudaVariants(torch.minor).filter(
              (variant) => archSupport(variant, context.targetGpu!.capability).status === 'supported',
            )
          : [];
        const target =
          candidates.length > 0 && torch.minor
            ? pickClosest(candidates, state?.cuda ? cudaMinor(state.cuda.version) : variantToCuda(torch.variant))
            : undefined;
        let edits: Edit[] = [];
        if (target && torch.install) {
          const resolved = torch.install.requests
            .filter((item) => familyName(item.req.name))
            .map((item) => resolveRequest(torch.install!, item, []));
          edits = variantEdits(torch.install, resolved, torch.variant, target);
        } else if (target && torch.origin === 'base') {
          const root = rootStage(finalStage);
          const release = torchRelease(torch.minor ?? '');
          const cuda = variantToCuda(target);
          if (root.facts?.family === 'pytorch' && release?.dockerCuda?.includes(cuda ?? '') && torch.exact) {
            edits = replaceTagEdits(
              root,
              `${torch.exact}-cuda${cuda}-cudnn${release.dockerCudnn}-${root.facts.flavor ?? 'runtime'}`,
            );
          }
        }
        const newer = TORCH_RELEASES.filter((release) =>
          release.cuda.some(
            (variant) =>
              variant.status === 'published' &&
              archSupport(variant.variant, context.targetGpu!.capability).status === 'supported',
          ),
        ).map((release) => release.torch);
        add({
          category: 'gpu-arch-unsupported',
          severity: 'error',
          position: torch.position ?? { file: dockerfile, line: finalStage.line, column: 1 },
          message: `The ${torch.variant} build of torch${torch.minor ? ` ${torch.minor}` : ''} has no kernels for ${context.targetGpu.label} (compute capability ${context.targetGpu.capability}); on that GPU every CUDA op fails with "no kernel image is available for execution on the device".`,
          evidence: [
            support.archs
              ? `${torch.variant} wheels carry sm ${support.archs.join(', ')} (${support.source})`
              : `${torch.variant} wheels carry no kernels above compute capability 9.0 (${support.source})`,
            `torch: ${torch.how}`,
          ],
          fix: target
            ? {
                description: `Use the ${target} build of torch ${torch.minor}, which has kernels for compute capability ${context.targetGpu.capability}.`,
                edits,
                alternatives:
                  target && state?.cuda
                    ? [`also move the base image to CUDA ${variantToCuda(target)} to keep them aligned`]
                    : [],
              }
            : newer.length > 0
              ? {
                  description: `No torch ${torch.minor ?? ''} build supports this GPU; torch ${newer[0]} or later has kernels for it.`,
                  edits: [],
                  alternatives: [],
                }
              : undefined,
        });
      }
    }
  }

  // ---- requirement files that are copied in but missing ---------------------------------------------------------------
  for (const missing of model.missingFiles) {
    add({
      category: 'requirements-file-missing',
      severity: 'warning',
      position: missing.position,
      message: `The build reads ${missing.imagePath}, which is copied from ${missing.contextPath} in the build context, but that file does not exist: the COPY fails with "failed to compute cache key: ... not found" before anything is installed.`,
      evidence: [`${missing.contextPath} not found in the build context`],
    });
  }

  return { findings, states };

  // ---- edit helpers (hoisted) ---------------------------------------------------------------------------------------
  function labelEdits(request: PackageRequest, from: string, to: string): Edit[] {
    const req = request.req;
    if (!req.versionRange || !req.pin.text) return [];
    const plus = req.pin.text.indexOf(`+${from}`);
    if (plus === -1) return [];
    const start = req.versionRange[0] + plus + 1;
    const span = spanOf(req.token, start, start + from.length);
    return span ? [{ span, text: to }] : [];
  }

  function variantEdits(install: InstallCommand, resolved: Resolved[], from: string, to: string): Edit[] {
    const edits: Edit[] = [];
    let complete = true;
    for (const ref of [install.indexUrl, ...install.extraIndexUrls, ...install.findLinks]) {
      if (!ref || !ref.pytorch || ref.variant !== from) continue;
      const at = ref.url.text.indexOf(`/${from}`);
      const span = at === -1 ? null : spanOf(ref.url, at + 1, at + 1 + from.length);
      if (span) edits.push({ span, text: to });
      else complete = false;
    }
    for (const item of resolved) {
      if (item.local === from) {
        const label = labelEdits(item.request, from, to);
        if (label.length === 0) complete = false;
        edits.push(...label);
      }
      if (item.request.req.urlVariant === from && item.request.req.url) complete = false;
    }
    return complete ? dedupe(edits) : [];
  }

  function repinEdits(request: PackageRequest, version: string, torchLocal: string | null): Edit[] {
    const req = request.req;
    if (!req.versionRange || !req.pin.text) return [];
    let text = version;
    if (!version.endsWith('*')) {
      const label = req.pin.local ?? (req.conda ? null : torchLocal);
      if (label && req.pin.local) text = `${version}+${label}`;
    }
    const span = spanOf(req.token, req.versionRange[0], req.versionRange[1]);
    return span ? [{ span, text }] : [];
  }

  function insertPinEdits(request: PackageRequest, pin: string): Edit[] {
    const req = request.req;
    if (req.spec !== '' || req.url) return [];
    const span = spanOf(req.token, req.specRange[0], req.specRange[0]);
    return span ? [{ span, text: req.conda ? pin.replace(/^==/, '=') : pin }] : [];
  }

  function moveCompanionEdits(
    companion: PackageRequest,
    from: InstallCommand,
    torch: PackageRequest,
    spec: string,
  ): Edit[] {
    const version = spec.slice(spec.indexOf('==') + 2);
    const others = from.requests.filter((request) => request !== companion && !request.constraint);
    const tokenSpan = spanOf(companion.req.token, 0, companion.req.token.text.length);
    const torchEnd = spanOf(torch.req.token, torch.req.token.text.length, torch.req.token.text.length);
    if (
      others.length === 0 ||
      !tokenSpan ||
      !torchEnd ||
      companion.viaFile ||
      torch.viaFile ||
      companion.req.conda ||
      torch.req.conda
    ) {
      if (companion.req.spec === '') return insertPinEdits(companion, `==${version}`);
      return repinEdits(companion, version, null);
    }
    // remove the token and the whitespace before it
    const file = sources.file(tokenSpan.file).text;
    let start = tokenSpan.start;
    while (start > 0 && (file[start - 1] === ' ' || file[start - 1] === '\t')) start--;
    return [
      { span: { file: tokenSpan.file, start, end: tokenSpan.end }, text: '' },
      { span: torchEnd, text: ` ${spec}` },
    ];
  }

  function replaceTagEdits(stage: Stage, tag: string): Edit[] {
    const image = stage.image;
    const colon = image.text.lastIndexOf(':');
    if (colon === -1) return [];
    const span = spanOf(image, colon + 1, image.text.length);
    return span ? [{ span, text: tag }] : [];
  }

  function nvidiaVersionEdits(stage: Stage, version: string): Edit[] {
    const facts = stage.facts;
    if (facts?.family !== 'nvidia-cuda' || !facts.tag) return [];
    const match = NVIDIA_CUDA_TAG.exec(facts.tag);
    if (!match) return [];
    const parts = version.split('.').map(Number) as [number, number, number];
    const os = match[6]!;
    if (os.startsWith('ubuntu24') && compareTuple(parts, NVIDIA_CUDA_OS_RULES.ubuntu2404From) < 0) return [];
    const oldVersion = facts.tag.slice(0, facts.tag.indexOf('-'));
    const colon = stage.image.text.lastIndexOf(':');
    const edits: Edit[] = [];
    const versionSpan = spanOf(stage.image, colon + 1, colon + 1 + oldVersion.length);
    if (!versionSpan) return [];
    edits.push({ span: versionSpan, text: version });
    const cudnn = match[4];
    if (cudnn) {
      const spelling = nvidiaCudnnSpelling(parts);
      if (!spelling) return [];
      if (spelling !== cudnn) {
        const at = colon + 1 + oldVersion.length + 1;
        const cudnnSpan = spanOf(stage.image, at, at + cudnn.length);
        if (!cudnnSpan) return [];
        edits.push({ span: cudnnSpan, text: spelling });
      }
    }
    return edits;
  }

  function pythonEdits(stage: Stage, version: string, python: NonNullable<StageState['python']>): Edit[] {
    if (python.span) return [{ span: python.span, text: version }];
    const current = python.version;
    const root = rootStage(stage);
    const facts = root.facts;
    if (facts?.family === 'python' && facts.tag && facts.python === current) {
      const image = root.image;
      const colon = image.text.lastIndexOf(':');
      const at = image.text.indexOf(current, colon);
      if (at === -1) return [];
      const span = spanOf(image, at, at + current.length);
      return span ? [{ span, text: version }] : [];
    }
    return [];
  }

  function checkBaseTag(stage: Stage, facts: ImageFacts, emit: (finding: RawFinding) => void): void {
    const position: Position = { file: dockerfile, line: stage.line, column: 1 };
    const invalid = (severity: Severity, message: string, evidence: string[], fix?: RawFinding['fix']) =>
      emit({ category: 'base-tag-invalid', severity, position, message, evidence, fix });
    if (facts.family === 'nvidia-cuda') {
      const tag = facts.tag;
      if (!tag || tag === 'latest') {
        invalid(
          'error',
          `nvidia/cuda has no "latest" tag: pulling ${facts.ref} fails with "manifest unknown". Name a version, e.g. nvidia/cuda:12.8.1-runtime-ubuntu24.04.`,
          ['S-NV-README: the "latest" tag is deprecated'],
        );
        return;
      }
      const match = NVIDIA_CUDA_TAG.exec(tag);
      if (!match) {
        invalid(
          'error',
          `nvidia/cuda:${tag} does not follow NVIDIA's tag format {X.Y.Z}-[cudnn-]{base|runtime|devel}-{os}; the pull fails with "not found".`,
          ['S-NV-TAGS tag format'],
        );
        return;
      }
      const [, major, minor, patch, cudnn, flavor, os] = match as unknown as [
        string,
        string,
        string,
        string | undefined,
        string | undefined,
        string,
        string,
      ];
      if (!NVIDIA_CUDA_FLAVORS.includes(flavor as (typeof NVIDIA_CUDA_FLAVORS)[number])) {
        invalid(
          'error',
          `"${flavor}" is not an nvidia/cuda flavor (base, runtime or devel): nvidia/cuda:${tag} does not exist.`,
          ['S-NV-TAGS / container-wiki flavors'],
        );
        return;
      }
      if (patch === undefined) {
        const full = latestCudaPatch(`${major}.${minor}`);
        const versionSpan = spanOf(
          stage.image,
          stage.image.text.lastIndexOf(':') + 1,
          stage.image.text.lastIndexOf(':') + 1 + `${major}.${minor}`.length,
        );
        invalid(
          'warning',
          `nvidia/cuda:${tag} has no patch version. NVIDIA's supported tags are {X.Y.Z}-...; a ${major}.${minor}-... tag is not in that list, so the pull most likely fails with "not found".`,
          ['S-NV-TAGS tag format {X.Y.Z}-{base|runtime|devel}-{os}'],
          full && versionSpan && !cudnn
            ? {
                description: `Use the full version ${full}.`,
                edits: [{ span: versionSpan, text: full }],
                alternatives: [],
              }
            : full
              ? { description: `Use the full version, e.g. ${full}.`, edits: [], alternatives: [] }
              : undefined,
        );
        return;
      }
      const version: [number, number, number] = [Number(major), Number(minor), Number(patch)];
      if (cudnn) {
        if (flavor === 'base') {
          invalid(
            'error',
            `nvidia/cuda has cuDNN images only for runtime and devel; nvidia/cuda:${tag} does not exist.`,
            ['S-NV-TAGS'],
          );
          return;
        }
        const spelling = nvidiaCudnnSpelling(version);
        const knownBad = version.join('.') === '12.4.0' && cudnn === 'cudnn8';
        if ((spelling && spelling !== cudnn) || knownBad) {
          const fixVersion = knownBad ? '12.4.1' : null;
          const fixSpelling = knownBad ? 'cudnn' : spelling!;
          const colon = stage.image.text.lastIndexOf(':');
          const cudnnAt = stage.image.text.indexOf(`-${cudnn}-`, colon);
          const edits: Edit[] = [];
          const cudnnSpan = cudnnAt === -1 ? null : spanOf(stage.image, cudnnAt + 1, cudnnAt + 1 + cudnn.length);
          const versionSpan = spanOf(stage.image, colon + 1, colon + 1 + `${major}.${minor}.${patch}`.length);
          if (cudnnSpan) edits.push({ span: cudnnSpan, text: fixSpelling });
          if (fixVersion && versionSpan) edits.push({ span: versionSpan, text: fixVersion });
          const ok = edits.length === (fixVersion ? 2 : 1);
          invalid(
            'error',
            `nvidia/cuda ${major}.${minor}.${patch} images spell cuDNN as "-${spelling ?? 'cudnn'}-"${knownBad ? ' (12.4.0-cudnn8 was never published)' : ''}, so nvidia/cuda:${tag} does not exist and the build stops at FROM with "not found".`,
            [
              'S-NV-TAGS: "-cudnn-" from 12.4.1, "-cudnn9-" for 12.3.2, "-cudnn8-" for 12.2.2 and earlier',
              ...(knownBad ? ['S-PR-125632'] : []),
            ],
            {
              description: `Use nvidia/cuda:${fixVersion ?? `${major}.${minor}.${patch}`}-${fixSpelling}-${flavor}-${os}.`,
              edits: ok ? edits : [],
              alternatives: [],
            },
          );
          return;
        }
        if (os.startsWith('ubuntu24') && NVIDIA_CUDA_OS_RULES.noCudnnOnUbuntu2404.includes(version.join('.'))) {
          invalid(
            'error',
            `CUDA ${version.join('.')} on Ubuntu 24.04 has only base, runtime and devel images, no cuDNN: nvidia/cuda:${tag} does not exist.`,
            ['S-NV-TAGS'],
          );
          return;
        }
      }
      if (os.startsWith('ubuntu24') && compareTuple(version, NVIDIA_CUDA_OS_RULES.ubuntu2404From) < 0) {
        invalid(
          'error',
          `Ubuntu 24.04 nvidia/cuda images start with CUDA 12.5.1; nvidia/cuda:${tag} does not exist. Use ubuntu22.04 with CUDA ${version.join('.')}, or CUDA 12.5.1+.`,
          ['S-NV-README: "CUDA 12.5.1 brings support for Ubuntu 24.04 images"'],
        );
        return;
      }
      if (
        (os.startsWith('centos7') || os.startsWith('ubi7')) &&
        compareTuple(version, NVIDIA_CUDA_OS_RULES.centos7Until) > 0
      ) {
        invalid(
          'error',
          `CentOS 7 / UBI 7 nvidia/cuda images stop at CUDA 12.4.0; nvidia/cuda:${tag} does not exist.`,
          ['S-NV-README'],
        );
      }
      return;
    }
    if (facts.family === 'pytorch' && facts.tag && /^\d+\.\d+(\.\d+)?-cuda/.test(facts.tag)) {
      const match = PYTORCH_TAG.exec(facts.tag);
      if (!match) {
        invalid(
          'error',
          `pytorch/pytorch:${facts.tag} does not follow the tag format {torch}-cuda{X.Y}-cudnn{N}-{runtime|devel}; the pull fails with "not found".`,
          ['S-TI-DK: f"{version}-cuda{cuda}-cudnn{cudnn}-{image}"'],
        );
        return;
      }
      const [, torchVersion, cuda, cudnnMajor, flavor] = match as unknown as [string, string, string, string, string];
      const parsed = parseVersion(torchVersion);
      if (!parsed || isNewerThanKnown('torch', parsed.minor)) return;
      const release = torchRelease(parsed.minor);
      if (!release) return;
      const colon = stage.image.text.lastIndexOf(':');
      if (release.dockerCuda && !release.dockerCuda.includes(cuda)) {
        const target = pickClosest(
          release.dockerCuda.map((value) => cudaToVariant(value)!),
          cuda,
        );
        const targetCuda = target ? variantToCuda(target) : null;
        const at = stage.image.text.indexOf(`-cuda${cuda}-`, colon);
        const span = at === -1 ? null : spanOf(stage.image, at + 5, at + 5 + cuda.length);
        invalid(
          'error',
          `torch ${parsed.minor} was never released with CUDA ${cuda}: there is no pytorch/pytorch:${facts.tag} (torch ${parsed.minor} images: CUDA ${release.dockerCuda.join(', ')}).`,
          [`${release.dockerSource ?? 'S-TI-DK'}: expected tags per release CUDA list (S-TI-BM)`],
          targetCuda
            ? {
                description: `Use CUDA ${targetCuda}: pytorch/pytorch:${torchVersion}-cuda${targetCuda}-cudnn${release.dockerCudnn ?? cudnnMajor}-${flavor}.`,
                edits: span ? [{ span, text: targetCuda }] : [],
                alternatives: [],
              }
            : undefined,
        );
        return;
      }
      if (release.dockerCudnn && release.dockerCudnn !== cudnnMajor) {
        const at = stage.image.text.indexOf(`-cudnn${cudnnMajor}-`, colon);
        const span = at === -1 ? null : spanOf(stage.image, at + 6, at + 6 + cudnnMajor.length);
        invalid(
          'error',
          `pytorch/pytorch images for torch ${parsed.minor} use cuDNN ${release.dockerCudnn} (cudnn8 up to 2.3, cudnn9 from 2.4); pytorch/pytorch:${facts.tag} does not exist.`,
          ['S-TI-BM CUDA_CUDNN_VERSIONS: "cudnn" "8" -> "9" at 2.4.0 (ac9a718ca)'],
          {
            description: `Use cudnn${release.dockerCudnn}.`,
            edits: span ? [{ span, text: release.dockerCudnn }] : [],
            alternatives: [],
          },
        );
      }
    }
  }
}

function cudaMinorish(version: string): string {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? `${match[1]}.${match[2]}` : version;
}

function compareTuple(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < 3; index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function nearestRelease(releases: string[], to: string): string {
  return [...releases].sort((a, b) => Math.abs(distance(a, to)) - Math.abs(distance(b, to)))[0]!;
}

function distance(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number) as [number, number];
  const [bMajor, bMinor] = b.split('.').map(Number) as [number, number];
  return (aMajor - bMajor) * 100 + (aMinor - bMinor);
}

/** Picks the variant whose CUDA is closest to `cuda` (same major first, not above it first). */
function pickClosest(variants: string[], cuda: string | null): string | undefined {
  if (!cuda) return variants[variants.length - 1];
  const target = cuda.split('.').map(Number) as [number, number];
  return [...variants].sort((a, b) => score(a) - score(b))[0];
  function score(variant: string): number {
    const [major, minor] = (variantToCuda(variant) ?? '0.0').split('.').map(Number) as [number, number];
    return (
      (major === target[0] ? 0 : 10000) +
      (minor <= target[1] ? 0 : 1000) +
      Math.abs((major - target[0]) * 100 + (minor - target[1]))
    );
  }
}

function dedupe(edits: Edit[]): Edit[] {
  const seen = new Set<string>();
  return edits.filter((edit) => {
    const key = `${edit.span.file}:${edit.span.start}:${edit.span.end}:${edit.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
