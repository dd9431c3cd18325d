import { CUDA_DRIVER_MIN, CUDA_LATEST_PATCH, WHEEL_ARCHS, WHEEL_CUDA_FULL_VERSION } from './cuda.js';
import { GPU_MODELS, type GpuModel } from './gpus.js';
import { TORCH_RELEASES, TORCH_TRIPLETS, TORCHAUDIO_STABLE_ABI_FROM, type TorchRelease } from './torch.js';
import { compareDotted, parseVersion, variantToCuda } from './versions.js';

export * from './cuda.js';
export * from './distro.js';
export * from './gpus.js';
export * from './sources.js';
export * from './torch.js';
export * from './versions.js';

export type Companion = 'torchvision' | 'torchaudio';
export type TorchFamily = 'torch' | Companion;

const releaseByMinor = new Map(TORCH_RELEASES.map((release) => [release.torch, release]));
const tripletByTorch = new Map(TORCH_TRIPLETS.map((triplet) => [triplet.torch, triplet]));

const newestTorchMinor = TORCH_RELEASES[TORCH_RELEASES.length - 1]!.torch;
const oldestTorchMinor = TORCH_RELEASES[0]!.torch;

function newestCompanionMinor(pkg: Companion): string {
  return TORCH_RELEASES.map((release) => release[pkg]).reduce((a, b) => (compareDotted(a, b) >= 0 ? a : b));
}

export function torchRelease(minor: string): TorchRelease | undefined {
  return releaseByMinor.get(minor);
}

/** True when the data has nothing about this minor because it is newer than every known release. */
export function isNewerThanKnown(pkg: TorchFamily, minor: string): boolean {
  const newest = pkg === 'torch' ? newestTorchMinor : newestCompanionMinor(pkg);
  return compareDotted(minor, newest) > 0;
}

/** The torch minor a companion minor was released with ('0.22' -> ['2.7']); torchaudio 2.11 -> 2.11 and later. */
export function torchMinorsForCompanion(pkg: Companion, minor: string): string[] {
  return TORCH_RELEASES.filter((release) => release[pkg] === minor).map((release) => release.torch);
}

export interface CompanionExpectation {
  minor: string;
  /** The pip version to suggest, when the patch pairing is known. */
  exact: string | null;
  /** All companion versions known to work with this exact torch. */
  accepted: string[];
}

/** What companion goes with this torch version, or undefined when the data does not know that torch. */
export function companionFor(torchVersion: string, pkg: Companion): CompanionExpectation | undefined {
  const parsed = parseVersion(torchVersion);
  if (!parsed) return undefined;
  const release = torchRelease(parsed.minor);
  if (!release) return undefined;
  const triplet = tripletByTorch.get(parsed.base);
  const accepted = triplet ? triplet[pkg] : [];
  const exact = triplet && triplet.evidence !== 'unverified' ? (accepted[0] ?? null) : null;
  return { minor: release[pkg], exact, accepted };
}

/**
 * The pip version of torchvision / torchaudio to install with this torch (e.g. '2.7.1' -> '0.22.1'), or undefined
 * when the exact pairing is not in the data (use `companionFor(...).minor` + '.*' then).
 */
export function companionVersionFor(torchVersion: string, pkg: Companion): string | undefined {
  return companionFor(torchVersion, pkg)?.exact ?? undefined;
}

export interface CompanionCheck {
  status: 'ok' | 'mismatch' | 'unknown';
  /** What would match: an exact version, or 'X.Y.*'. */
  expected?: string;
  reason?: string;
}

/**
 * Checks a companion against torch. `torch` and `companion` are versions ('2.7.1', '0.22.1+cu128') or minors
 * ('2.7'); patch-level checks happen only when both are exact and the companion's own pairing is known.
 */
