import {
  bestCudaVariant,
  cudaMinor,
  driverMinFor,
  latestCudaPatch,
  publishedCudaVariants,
  TORCH_RELEASES,
  variantToCuda,
} from '../../compat/index.js';
import type { InstallCommand, Stage } from '../model.js';
import { nvidiaVersionEdits, variantEdits } from './edits.js';
import { familyName, resolveRequest } from './resolve.js';
import { nearestRelease, rootStage, versionLabel } from './support.js';
import type { DockerfileRule, RawFinding, RuleRun, Severity, StageState } from './types.js';

/** cpu-wheel-on-gpu-base and cuda-base-mismatch: torch's CUDA build against the base image's CUDA. */
export const baseCudaRule: DockerfileRule = {
  name: 'cuda-base-mismatch',
  checkUpdated: ({ run, install, state, stage }) => checkBaseCuda(run, install, state, stage),
};

function checkBaseCuda(run: RuleRun, install: InstallCommand, state: StageState, stage: Stage): void {
  const torch = state.pkgs.get('torch');
  if (!torch || torch.install !== install || !torch.variant || !torch.request) return;
  const request = torch.request;
  if (torch.variant === 'cpu') {
    if (state.hasCuda !== true) return;
    const cuda = state.cuda ? cudaMinor(state.cuda.version) : null;
    const target = cuda && torch.minor ? bestCudaVariant(torch.minor, cuda) : undefined;
    const resolved = install.requests
      .filter((item) => familyName(item.req.name))
      .map((item) => resolveRequest(install, item, []));
    run.add({
      category: 'cpu-wheel-on-gpu-base',
      severity: 'error',
      position: request.position,
      message: `torch is the CPU-only build (${torch.variantHow}) on a CUDA base image (${rootStage(stage).facts?.ref ?? 'GPU image'}): the image builds, but torch.cuda.is_available() is False and any .cuda() call raises "Torch not compiled with CUDA enabled".`,
      evidence: [
        `torch: ${torch.how}`,
        `base image CUDA: ${state.cuda?.version ?? 'present (version not in the tag)'}`,
      ],
      fix: target
        ? {
            description: `Install the ${target} build of torch ${torch.minor} to match the base image's CUDA ${state.cuda!.version}.`,
            edits: variantEdits(install, resolved, 'cpu', target),
            alternatives: ['if CPU is intended, use a base image without CUDA (python:3.x-slim) to save gigabytes'],
          }
        : undefined,
    });
    return;
  }
  if (!state.cuda || state.hasCuda !== true) return;
  // on a torch image (pytorch/pytorch, DLC, NGC) the image's CUDA belongs to its torch: torch-replaced covers it
  const rootFamily = rootStage(stage).facts?.family;
  if (rootFamily === 'pytorch' || rootFamily === 'aws-dlc' || rootFamily === 'ngc-pytorch') return;
  const torchCuda = variantToCuda(torch.variant);
  const baseCuda = cudaMinor(state.cuda.version);
  if (!torchCuda || !baseCuda || torchCuda === baseCuda) return;
  const [torchMajor, torchMinorPart] = torchCuda.split('.').map(Number) as [number, number];
  const [baseMajor, baseMinorPart] = baseCuda.split('.').map(Number) as [number, number];
  const majorDiffers = torchMajor !== baseMajor;
  const severity: Severity = majorDiffers ? 'error' : torchMinorPart > baseMinorPart ? 'warning' : 'info';
  const driver = driverMinFor(torch.variant);
  const consequence = majorDiffers
    ? `CUDA extensions compiled in this image (apex, flash-attn, DeepSpeed ops, detectron2) fail: torch.utils.cpp_extension raises "The detected CUDA version (${baseCuda}) mismatches the version that was used to compile PyTorch (${torchCuda})"; and hosts are sized for the base image's driver, not the wheel's`
    : torchMinorPart > baseMinorPart
      ? `the wheel needs a newer driver (${driver ? `>= ${driver.driver} for CUDA ${driver.cuda}` : 'than the base image'}) than hosts chosen for the base image's CUDA ${baseCuda} may have, and nvcc ${baseCuda} builds extensions against a torch built with ${torchCuda}`
      : `it works (the wheel carries its own CUDA ${torchCuda} runtime), but the base image's CUDA ${baseCuda} libraries are unused weight and nvcc ${baseCuda} differs from torch's CUDA`;
  let fix: RawFinding['fix'];
  if (majorDiffers && torch.minor) {
    const sameMajor = publishedCudaVariants(torch.minor).filter(
      (variant) => variantToCuda(variant)?.split('.')[0] === String(baseMajor),
    );
    const resolved = install.requests
      .filter((item) => familyName(item.req.name))
      .map((item) => resolveRequest(install, item, []));
    const switchable =
      torch.variantHow?.startsWith('+') ||
      torch.variantHow?.startsWith('--index-url') ||
      torch.variantHow?.startsWith('--extra-index-url') ||
      torch.variantHow?.startsWith('--find-links');
    if (sameMajor.length > 0 && switchable) {
      const target = bestCudaVariant(torch.minor, baseCuda)!;
      fix = {
        description: `Install the ${target} build of torch ${torch.minor}, matching the base image's CUDA ${baseMajor}.x.`,
        edits: variantEdits(install, resolved, torch.variant, target),
        alternatives: [],
      };
    } else {
      const patch = latestCudaPatch(torchCuda);
      const edits = patch ? nvidiaVersionEdits(rootStage(stage), patch) : [];
      const otherTorch = TORCH_RELEASES.filter((release) =>
        release.cuda.some(
          (variant) =>
            variant.status === 'published' && variantToCuda(variant.variant)?.split('.')[0] === String(baseMajor),
        ),
      );
      fix = {
        description:
          edits.length > 0
            ? `Use a CUDA ${torchCuda} base image (nvidia/cuda ${patch}) to match torch's ${torch.variant} build, keeping torch ${versionLabel(torch)}.`
            : `Use a base image with CUDA ${torchCuda}, or a torch release with a CUDA ${baseMajor}.x build.`,
        edits,
        alternatives:
          otherTorch.length > 0
            ? [
                `keep the base image: torch ${nearestRelease(
                  otherTorch.map((release) => release.torch),
                  torch.minor,
                )} or later publishes CUDA ${baseMajor}.x wheels`,
              ]
            : [],
      };
    }
  } else {
    fix = {
      description: `Prefer a base image with CUDA ${torchCuda}, or a torch CUDA build matching ${baseCuda}.`,
      edits: [],
      alternatives: [],
    };
  }
  run.add({
    category: 'cuda-base-mismatch',
    severity,
    position: request.position,
    message: `torch is the CUDA ${torchCuda} build (${torch.variantHow}) but the base image has CUDA ${state.cuda.version}: ${consequence}.`,
    evidence: [
      `torch: ${torch.how}`,
      `base CUDA: ${state.cuda.how}`,
      ...(driver ? [`CUDA ${driver.cuda} needs Linux driver >= ${driver.driver} (S-NV-RN)`] : []),
    ],
    fix,
  });
}
