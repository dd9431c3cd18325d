import type { SourceKey } from './sources.js';

/**
 * CUDA toolkit facts: minimum Linux x86_64 driver per toolkit release (S-NV-RN Table 3), the exact toolkit each
 * PyTorch wheel variant is built with (S-TI-BM), the GPU architectures compiled into the wheels (S-PT-BUILD-CUDA) and
 * the nvidia/cuda Docker tag rules (S-NV-TAGS, S-NV-README).
 */

/** Minimum Linux x86_64 driver per CUDA toolkit release (S-NV-RN Table 3; "Update N" = X.Y.N). */
export const CUDA_DRIVER_MIN: Readonly<Record<string, string>> = {
  '13.2.1': '595.58.03',
  '13.2.0': '595.45.04',
  '13.1.1': '590.48.01',
  '13.1.0': '590.44.01',
  '13.0.2': '580.95.05',
  '13.0.1': '580.82.07',
  '13.0.0': '580.65.06',
  '12.9.1': '575.57.08',
  '12.9.0': '575.51.03',
  '12.8.1': '570.124.06',
  '12.8.0': '570.26',
  '12.6.3': '560.35.05',
  '12.6.2': '560.35.03',
  '12.6.1': '560.35.03',
  '12.6.0': '560.28.03',
  '12.5.1': '555.42.06',
  '12.5.0': '555.42.02',
  '12.4.1': '550.54.15',
  '12.4.0': '550.54.14',
  '12.3.1': '545.23.08',
  '12.3.0': '545.23.06',
  '12.2.2': '535.104.05',
  '12.2.1': '535.86.09',
  '12.2.0': '535.54.03',
  '12.1.1': '530.30.02',
  '12.1.0': '530.30.02',
  '12.0.1': '525.85.12',
  '12.0.0': '525.60.13',
  '11.8.0': '520.61.05',
  '11.7.1': '515.48.07',
  '11.7.0': '515.43.04',
  '11.6.2': '510.47.03',
  '11.6.1': '510.47.03',
  '11.6.0': '510.39.01',
  '11.5.2': '495.29.05',
  '11.5.1': '495.29.05',
  '11.5.0': '495.29.05',
  '11.4.4': '470.82.01',
  '11.4.3': '470.82.01',
  '11.4.2': '470.57.02',
  '11.4.1': '470.57.02',
  '11.4.0': '470.42.01',
  '11.3.1': '465.19.01',
  '11.3.0': '465.19.01',
  '11.2.2': '460.32.03',
  '11.2.1': '460.32.03',
  '11.2.0': '460.27.03',
  '11.1.1': '455.32',
  '11.1.0': '455.23',
  '11.0.3': '450.51.06',
  '11.0.2': '450.51.05',
  '10.2.89': '440.33',
};

/** CUDA minor version compatibility (S-NV-RN Table 2, verbatim): a driver in this range runs any X.y toolkit. */
export const CUDA_MINOR_COMPAT: Readonly<Record<string, { min: string; maxExclusive?: string }>> = {
  '13': { min: '580' },
  '12': { min: '525', maxExclusive: '580' },
  '11': { min: '450', maxExclusive: '525' },
};

/** Newest known patch release per CUDA minor: Table 3 rows, plus 12.3.2 from S-NV-TAGS. Used to complete `X.Y`. */
export const CUDA_LATEST_PATCH: Readonly<Record<string, string>> = {
  '13.2': '13.2.1',
  '13.1': '13.1.1',
  '13.0': '13.0.2',
  '12.9': '12.9.1',
  '12.8': '12.8.1',
  '12.6': '12.6.3',
  '12.5': '12.5.1',
  '12.4': '12.4.1',
  '12.3': '12.3.2',
  '12.2': '12.2.2',
  '12.1': '12.1.1',
  '12.0': '12.0.1',
  '11.8': '11.8.0',
  '11.7': '11.7.1',
  '11.6': '11.6.2',
  '11.5': '11.5.2',
  '11.4': '11.4.4',
  '11.3': '11.3.1',
  '11.2': '11.2.2',
  '11.1': '11.1.1',
  '11.0': '11.0.3',
};

