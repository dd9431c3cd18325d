import { describe, expect, it } from 'vitest';
import {
  archSupport,
  bestCudaVariant,
  checkCompanion,
  companionFor,
  companionVersionFor,
  cudaToVariant,
  driverMinFor,
  isNewerThanKnown,
  nvidiaCudnnSpelling,
  parseGpuTarget,
  pypiDefaultCuda,
  pythonSupport,
  SOURCES,
  TORCH_RELEASES,
  TORCH_TRIPLETS,
  variantAvailability,
  variantToCuda,
} from '../../../src/compat/index.js';

describe('compatibility data', () => {
  it('names a known source for every row', () => {
    for (const release of TORCH_RELEASES) {
      for (const key of [...release.sources, release.cudaSource, release.python.source])
        expect(SOURCES).toHaveProperty(key);
    }
    for (const triplet of TORCH_TRIPLETS) for (const key of triplet.source) expect(SOURCES).toHaveProperty(key);
  });

  it('pairs torch with torchvision and torchaudio at patch level', () => {
    expect(companionVersionFor('2.7.1', 'torchvision')).toBe('0.22.1');
    expect(companionVersionFor('2.7.1', 'torchaudio')).toBe('2.7.1');
    // pip pairs for 2.0.0 differ from conda's
    expect(companionVersionFor('2.0.0', 'torchvision')).toBe('0.15.1');
    expect(companionVersionFor('2.0.0', 'torchaudio')).toBe('2.0.1');
    expect(companionVersionFor('2.12.1', 'torchaudio')).toBe('2.11.0');
    // 1.10.2 is UNVERIFIED: only the minor is known
    expect(companionVersionFor('1.10.2', 'torchvision')).toBeUndefined();
    expect(companionFor('1.10.2', 'torchvision')?.minor).toBe('0.11');
    expect(companionVersionFor('2.15.0', 'torchvision')).toBeUndefined();
  });

  it('finds companion mismatches and accepts matching pairs', () => {
    expect(checkCompanion('2.7.1', 'torchvision', '0.15.0').status).toBe('mismatch');
    expect(checkCompanion('2.7.1', 'torchvision', '0.15.0').expected).toBe('0.22.1');
    expect(checkCompanion('2.7.1', 'torchvision', '0.22.1').status).toBe('ok');
    // patch level: torchvision 0.16.1 pins torch 2.1.1
    expect(checkCompanion('2.1.0', 'torchvision', '0.16.1').status).toBe('mismatch');
    expect(checkCompanion('2.0.1', 'torchaudio', '2.0.1').status).toBe('mismatch');
    expect(checkCompanion('2.0.0', 'torchaudio', '2.0.1').status).toBe('ok');
    // 0.11.1 with 1.10.0 comes from third-party tables: accepted
    expect(checkCompanion('1.10.0', 'torchvision', '0.11.1').status).toBe('ok');
    // older than the data still mismatches a known torch
    expect(checkCompanion('2.1.0', 'torchvision', '0.8.1').status).toBe('mismatch');
  });

  it('applies the torchaudio 2.11 stable-ABI rule', () => {
    expect(checkCompanion('2.12.0', 'torchaudio', '2.11.0').status).toBe('ok');
    expect(checkCompanion('2.13.0', 'torchaudio', '2.11.0').status).toBe('ok');
    expect(checkCompanion('2.11.0', 'torchaudio', '2.11.0').status).toBe('ok');
    expect(checkCompanion('2.10.0', 'torchaudio', '2.11.0').status).toBe('mismatch');
    expect(checkCompanion('2.12.0', 'torchaudio', '2.10.0').status).toBe('mismatch');
  });

  it('reports versions newer than the data as unknown, never as a conflict', () => {
    expect(isNewerThanKnown('torch', '2.15')).toBe(true);
    expect(checkCompanion('2.15.0', 'torchvision', '0.20.0').status).toBe('unknown');
    expect(checkCompanion('2.13.0', 'torchvision', '0.30.0').status).toBe('unknown');
    expect(checkCompanion('2.13.0', 'torchaudio', '2.12.0').status).toBe('unknown');
    expect(variantAvailability('2.15', 'cu118')).toBe('unknown');
    expect(pythonSupport('2.15', '3.9')).toBe('unknown');
  });

  it('knows the CUDA variants per release and the PyPI default build', () => {
    expect(variantAvailability('2.7', 'cu118')).toBe('published');
    expect(variantAvailability('2.8', 'cu118')).toBe('absent');
    expect(variantAvailability('2.6', 'cu121')).toBe('absent');
    expect(variantAvailability('1.10', 'cu113')).toBe('unverified');
    expect(variantAvailability('2.1', 'cpu')).toBe('published');
    expect(pypiDefaultCuda('2.6')).toBe('cu124');
    expect(pypiDefaultCuda('2.7')).toBe('cu126');
    expect(pypiDefaultCuda('2.8')).toBeNull();
    expect(pypiDefaultCuda('2.10')).toBeNull();
    expect(pypiDefaultCuda('2.11')).toBe('cu130');
    expect(pypiDefaultCuda('2.0')).toBe('cu117');
    expect(bestCudaVariant('2.8', '11.8')).toBe('cu126');
    expect(bestCudaVariant('2.6', '12.1')).toBe('cu124');
    expect(bestCudaVariant('2.7', '12.8')).toBe('cu128');
  });

  it('knows supported Python per release', () => {
    expect(pythonSupport('2.1', '3.12')).toBe('unsupported');
    expect(pythonSupport('2.2', '3.12')).toBe('supported');
    expect(pythonSupport('2.9', '3.9')).toBe('unsupported');
    expect(pythonSupport('2.5', '3.13')).toBe('experimental');
    expect(pythonSupport('1.13', '3.8')).toBe('supported');
  });

  it('spells nvidia/cuda cuDNN tags per CUDA version', () => {
    expect(nvidiaCudnnSpelling([12, 4, 1])).toBe('cudnn');
    expect(nvidiaCudnnSpelling([13, 0, 2])).toBe('cudnn');
    expect(nvidiaCudnnSpelling([12, 3, 2])).toBe('cudnn9');
    expect(nvidiaCudnnSpelling([12, 2, 2])).toBe('cudnn8');
    expect(nvidiaCudnnSpelling([11, 8, 0])).toBe('cudnn8');
    expect(nvidiaCudnnSpelling([10, 2, 0])).toBeNull();
  });

  it('knows driver minimums and GPU architectures', () => {
    expect(driverMinFor('cu128')).toEqual({ cuda: '12.8.0', driver: '570.26' });
    expect(driverMinFor('12.6.3')?.driver).toBe('560.35.05');
    expect(archSupport('cu126', '12.0').status).toBe('unsupported');
    expect(archSupport('cu128', '12.0').status).toBe('supported');
    expect(archSupport('cu130', '7.0').status).toBe('unsupported');
    expect(archSupport('cu126', '8.9').status).toBe('supported'); // sm_86 SASS runs on sm_89
    expect(archSupport('cu129', '12.1').status).toBe('supported'); // +PTX
    expect(archSupport('cu124', '10.0').status).toBe('unsupported');
    expect(archSupport('cu124', '8.0').status).toBe('unknown');
    expect(variantToCuda('cu121')).toBe('12.1');
    expect(variantToCuda('cu90')).toBe('9.0');
    expect(cudaToVariant('12.1.0')).toBe('cu121');
  });

  it('parses GPU targets by architecture and by name', () => {
    expect(parseGpuTarget('sm_120')?.capability).toBe('12.0');
    expect(parseGpuTarget('sm90')?.capability).toBe('9.0');
    expect(parseGpuTarget('8.6')?.capability).toBe('8.6');
    expect(parseGpuTarget('H100')?.capability).toBe('9.0');
    expect(parseGpuTarget('NVIDIA H100 80GB HBM3')?.capability).toBe('9.0');
    expect(parseGpuTarget('B200')?.capability).toBe('10.0');
    expect(parseGpuTarget('NVIDIA GeForce RTX 5090')?.capability).toBe('12.0');
    expect(parseGpuTarget('rtx5090')?.capability).toBe('12.0');
    expect(parseGpuTarget('A100-SXM4-80GB')?.capability).toBe('8.0');
    expect(parseGpuTarget('A10G')?.capability).toBe('8.6');
    expect(parseGpuTarget('L40S')?.capability).toBe('8.9');
    expect(parseGpuTarget('a potato')).toBeUndefined();
  });
});
