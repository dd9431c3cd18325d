// The finding categories, in a module of their own so the MCP tool schema can list them without loading the analyser.
export const CATEGORIES = [
  'torchvision-mismatch',
  'torchaudio-mismatch',
  'cuda-variant-unavailable',
  'mixed-cuda-variants',
  'cuda-base-mismatch',
  'torch-replaced',
  'python-unsupported',
  'base-tag-invalid',
  'cpu-wheel-on-gpu-base',
  'gpu-arch-unsupported',
  'pip-no-cache-dir',
  'python-missing',
  'requirements-file-missing',
  'index-url-invalid',
  'platform-mismatch',
  'secret-in-arg-or-env',
] as const;
export type Category = (typeof CATEGORIES)[number];
