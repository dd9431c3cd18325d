import type { SourceKey } from './sources.js';

export interface GpuModel {
  names: string[];
  /** Compute capability, e.g. '9.0'. */
  capability: string;
  architecture: string;
  source: SourceKey;
}

/**
 * Common data-centre and desktop GPUs and their compute capability. The RTX 5090 (sm_120) row is confirmed by the
 * error text in pytorch-compat.md §5b #3 and the architecture family names by S-PT-REL-copy; the rest come from
 * NVIDIA's compute capability list, which pytorch-compat.md does not contain (X-NV-CC).
 */
export const GPU_MODELS: readonly GpuModel[] = [
  { names: ['K80'], capability: '3.7', architecture: 'Kepler', source: 'X-NV-CC' },
  { names: ['M60'], capability: '5.2', architecture: 'Maxwell', source: 'X-NV-CC' },
  { names: ['P100'], capability: '6.0', architecture: 'Pascal', source: 'X-NV-CC' },
  { names: ['P4', 'P40', 'GTX 1080', 'GTX 1080 Ti'], capability: '6.1', architecture: 'Pascal', source: 'X-NV-CC' },
  { names: ['V100'], capability: '7.0', architecture: 'Volta', source: 'X-NV-CC' },
  {
    names: ['T4', 'RTX 2080', 'RTX 2080 Ti', 'Quadro RTX 8000'],
    capability: '7.5',
    architecture: 'Turing',
    source: 'X-NV-CC',
  },
  { names: ['A100', 'A30'], capability: '8.0', architecture: 'Ampere', source: 'X-NV-CC' },
  {
    names: ['A10', 'A10G', 'A40', 'A16', 'A2', 'RTX A6000', 'RTX 3090', 'RTX 3080', 'RTX 3070', 'RTX 3060'],
    capability: '8.6',
    architecture: 'Ampere',
    source: 'X-NV-CC',
  },
  { names: ['Jetson Orin', 'Orin'], capability: '8.7', architecture: 'Ampere', source: 'X-NV-CC' },
  {
    names: ['L4', 'L40', 'L40S', 'RTX 4090', 'RTX 4080', 'RTX 4070', 'RTX 6000 Ada'],
    capability: '8.9',
    architecture: 'Ada Lovelace',
    source: 'X-NV-CC',
  },
  { names: ['H100', 'H200', 'GH200', 'H20', 'H800'], capability: '9.0', architecture: 'Hopper', source: 'X-NV-CC' },
  { names: ['B200', 'GB200', 'B100'], capability: '10.0', architecture: 'Blackwell', source: 'X-NV-CC' },
  { names: ['B300', 'GB300'], capability: '10.3', architecture: 'Blackwell Ultra', source: 'X-NV-CC' },
  {
    names: ['RTX 5090', 'RTX 5080', 'RTX 5070', 'RTX 5070 Ti', 'RTX 5060', 'RTX PRO 6000', 'RTX PRO 6000 Blackwell'],
    capability: '12.0',
    architecture: 'Blackwell',
    source: 'S-ERR-CATALOG',
  },
];
