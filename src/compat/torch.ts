import type { SourceKey } from './sources.js';

/**
 * PyTorch release facts, one row per minor release, copied from ../shared/reference/pytorch-compat.md.
 * To add a release: append a row to TORCH_RELEASES (and its patch triplets to TORCH_TRIPLETS), each value with the
 * source key it was read from. Anything not listed is "unknown" to the analyser, never a conflict.
 *
 * 2.14 is deliberately absent: at the reference snapshot it was a release candidate and its companions and CUDA
 * variants are UNVERIFIED.
 */

/** 'published': the source lists it. 'unverified': only secondary or third-party evidence; treated as unknown. */
export type Evidence = 'published' | 'unverified';

export interface CudaVariant {
  /** Index / local-version spelling: 'cu118', 'cu128', ... */
  variant: string;
  status: Evidence;
}

export interface TorchRelease {
  /** Minor version, e.g. '2.7'. */
  torch: string;
  /** torchvision minor that pairs with it (S-VIS-README). */
  torchvision: string;
  /** torchaudio minor that pairs with it (S-AUD-RST <=2.6, S-AUD-2.11 from 2.7; 2.11 covers torch 2.11 and later). */
  torchaudio: string;
  /** Python versions with torch wheels (inclusive); experimental versions have wheels but no support promise. */
  python: { min: string; max: string; experimental?: string[]; source: SourceKey; note?: string };
  /** CUDA wheel variants published on download.pytorch.org for Linux. */
  cuda: CudaVariant[];
  cudaSource: SourceKey;
  /** ROCm wheel variants ('rocm6.2.4'). */
  rocm: string[];
  /** CUDA build of the plain PyPI Linux wheel (`pip install torch` with no index); null = unknown. */
  pypiCuda: string | null;
  pypiCudaSource?: SourceKey;
  /** cuDNN major in pytorch/pytorch Docker tags; null = unknown. */
  dockerCudnn: '8' | '9' | null;
  /** CUDA major.minor values that pytorch/pytorch tags exist for; null = unknown (no check). */
  dockerCuda: string[] | null;
  dockerSource?: SourceKey;
  sources: SourceKey[];
}

const cu = (...variants: string[]): CudaVariant[] => variants.map((variant) => ({ variant, status: 'published' }));

