import { explain } from '@renovatebot/pep440';

/** A parsed PEP 440 version, with the parts the analyser needs. */
export interface ParsedVersion {
  /** The text as written. */
  text: string;
  release: number[];
  /** Local label without '+', e.g. 'cu121'. */
  local: string | null;
  prerelease: boolean;
  /** 'X.Y' */
  minor: string;
  /** 'X.Y.Z' (zero-padded release, no pre/post/dev/local). */
  base: string;
  /** Public version (no local label), e.g. '1.0.1.post2'. */
  public: string;
}

const cache = new Map<string, ParsedVersion | null>();

export function parseVersion(text: string): ParsedVersion | null {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  let parsed: ParsedVersion | null = null;
  const info = /^[0-9v]/.test(text) ? explain(text) : null;
  if (info && info.release.length > 0) {
    const release = info.release;
    const major = release[0] ?? 0;
    const minor = release[1] ?? 0;
    const patch = release[2] ?? 0;
    parsed = {
      text,
      release,
      local: info.local,
      prerelease: info.is_prerelease,
      minor: `${major}.${minor}`,
      base: `${major}.${minor}.${patch}`,
      public: info.public,
    };
  }
  if (cache.size > 2000) cache.clear();
  cache.set(text, parsed);
  return parsed;
}

/** Compares two 'X.Y' (or 'X.Y.Z') version strings numerically. */
export function compareDotted(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** 'cu121' -> '12.1', 'cu90' -> '9.0', 'cu102' -> '10.2'; null for anything else. */
export function variantToCuda(variant: string): string | null {
  const match = /^cu(\d+)$/.exec(variant);
  if (!match || match[1] === undefined) return null;
  const digits = match[1];
  if (digits.length === 2) return `${digits[0]}.${digits[1]}`;
  if (digits.length === 3) return `${digits.slice(0, 2)}.${digits[2]}`;
  return null;
}

/** '12.1' / '12.1.0' -> 'cu121'. */
export function cudaToVariant(cuda: string): string | null {
  const match = /^(\d+)\.(\d+)/.exec(cuda);
  if (!match) return null;
  return `cu${match[1]}${match[2]}`;
}

/** 'X.Y' of a CUDA version string. */
export function cudaMinor(cuda: string): string | null {
  const match = /^(\d+)\.(\d+)/.exec(cuda);
  return match ? `${match[1]}.${match[2]}` : null;
}
