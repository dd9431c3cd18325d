import type { SourceKey } from './sources.js';

/**
 * The python3 an OS release installs with `apt-get install python3` (X-DISTRO: not in pytorch-compat.md). Only used
 * when a Dockerfile installs the distribution's own python3 / python3-pip.
 */
export const DISTRO_PYTHON: Readonly<Record<string, { python: string; source: SourceKey }>> = {
  'ubuntu18.04': { python: '3.6', source: 'X-DISTRO' },
  'ubuntu20.04': { python: '3.8', source: 'X-DISTRO' },
  'ubuntu22.04': { python: '3.10', source: 'X-DISTRO' },
  'ubuntu24.04': { python: '3.12', source: 'X-DISTRO' },
  'debian-stretch': { python: '3.5', source: 'X-DISTRO' },
  'debian-buster': { python: '3.7', source: 'X-DISTRO' },
  'debian-bullseye': { python: '3.9', source: 'X-DISTRO' },
  'debian-bookworm': { python: '3.11', source: 'X-DISTRO' },
  'debian-trixie': { python: '3.13', source: 'X-DISTRO' },
};

const UBUNTU_CODENAMES: Readonly<Record<string, string>> = {
  bionic: '18.04',
  focal: '20.04',
  jammy: '22.04',
  noble: '24.04',
};
const DEBIAN_NUMBERS: Readonly<Record<string, string>> = {
  '9': 'stretch',
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
};

/** Normalises 'ubuntu:22.04', 'jammy', 'ubuntu22.04', 'debian:12-slim', 'bookworm' to a DISTRO_PYTHON key. */
export function normaliseDistro(text: string): string | null {
  const lower = text.toLowerCase();
  const ubuntu = /ubuntu[:-]?(\d\d\.\d\d)/.exec(lower);
  if (ubuntu) return `ubuntu${ubuntu[1]}`;
  for (const [name, version] of Object.entries(UBUNTU_CODENAMES)) if (lower.includes(name)) return `ubuntu${version}`;
  const debian = /debian[:-](\d+)/.exec(lower);
  if (debian && debian[1] !== undefined) {
    const name = DEBIAN_NUMBERS[debian[1]];
    if (name) return `debian-${name}`;
  }
  for (const name of Object.values(DEBIAN_NUMBERS)) if (lower.includes(name)) return `debian-${name}`;
  if (lower.includes('jessie')) return 'debian-jessie';
  return null;
}
