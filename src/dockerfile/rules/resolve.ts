import {
  cudaToVariant,
  pypiDefaultCuda,
  torchMinorsForCompanion,
  variantAvailability,
  type TorchFamily,
} from '../../compat/index.js';
import type { IndexRef, InstallCommand, PackageRequest } from '../model.js';

const FAMILY = new Set<string>(['torch', 'torchvision', 'torchaudio', 'pytorch']);
export const familyName = (name: string): TorchFamily | null =>
  name === 'pytorch' ? 'torch' : FAMILY.has(name) ? (name as TorchFamily) : null;

/** What one torch-family request installs, as far as the Dockerfile tells. */
export interface Resolved {
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

/** Resolves a request as pip (or conda, or uv) would: its version, its CUDA build and how the Dockerfile chose it. */
export function resolveRequest(
  install: InstallCommand,
  request: PackageRequest,
  constraints: PackageRequest[],
): Resolved {
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