export function checkCompanion(torch: string, pkg: Companion, companion: string): CompanionCheck {
  const torchParsed = parseVersion(torch);
  const companionParsed = parseVersion(companion);
  if (!torchParsed || !companionParsed) return { status: 'unknown' };
  const release = torchRelease(torchParsed.minor);
  if (!release) return { status: 'unknown', reason: `torch ${torchParsed.minor} is not in the compatibility data` };
  const exactTorch = torchParsed.release.length >= 3 ? torchParsed.base : null;
  const expectation = companionFor(exactTorch ?? `${torchParsed.minor}.0`, pkg);
  const expected =
    (exactTorch ? expectation?.exact : null) ?? `${pkg === 'torchaudio' ? release.torchaudio : release.torchvision}.*`;
  const compMinor = companionParsed.minor;

  if (pkg === 'torchaudio' && compareDotted(compMinor, TORCHAUDIO_STABLE_ABI_FROM) >= 0) {
    if (isNewerThanKnown('torchaudio', compMinor)) return { status: 'unknown' };
    if (compareDotted(torchParsed.minor, TORCHAUDIO_STABLE_ABI_FROM) >= 0) return { status: 'ok' };
    return {
      status: 'mismatch',
      expected,
      reason: `torchaudio ${compMinor} is built on the stable ABI for torch ${TORCHAUDIO_STABLE_ABI_FROM} and later only`,
    };
  }
  const expectedMinor = pkg === 'torchaudio' ? release.torchaudio : release.torchvision;
  if (compMinor !== expectedMinor) {
    if (isNewerThanKnown(pkg, compMinor)) return { status: 'unknown' };
    const builtFor = torchMinorsForCompanion(pkg, compMinor);
    const builtForText = builtFor.length > 0 ? `torch ${builtFor.join('/')}` : `a torch older than ${oldestTorchMinor}`;
    return {
      status: 'mismatch',
      expected,
      reason: `${pkg} ${compMinor} is the release built for ${builtForText}; torch ${torchParsed.minor} pairs with ${pkg} ${expectedMinor}`,
    };
  }
  if (exactTorch && companionParsed.release.length >= 3) {
    const pairedTorch = TORCH_TRIPLETS.filter((triplet) => triplet[pkg].includes(companionParsed.base)).map(
      (triplet) => triplet.torch,
    );
    if (pairedTorch.length > 0 && !pairedTorch.includes(exactTorch)) {
      return {
        status: 'mismatch',
        expected,
        reason: `${pkg} ${companionParsed.base} requires torch==${pairedTorch.join(' or ')}, not ${exactTorch}`,
      };
    }
  }
  return { status: 'ok' };
}

export type VariantAvailability = 'published' | 'unverified' | 'absent' | 'unknown';

/** Is this wheel variant ('cu118', 'cpu', 'rocm6.2') published for the torch minor? */
export function variantAvailability(torchMinor: string, variant: string): VariantAvailability {
  const release = torchRelease(torchMinor);
  if (!release) return 'unknown';
  if (variant === 'cpu') return 'published';
  if (variant.startsWith('rocm')) return release.rocm.includes(variant) ? 'published' : 'unknown';
  const entry = release.cuda.find((candidate) => candidate.variant === variant);
  if (entry) return entry.status;
  return /^cu\d+$/.test(variant) ? 'absent' : 'unknown';
}

export function publishedCudaVariants(torchMinor: string): string[] {
  return (torchRelease(torchMinor)?.cuda ?? [])
    .filter((variant) => variant.status === 'published')
    .map((variant) => variant.variant);
}

/**
 * Picks the published CUDA variant of a torch release that best fits: same CUDA major as `preferCuda` and the
 * highest minor not above it, then the closest other minor of that major, then the closest variant overall.
 */
export function bestCudaVariant(torchMinor: string, preferCuda: string): string | undefined {
  const variants = publishedCudaVariants(torchMinor);
  const target = preferCuda.split('.').map(Number);
  const scored = variants
    .map((variant) => {
      const cuda = variantToCuda(variant)!.split('.').map(Number);
      const sameMajor = cuda[0] === target[0];
      const distance = Math.abs((cuda[0]! - target[0]!) * 100 + (cuda[1]! - (target[1] ?? 0)));
      const notAbove = sameMajor && (cuda[1] ?? 0) <= (target[1] ?? 0);
      return { variant, score: (sameMajor ? 0 : 10000) + (notAbove ? 0 : 1000) + distance };
    })
    .sort((a, b) => a.score - b.score);
  return scored[0]?.variant;
}

export function pypiDefaultCuda(torchMinor: string): string | null {
  return torchRelease(torchMinor)?.pypiCuda ?? null;
}

export type PythonSupport = 'supported' | 'experimental' | 'unsupported' | 'unknown';

export function pythonSupport(torchMinor: string, pythonMinor: string): PythonSupport {
  const release = torchRelease(torchMinor);
  if (!release) return 'unknown';
  const { min, max, experimental } = release.python;
  if (experimental?.includes(pythonMinor)) return 'experimental';
  if (compareDotted(pythonMinor, min) < 0 || compareDotted(pythonMinor, max) > 0) return 'unsupported';
  return 'supported';
}