/** The exact toolkit PyTorch builds each wheel variant with (S-TI-BM CUDA_ARCHES_FULL_VERSION dict). */
export const WHEEL_CUDA_FULL_VERSION: Readonly<Record<string, string>> = {
  cu118: '11.8.0',
  cu121: '12.1.1',
  cu124: '12.4.1',
  cu126: '12.6.3',
  cu128: '12.8.0',
  cu129: '12.9.1',
  cu130: '13.0.0',
  cu132: '13.2.0',
};

export interface ArchList {
  /** Compute capabilities with SASS in the wheel, e.g. '8.6'. A trailing '+PTX' entry can JIT to newer GPUs. */
  archs: string[] | null;
  /** When the full list is unknown: GPUs above this capability certainly have no kernels. */
  maxCapability?: string;
  source: SourceKey;
}

/** GPU architectures compiled into the Linux x86_64 CUDA wheels. */
export const WHEEL_ARCHS: Readonly<Record<string, ArchList>> = {
  cu126: { archs: ['5.0', '6.0', '7.0', '7.5', '8.0', '8.6', '9.0'], source: 'S-PT-BUILD-CUDA' },
  cu128: { archs: ['7.0', '7.5', '8.0', '8.6', '9.0', '10.0', '12.0'], source: 'S-PT-BUILD-CUDA' },
  cu129: { archs: ['7.0', '7.5', '8.0', '8.6', '9.0', '10.0', '12.0+PTX'], source: 'S-PT-BUILD-CUDA' },
  cu130: { archs: ['7.5', '8.0', '8.6', '9.0', '10.0', '12.0+PTX'], source: 'S-PT-BUILD-CUDA' },
  cu132: { archs: ['7.5', '8.0', '8.6', '9.0', '10.0', '12.0+PTX'], source: 'S-PT-REL-copy' },
  // Older builds: the exact list is not in the reference, but Blackwell (10.x, 12.x) kernels first appear with cu128
  // and the catalog shows "a cu124/cu126 build on Blackwell" failing with "no kernel image is available".
  cu124: { archs: null, maxCapability: '9.0', source: 'S-ERR-CATALOG' },
  cu121: { archs: null, maxCapability: '9.0', source: 'S-ERR-CATALOG' },
  cu118: { archs: null, maxCapability: '9.0', source: 'S-ERR-CATALOG' },
};

/**
 * How the cuDNN part of an nvidia/cuda tag is spelled (S-NV-TAGS): `-cudnn-` from 12.4.1, `-cudnn9-` for 12.3.2,
 * `-cudnn8-` for 12.2.2 and earlier and 11.x. 12.4.0-cudnn8 does not exist (S-PR-125632).
 * Returns the valid spelling, or null when the data does not say.
 */
export function nvidiaCudnnSpelling(version: [number, number, number]): 'cudnn' | 'cudnn9' | 'cudnn8' | null {
  const [major, minor, patch] = version;
  const key = major * 10000 + minor * 100 + patch;
  if (key >= 120401) return 'cudnn';
  if (key === 120302) return 'cudnn9';
  if (major === 11 || (major === 12 && minor <= 2)) return 'cudnn8';
  return null;
}

/** Rules about which OS images exist per CUDA version (S-NV-README). */
export const NVIDIA_CUDA_OS_RULES = {
  /** "CUDA 12.5.1 brings support for Ubuntu 24.04 images". */
  ubuntu2404From: [12, 5, 1] as const,
  /** "Centos7 and Ubi7 based images are available up till CUDA 12.4.0". */
  centos7Until: [12, 4, 0] as const,
  /** 12.5.1 on ubuntu24.04 has only base, devel and runtime (S-NV-TAGS). */
  noCudnnOnUbuntu2404: ['12.5.1'],
};

export const NVIDIA_CUDA_FLAVORS = ['base', 'runtime', 'devel'] as const;