export const TORCH_RELEASES: readonly TorchRelease[] = [
  {
    torch: '1.10',
    torchvision: '0.11',
    torchaudio: '0.10',
    python: { min: '3.6', max: '3.9', source: 'S-VIS-README', note: 'not in RELEASE.md; vision README and audio docs' },
    cuda: [...cu('cu102', 'cu111'), { variant: 'cu113', status: 'unverified' }],
    cudaSource: 'S-PREV-repo',
    rocm: ['rocm4.0.1', 'rocm4.1', 'rocm4.2'],
    pypiCuda: null,
    dockerCudnn: '8',
    dockerCuda: null,
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-PREV-repo', 'S-WIKI'],
  },
  {
    torch: '1.11',
    torchvision: '0.12',
    torchaudio: '0.11',
    python: { min: '3.7', max: '3.10', source: 'S-VIS-README', note: 'audio docs say <=3.9' },
    cuda: cu('cu102', 'cu113'),
    cudaSource: 'S-PREV-repo',
    rocm: ['rocm4.5.2'],
    pypiCuda: null,
    dockerCudnn: '8',
    dockerCuda: null,
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-PREV-repo'],
  },
  {
    torch: '1.12',
    torchvision: '0.13',
    torchaudio: '0.12',
    python: { min: '3.7', max: '3.10', source: 'S-PT-REL-old' },
    cuda: cu('cu102', 'cu113', 'cu116'),
    cudaSource: 'S-PREV-repo',
    rocm: ['rocm5.0', 'rocm5.1.1'],
    pypiCuda: null,
    dockerCudnn: '8',
    dockerCuda: null,
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-PT-REL-old', 'S-PREV-repo'],
  },
  {
    torch: '1.13',
    torchvision: '0.14',
    torchaudio: '0.13',
    python: { min: '3.7', max: '3.10', source: 'S-TI-BM' },
    cuda: cu('cu116', 'cu117'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm5.2'],
    pypiCuda: 'cu117',
    pypiCudaSource: 'S-PREV-repo',
    dockerCudnn: '8',
    dockerCuda: null,
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-PREV-repo'],
  },
  {
    torch: '2.0',
    torchvision: '0.15',
    torchaudio: '2.0',
    python: { min: '3.8', max: '3.11', source: 'S-TI-BM' },
    cuda: cu('cu117', 'cu118'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm5.4.2'],
    pypiCuda: 'cu117',
    pypiCudaSource: 'S-PREV-repo',
    dockerCudnn: '8',
    dockerCuda: null,
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-PREV-repo'],
  },
  {
    torch: '2.1',
    torchvision: '0.16',
    torchaudio: '2.1',
    python: { min: '3.8', max: '3.11', source: 'S-TI-BM' },
    cuda: cu('cu118', 'cu121'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm5.6'],
    pypiCuda: null,
    dockerCudnn: '8',
    dockerCuda: ['11.8', '12.1'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-TI-RM'],
  },
  {
    torch: '2.2',
    torchvision: '0.17',
    torchaudio: '2.2',
    python: { min: '3.8', max: '3.12', source: 'S-TI-BM', note: 'RELEASE.md: <=3.11, 3.12 experimental' },
    cuda: cu('cu118', 'cu121'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm5.6', 'rocm5.7'],
    pypiCuda: null,
    dockerCudnn: '8',
    dockerCuda: ['11.8', '12.1'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-TI-RM'],
  },
  {
    torch: '2.3',
    torchvision: '0.18',
    torchaudio: '2.3',
    python: { min: '3.8', max: '3.12', source: 'S-TI-BM', note: 'RELEASE.md: <=3.11, 3.12 experimental' },
    cuda: cu('cu118', 'cu121'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm5.7', 'rocm6.0'],
    pypiCuda: null,
    dockerCudnn: '8',
    dockerCuda: ['11.8', '12.1'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-TI-RM'],
  },
  {
    torch: '2.4',
    torchvision: '0.19',
    torchaudio: '2.4',
    python: { min: '3.8', max: '3.12', source: 'S-TI-BM' },
    cuda: cu('cu118', 'cu121', 'cu124'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm6.0', 'rocm6.1'],
    pypiCuda: null,
    dockerCudnn: '9',
    dockerCuda: ['11.8', '12.1', '12.4'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-TI-RM'],
  },
  {
    torch: '2.5',
    torchvision: '0.20',
    torchaudio: '2.5',
    python: {
      min: '3.9',
      max: '3.12',
      experimental: ['3.13'],
      source: 'S-TI-BM',
      note: 'RELEASE.md: 3.13 experimental',
    },
    cuda: cu('cu118', 'cu121', 'cu124'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm6.1', 'rocm6.2'],
    pypiCuda: null,
    dockerCudnn: '9',
    dockerCuda: ['11.8', '12.1', '12.4'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-TI-RM'],
  },
  {
    torch: '2.6',
    torchvision: '0.21',
    torchaudio: '2.6',
    python: { min: '3.9', max: '3.13', source: 'S-TI-BM' },
    cuda: cu('cu118', 'cu124', 'cu126'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm6.1', 'rocm6.2.4'],
    pypiCuda: 'cu124',
    pypiCudaSource: 'S-TI-PYPI',
    dockerCudnn: '9',
    dockerCuda: ['11.8', '12.4', '12.6'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-RST', 'S-TI-BM', 'S-PREV-web'],
  },
  {
    torch: '2.7',
    torchvision: '0.22',
    torchaudio: '2.7',
    python: { min: '3.9', max: '3.13', source: 'S-TI-BM' },
    cuda: cu('cu118', 'cu126', 'cu128'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm6.2.4', 'rocm6.3'],
    pypiCuda: 'cu126',
    pypiCudaSource: 'S-TI-PYPI',
    dockerCudnn: '9',
    dockerCuda: ['11.8', '12.6', '12.8'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM', 'S-TI-RV'],
  },
  {
    torch: '2.8',
    torchvision: '0.23',
    torchaudio: '2.8',
    python: { min: '3.9', max: '3.13', source: 'S-TI-BM' },
    cuda: cu('cu126', 'cu128', 'cu129'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm6.3', 'rocm6.4'],
    pypiCuda: null,
    dockerCudnn: '9',
    dockerCuda: ['12.6', '12.8', '12.9'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM'],
  },
  {
    torch: '2.9',
    torchvision: '0.24',
    torchaudio: '2.9',
    python: { min: '3.10', max: '3.14', source: 'S-TI-BM' },
    cuda: cu('cu126', 'cu128', 'cu130'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm6.3', 'rocm6.4'],
    pypiCuda: null,
    dockerCudnn: '9',
    dockerCuda: ['12.6', '12.8', '13.0'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM', 'S-PREV-web'],
  },
  {
    torch: '2.10',
    torchvision: '0.25',
    torchaudio: '2.10',
    python: { min: '3.10', max: '3.14', source: 'S-TI-BM' },
    cuda: cu('cu126', 'cu128', 'cu130'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm7.0', 'rocm7.1'],
    pypiCuda: null,
    dockerCudnn: '9',
    dockerCuda: ['12.6', '12.8', '13.0'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM'],
  },
  {
    torch: '2.11',
    torchvision: '0.26',
    torchaudio: '2.11',
    python: { min: '3.10', max: '3.14', source: 'S-TI-BM' },
    cuda: cu('cu126', 'cu128', 'cu130'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm7.1', 'rocm7.2'],
    pypiCuda: 'cu130',
    pypiCudaSource: 'S-TI-PYPI',
    dockerCudnn: '9',
    dockerCuda: ['12.6', '12.8', '13.0'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM', 'S-TI-RV'],
  },
  {
    torch: '2.12',
    torchvision: '0.27',
    torchaudio: '2.11',
    python: { min: '3.10', max: '3.14', source: 'S-TI-BM' },
    cuda: cu('cu126', 'cu130', 'cu132'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm7.1', 'rocm7.2'],
    pypiCuda: 'cu130',
    pypiCudaSource: 'S-TI-PYPI',
    dockerCudnn: '9',
    dockerCuda: ['12.6', '13.0', '13.2'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM', 'S-TI-RV'],
  },
  {
    torch: '2.13',
    torchvision: '0.28',
    torchaudio: '2.11',
    python: { min: '3.10', max: '3.14', source: 'S-TI-BM' },
    cuda: cu('cu126', 'cu130', 'cu132'),
    cudaSource: 'S-TI-BM',
    rocm: ['rocm7.1', 'rocm7.2'],
    pypiCuda: 'cu130',
    pypiCudaSource: 'S-TI-PYPI',
    dockerCudnn: '9',
    dockerCuda: ['12.6', '13.0', '13.2'],
    dockerSource: 'S-TI-DK',
    sources: ['S-VIS-README', 'S-AUD-2.11', 'S-TI-BM'],
  },
];

/**
 * Patch-level pip triplets (pytorch-compat.md §1a). The first companion version is the pip one; further versions are
 * other builds known to pair with the same torch (conda-only or third-party), never suggested as a fix.
 * `evidence: 'unverified'` rows are known only from third-party pins.
 */
export interface TorchTriplet {
  torch: string;
  torchvision: string[];
  torchaudio: string[];
  evidence: 'upstream' | 'secondary' | 'unverified';
  source: SourceKey[];
  note?: string;
}

export const TORCH_TRIPLETS: readonly TorchTriplet[] = [
  {
    torch: '1.10.0',
    torchvision: ['0.11.0', '0.11.1'],
    torchaudio: ['0.10.0'],
    evidence: 'upstream',
    source: ['S-PREV-repo', 'S-WIKI'],
    note: 'torchvision 0.11.1 only in third-party tables (UNVERIFIED); accepted, never suggested',
  },
  { torch: '1.10.1', torchvision: ['0.11.2'], torchaudio: ['0.10.1'], evidence: 'upstream', source: ['S-PREV-repo'] },
  { torch: '1.10.2', torchvision: ['0.11.3'], torchaudio: ['0.10.2'], evidence: 'unverified', source: [] },
  { torch: '1.11.0', torchvision: ['0.12.0'], torchaudio: ['0.11.0'], evidence: 'upstream', source: ['S-PREV-repo'] },
  { torch: '1.12.0', torchvision: ['0.13.0'], torchaudio: ['0.12.0'], evidence: 'upstream', source: ['S-PREV-repo'] },
  { torch: '1.12.1', torchvision: ['0.13.1'], torchaudio: ['0.12.1'], evidence: 'upstream', source: ['S-PREV-repo'] },
  { torch: '1.13.0', torchvision: ['0.14.0'], torchaudio: ['0.13.0'], evidence: 'upstream', source: ['S-PREV-repo'] },
  { torch: '1.13.1', torchvision: ['0.14.1'], torchaudio: ['0.13.1'], evidence: 'upstream', source: ['S-PREV-repo'] },
  {
    torch: '2.0.0',
    torchvision: ['0.15.1', '0.15.0'],
    torchaudio: ['2.0.1', '2.0.0'],
    evidence: 'upstream',
    source: ['S-PREV-repo', 'S-AUD-RST', 'S-WIKI'],
    note: 'pip pairs 0.15.1 / 2.0.1; conda used 0.15.0 / 2.0.0',
  },
  { torch: '2.0.1', torchvision: ['0.15.2'], torchaudio: ['2.0.2'], evidence: 'upstream', source: ['S-PREV-repo'] },
  { torch: '2.1.0', torchvision: ['0.16.0'], torchaudio: ['2.1.0'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.1.1', torchvision: ['0.16.1'], torchaudio: ['2.1.1'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.1.2', torchvision: ['0.16.2'], torchaudio: ['2.1.2'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.2.0', torchvision: ['0.17.0'], torchaudio: ['2.2.0'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.2.1', torchvision: ['0.17.1'], torchaudio: ['2.2.1'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.2.2', torchvision: ['0.17.2'], torchaudio: ['2.2.2'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.3.0', torchvision: ['0.18.0'], torchaudio: ['2.3.0'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.3.1', torchvision: ['0.18.1'], torchaudio: ['2.3.1'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.4.0', torchvision: ['0.19.0'], torchaudio: ['2.4.0'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.4.1', torchvision: ['0.19.1'], torchaudio: ['2.4.1'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.5.0', torchvision: ['0.20.0'], torchaudio: ['2.5.0'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.5.1', torchvision: ['0.20.1'], torchaudio: ['2.5.1'], evidence: 'upstream', source: ['S-TI-RM'] },
  { torch: '2.6.0', torchvision: ['0.21.0'], torchaudio: ['2.6.0'], evidence: 'upstream', source: ['S-PREV-web'] },
  { torch: '2.7.0', torchvision: ['0.22.0'], torchaudio: ['2.7.0'], evidence: 'upstream', source: ['S-TI-RV'] },
  {
    torch: '2.7.1',
    torchvision: ['0.22.1'],
    torchaudio: ['2.7.1'],
    evidence: 'secondary',
    source: ['S-AUD-2.11'],
    note: 'torchvision 0.22.1 from a secondary copy (nixpkgs wheel URL)',
  },
  {
    torch: '2.8.0',
    torchvision: ['0.23.0'],
    torchaudio: ['2.8.0'],
    evidence: 'secondary',
    source: ['S-AUD-2.11'],
    note: 'torchvision 0.23.0 from a secondary copy',
  },
  { torch: '2.9.0', torchvision: ['0.24.0'], torchaudio: ['2.9.0'], evidence: 'upstream', source: ['S-PREV-web'] },
  { torch: '2.9.1', torchvision: ['0.24.1'], torchaudio: ['2.9.1'], evidence: 'upstream', source: ['S-PREV-web'] },
  {
    torch: '2.10.0',
    torchvision: ['0.25.0'],
    torchaudio: ['2.10.0'],
    evidence: 'secondary',
    source: ['S-VIS-README', 'S-AUD-2.11'],
    note: 'patch 0.25.0 from third-party pins; minors upstream',
  },
  { torch: '2.11.0', torchvision: ['0.26.0'], torchaudio: ['2.11.0'], evidence: 'upstream', source: ['S-TI-RV'] },
  { torch: '2.12.1', torchvision: ['0.27.1'], torchaudio: ['2.11.0'], evidence: 'upstream', source: ['S-TI-RV'] },
  {
    torch: '2.13.0',
    torchvision: ['0.28.0'],
    torchaudio: ['2.11.0'],
    evidence: 'secondary',
    source: ['S-VIS-README'],
    note: 'patch pairing from third-party pins; minors from S-VIS-README',
  },
];

/**
 * torchaudio from 2.11 on is built against PyTorch's stable ABI and supports torch 2.11 and every later release
 * (S-AUD-2.11, S-TI-RV). Older torchaudio only works with the torch of the same release (S-AUD-RST).
 */
export const TORCHAUDIO_STABLE_ABI_FROM = '2.11';
