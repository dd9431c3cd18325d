import { variantToCuda, type Companion } from '../../compat/index.js';
import type { Stage } from '../model.js';

export function versionLabel(state: { exact: string | null; minor: string | null }): string {
  return state.exact ?? (state.minor ? `${state.minor}.x` : 'of unknown version');
}

export function rootStage(stage: Stage): Stage {
  let current = stage;
  while (current.parent) current = current.parent;
  return current;
}

export function runtimeFailure(pkg: Companion): string {
  return pkg === 'torchvision'
    ? 'at import time it fails with errors such as "operator torchvision::nms does not exist" or undefined symbols'
    : 'importing it fails with undefined symbols, or torchaudio refuses to load its C++ extension';
}

export function cudaMinorish(version: string): string {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? `${match[1]}.${match[2]}` : version;
}

export function compareTuple(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < 3; index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

export function nearestRelease(releases: string[], to: string): string {
  return [...releases].sort((a, b) => Math.abs(distance(a, to)) - Math.abs(distance(b, to)))[0]!;
}

export function distance(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number) as [number, number];
  const [bMajor, bMinor] = b.split('.').map(Number) as [number, number];
  return (aMajor - bMajor) * 100 + (aMinor - bMinor);
}

/** Picks the variant whose CUDA is closest to `cuda` (same major first, not above it first). */
export function pickClosest(variants: string[], cuda: string | null): string | undefined {
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
