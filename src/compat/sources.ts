/**
 * Source keys used by every data row in src/compat. The keys and their meaning come from
 * ../shared/reference/pytorch-compat.md ("Source keys"); the last few are marked as not coming from that file.
 */
export const SOURCES = {
  'S-TI-BM': 'pytorch/test-infra tools/scripts/generate_binary_build_matrix.py, read at each stable flip (upstream)',
  'S-TI-RM': 'pytorch/test-infra tools/scripts/generate_release_matrix.py RELEASE_DICT 2.1.0-2.5.1 (upstream)',
  'S-TI-RV': 'pytorch/test-infra release/release_versions.sh history (upstream)',
  'S-TI-DK':
    'pytorch/test-infra generate_docker_release_matrix.py, release-docker.yml, validate-docker-images.yml (upstream)',
  'S-TI-PYPI':
    'pytorch/test-infra release/pypi/promote_pypi_to_staging.sh LINUX_VERSION_SUFFIX (upstream, pytorch-compat.md §1b)',
  'S-PT-REL-old': 'pytorch/pytorch RELEASE.md @ aa6104e2, release compatibility matrix 1.12-2.3 (upstream, old)',
  'S-PT-REL-copy': 'later pytorch/pytorch RELEASE.md rows 1.12-2.14 (two secondary copies that agree)',
  'S-VIS-README': 'pytorch/vision README compatibility table (upstream <=2.3, secondary 2.4-2.13)',
  'S-AUD-RST': 'pytorch/audio docs/source/installation.rst compatibility matrix 1.4.0-2.6 (upstream)',
  'S-AUD-2.11': 'https://docs.pytorch.org/audio/2.11.0/installation.html compatibility matrix (official docs)',
  'S-PREV-repo': 'pytorch/pytorch.github.io _get_started/previous-versions.md (upstream)',
  'S-PREV-web': 'https://pytorch.org/get-started/previous-versions (official docs, partial)',
  'S-WIKI': 'https://github.com/pytorch/pytorch/wiki/PyTorch-Versions (official wiki)',
  'S-NV-RN': 'NVIDIA CUDA Toolkit release notes, Table 2 and Table 3 (secondary copy of an official page)',
  'S-NV-TAGS': 'NVIDIA container-images/cuda doc/supported-tags.md (mirror of an official file)',
  'S-NV-README': 'NVIDIA container-images/cuda README mirror (pytorch-compat.md §4a)',
  'S-PT-BUILD-CUDA':
    'pytorch/pytorch .ci/manywheel/build_cuda.sh @ 799d09f2 TORCH_CUDA_ARCH_LIST (pytorch-compat.md §1c)',
  'S-ERR-CATALOG': 'pytorch-compat.md §5b error catalog (issues cited there)',
  'S-PR-125632':
    'pytorch/pytorch PR #125632: nvidia/cuda:12.4.0-cudnn8-devel-ubuntu22.04 not found (pytorch-compat.md §4a)',
  // Not from pytorch-compat.md: facts about GPUs and Linux distributions the reference does not cover.
  'X-NV-CC': 'NVIDIA "CUDA GPUs - Compute Capability" list (developer.nvidia.com/cuda-gpus); NOT in pytorch-compat.md',
  'X-DISTRO': 'Ubuntu/Debian package archives (python3 version per release); NOT in pytorch-compat.md',
} as const;

export type SourceKey = keyof typeof SOURCES;