/** The oldest known torch release (at or after `from`) that has wheels for this Python. */
export function firstTorchForPython(pythonMinor: string, from: string): string | undefined {
  return TORCH_RELEASES.find(
    (release) => compareDotted(release.torch, from) >= 0 && pythonSupport(release.torch, pythonMinor) === 'supported',
  )?.torch;
}

/** Minimum Linux driver for a CUDA version ('12.8', '12.8.0') or wheel variant ('cu128'). */
export function driverMinFor(cudaOrVariant: string): { cuda: string; driver: string } | undefined {
  let full = WHEEL_CUDA_FULL_VERSION[cudaOrVariant];
  if (!full) {
    const cuda = cudaOrVariant.startsWith('cu') ? variantToCuda(cudaOrVariant) : cudaOrVariant;
    if (!cuda) return undefined;
    full = /^\d+\.\d+\.\d+$/.test(cuda) ? cuda : `${cuda}.0`;
  }
  const driver = CUDA_DRIVER_MIN[full];
  return driver ? { cuda: full, driver } : undefined;
}

export function latestCudaPatch(minor: string): string | undefined {
  return CUDA_LATEST_PATCH[minor];
}

export interface ParsedGpu {
  /** Compute capability 'X.Y'. */
  capability: string;
  label: string;
  model?: GpuModel;
}

const tokenize = (text: string): string[] =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((token) => token.length > 0 && !['nvidia', 'geforce', 'tesla'].includes(token));

/** Parses 'sm_120', 'sm90', 'compute_90', '8.6', 'H100', 'NVIDIA GeForce RTX 5090'. Undefined when not understood. */
export function parseGpuTarget(target: string): ParsedGpu | undefined {
  const trimmed = target.trim();
  const sm = /^(?:sm|compute)[_ ]?(\d{1,2})(\d)[a-z]?$/i.exec(trimmed);
  if (sm) return { capability: `${Number(sm[1])}.${sm[2]}`, label: `sm_${sm[1]}${sm[2]}` };
  const dotted = /^(\d{1,2})\.(\d)$/.exec(trimmed);
  if (dotted) return { capability: `${dotted[1]}.${dotted[2]}`, label: `sm_${dotted[1]}${dotted[2]}` };
  const tokens = tokenize(trimmed);
  const compact = tokens.join('');
  let best: { model: GpuModel; length: number } | undefined;
  for (const model of GPU_MODELS) {
    for (const name of model.names) {
      const nameTokens = tokenize(name);
      const nameCompact = nameTokens.join('');
      let matched = nameCompact === compact;
      for (let start = 0; !matched && start + nameTokens.length <= tokens.length; start++) {
        matched = nameTokens.every((token, offset) => tokens[start + offset] === token);
      }
      if (!matched) {
        // 'rtx5090' against 'RTX 5090'
        matched = tokens.some((token) => token === nameCompact);
      }
      if (matched && (!best || nameCompact.length > best.length)) best = { model, length: nameCompact.length };
    }
  }
  if (!best) return undefined;
  const [major, minor] = best.model.capability.split('.');
  return { capability: best.model.capability, label: `${trimmed} (sm_${major}${minor})`, model: best.model };
}

export type ArchSupport = { status: 'supported' | 'unsupported' | 'unknown'; archs?: string[]; source?: string };

/**
 * Does a wheel variant carry kernels for this compute capability? SASS for X.y runs on X.z with z >= y (same major);
 * a '+PTX' entry also JIT-compiles on any newer GPU.
 */
export function archSupport(variant: string, capability: string): ArchSupport {
  const entry = WHEEL_ARCHS[variant];
  if (!entry) return { status: 'unknown' };
  const [major, minor] = capability.split('.').map(Number) as [number, number];
  if (!entry.archs) {
    if (entry.maxCapability && compareDotted(capability, entry.maxCapability) > 0 && major >= 10) {
      return { status: 'unsupported', source: entry.source };
    }
    return { status: 'unknown' };
  }
  for (const arch of entry.archs) {
    const ptx = arch.endsWith('+PTX');
    const [archMajor, archMinor] = arch.replace('+PTX', '').split('.').map(Number) as [number, number];
    if (archMajor === major && archMinor <= minor)
      return { status: 'supported', archs: entry.archs, source: entry.source };
    if (ptx && compareDotted(capability, `${archMajor}.${archMinor}`) >= 0) {
      return { status: 'supported', archs: entry.archs, source: entry.source };
    }
  }
  return { status: 'unsupported', archs: entry.archs, source: entry.source };
}
