import { pipFlagEdit, replaceInInstructionEdit, stageFromLine } from '../dockerfile-edits.js';
import type { FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';
import { around, CUDA_EXTENSIONS, firstMatch, lineOf, mentions } from './common.js';

/** The extension a build log is about: from the failing instruction, else the wheel pip was building. */
function extensionName(scope: FailureScope): string | undefined {
  const fromInstruction = CUDA_EXTENSIONS.exec(scope.failedInstruction ?? '')?.[1];
  if (fromInstruction) return fromInstruction;
  for (const line of scope.allLines) {
    const building = /(?:Building wheel for|Failed to build|Collecting|Downloading|Using cached|Processing) (\S+)/.exec(
      line,
    );
    const name = building ? CUDA_EXTENSIONS.exec(building[1]!)?.[1] : undefined;
    if (name) return name;
  }
  return CUDA_EXTENSIONS.exec(scope.allLines.join('\n'))?.[1];
}

/** Whether an earlier instruction of the Dockerfile installs torch (so `--no-build-isolation` can see it). */
function torchInstalledBefore(scope: FailureScope): boolean {
  if (scope.dockerfileText === undefined || scope.dockerfileLine === undefined) return false;
  const before = scope.dockerfileText.split('\n').slice(0, scope.dockerfileLine - 1);
  const baseHasTorch = before.some((line) => /^\s*FROM\s+(?:--\S+\s+)*\S*pytorch\S*/i.test(line));
  return baseHasTorch || before.some((line) => /\b(?:pip3?|uv pip|conda|mamba)\b.*\binstall\b.*\btorch\b/.test(line));
}

/**
 * `ModuleNotFoundError: No module named 'torch'` while pip prepares an extension's build: pip builds it in an
 * isolated environment without the torch the image has.
 */
export function cudaExtBuildIsolation(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [/No module named '?torch'?/]);
  if (!hit) return [];
  const building = mentions(
    scope,
    /Getting requirements to build (?:wheel|editable)|Preparing metadata|pip-build-env|setup\.py|Building wheel|egg_info|build_meta/,
  );
  if (!building) return [];
  const name = extensionName(scope) ?? 'the package';
  const installing = name === 'the package' ? undefined : new RegExp(name.replace(/[-_]/g, '[-_]'), 'i');
  const edit =
    torchInstalledBefore(scope) && scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined
      ? pipFlagEdit(
          scope.dockerfileText,
          scope.dockerfileLine,
          '--no-build-isolation',
          scope.dockerfilePath,
          installing,
        )
      : undefined;
  return [
    {
      kind: 'cuda-ext-build-isolation',
      summary: `pip could not build ${name}: its setup imports torch, but pip's isolated build environment has no torch (No module named 'torch').`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index, 2, 0),
      fixable: edit !== undefined,
      fix: { action: 'dockerfile-edit', change: `pip install --no-build-isolation ${name}`, ...(edit ? { edit } : {}) },
      nextStep: `Install torch in an earlier RUN (and packaging, ninja, wheel), then install ${name} with \`--no-build-isolation\` so its build sees that torch; or use a prebuilt wheel matching your torch/CUDA/Python. Then rebuild.`,
    },
  ];
}

/** `CUDA_HOME environment variable is not set` / `nvcc: not found`: the image has no CUDA toolkit (a -runtime base). */
export function cudaHomeMissing(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [
    /CUDA_HOME environment variable is not set/,
    /(?:^|\s|\/)nvcc(?:: not found|: command not found|: No such file or directory)/,
    /Could not find nvcc|nvcc was not found|CUDA_HOME is not set/i,
  ]);
  if (!hit) return [];
  const stage =
    scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined
      ? stageFromLine(scope.dockerfileText, scope.dockerfileLine)
      : undefined;
  const runtimeTag = stage && /-(?:runtime|base)(?=-|$)/.exec(stage.image.split(':')[1] ?? '')?.[0];
  const develImage = runtimeTag ? stage.image.replace(runtimeTag, '-devel') : undefined;
  const edit =
    stage && runtimeTag && scope.dockerfileText !== undefined
      ? replaceInInstructionEdit(scope.dockerfileText, stage.line, stage.image, develImage!, scope.dockerfilePath)
      : undefined;
  const name = extensionName(scope);
  const what = name ? `${name} needs nvcc to compile, but` : 'A CUDA extension build needs nvcc, but';
  return [
    {
      kind: 'cuda-home-missing',
      summary: `${what} the image has no CUDA toolkit (${hit.match[0].trim()})${stage ? `: base ${stage.image}${runtimeTag ? ` is a ${runtimeTag.slice(1)} image` : ''}` : ''}.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index),
      fixable: edit !== undefined,
      fix: {
        action: 'dockerfile-edit',
        change: develImage ? `base image ${stage!.image} -> ${develImage}` : 'use a -devel CUDA base image',
        ...(edit ? { edit } : {}),
      },
      nextStep: develImage
        ? `Build on ${develImage} (the -devel variant has nvcc and headers; copy the result into a -runtime stage if size matters), then rebuild.`
        : 'Build this step on a CUDA -devel image (nvidia/cuda:X-devel-..., pytorch/pytorch:...-devel) or install the CUDA toolkit and set CUDA_HOME=/usr/local/cuda, then rebuild.',
    },
  ];
}

export function nvccUnsupportedGpuArch(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [/nvcc fatal\s*:\s*Unsupported gpu architecture '(compute_\w*)'/]);
  if (!hit) return [];
  const arch = hit.match[1]!;
  const release = scope.allLines
    .map((line) => /Cuda compilation tools, release (\d+\.\d+)/.exec(line)?.[1])
    .find(Boolean);
  const nvcc = release ? `nvcc ${release}` : "this image's nvcc";
  return [
    {
      kind: 'nvcc-unsupported-gpu-arch',
      summary:
        arch === 'compute_'
          ? 'nvcc was given an empty GPU architecture (compute_): no CUDA architecture list was set or detected.'
          : `${nvcc} cannot compile for ${arch}: that GPU architecture is newer than this CUDA toolkit.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: { action: 'manual', change: 'set TORCH_CUDA_ARCH_LIST or use a newer CUDA toolkit', details: { arch } },
      nextStep: `Set ENV TORCH_CUDA_ARCH_LIST (or CMAKE_CUDA_ARCHITECTURES) to architectures ${nvcc} supports (e.g. "7.5;8.0;8.6"), or move to a CUDA base image new enough for ${arch}, then rebuild.`,
    },
  ];
}

export function nvccUnsupportedHostCompiler(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [
    /unsupported GNU version! gcc versions later than (\d+) are not supported/,
    /unsupported clang version! clang version must be less than (\d+)/,
  ]);
  if (!hit) return [];
  const max = hit.match[1]!;
  return [
    {
      kind: 'nvcc-unsupported-host-compiler',
      summary: `nvcc refuses the image's host compiler: this CUDA version supports gcc up to ${max} only.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: { action: 'manual', change: `install gcc-${max}/g++-${max} and use it for nvcc`, details: { maxGcc: max } },
      nextStep: `Install gcc-${max} g++-${max} and set ENV CC=gcc-${max} CXX=g++-${max} (nvcc uses them as host compiler), or use a CUDA base image whose OS gcc is supported, then rebuild.`,
    },
  ];
}

/** apex / torch.utils.cpp_extension: the toolkit's CUDA is not the CUDA torch was built with. */
export function cudaVersionMismatch(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [
    /The detected CUDA version \(([\d.]+)\) mismatches the version that was used to compile\s*PyTorch \(([\d.]+)\)/,
    /Cuda extensions are being compiled with a version of Cuda that does not match the version used to compile Pytorch binaries\.\s*Pytorch binaries were compiled with Cuda ([\d.]+)/,
  ]);
  if (!hit) return [];
  let toolkit = hit.match.length > 2 ? hit.match[1] : undefined;
  const torchCuda = hit.match.length > 2 ? hit.match[2]! : hit.match[1]!.replace(/\.$/, '');
  toolkit ??= scope.allLines.map((line) => /Cuda compilation tools, release (\d+\.\d+)/.exec(line)?.[1]).find(Boolean);
  const name = extensionName(scope) ?? 'the extension';
  return [
    {
      kind: 'cuda-version-mismatch',
      summary: `${name} is being compiled with CUDA ${toolkit ?? '(the image toolkit)'} but torch was built with CUDA ${torchCuda}.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: {
        action: 'manual',
        change: 'make the base image CUDA and the torch wheel CUDA the same',
        details: { torchCuda, ...(toolkit ? { imageCuda: toolkit } : {}) },
      },
      nextStep: `Use a CUDA ${torchCuda} -devel base image, or install the torch wheel built for CUDA ${toolkit ?? 'the image has'} (index https://download.pytorch.org/whl/cuXXX), then rebuild.`,
    },
  ];
}

/** An extension's wheel build failed with no more specific cause: usually an unpinned, too-new release. */
export function cudaExtWheelBuildFailed(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [
    /Failed building wheel for (\S+)/,
    /Failed to build (?:installable wheels for some pyproject\.toml based projects \()?([\w.-]+)/,
    /error: subprocess-exited-with-error/,
  ]);
  if (!hit) return [];
  const name = CUDA_EXTENSIONS.exec(hit.match[1] ?? '')?.[1] ?? extensionName(scope);
  if (!name) return [];
  const instruction = scope.failedInstruction ?? '';
  const pinned = new RegExp(`${name.replace(/[-_]/g, '[-_]')}\\s*(?:\\[[^\\]]*\\])?\\s*==`, 'i').test(instruction);
  const unpinned = CUDA_EXTENSIONS.test(instruction) && !pinned;
  return [
    {
      kind: 'cuda-ext-wheel-build-failed',
      summary: `Building ${name} from source failed${unpinned ? ` (it is unpinned, so pip took the newest release, which may not build against this torch/CUDA)` : ''}.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index, 3, 0),
      fixable: false,
      fix: { action: 'manual', change: `pin ${name} to a release with a prebuilt wheel for this torch/CUDA/Python` },
      nextStep: `Pin ${name} to a release that publishes a wheel for this torch, CUDA and Python (or one known to build against them), install it with --no-build-isolation after torch, and set MAX_JOBS if the compiler runs out of memory; then rebuild.`,
    },
  ];
}
