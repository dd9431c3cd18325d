import { appendLineEdit } from '../dockerfile-edits.js';
import type { FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';
import { around, firstMatch } from './common.js';

/**
 * Failures of a built image when it runs (smoke test output, `docker run` output, a pasted traceback).
 * They have no Dockerfile line; fixes that change the image append to the final stage.
 */

function finalStageAppend(scope: FailureScope, line: string) {
  // After a USER switch, apt/pip may not be allowed: leave those to a human.
  if (scope.dockerfileText === undefined || /^\s*USER\s+(?!root\b|0\b)/im.test(scope.dockerfileText)) return undefined;
  return appendLineEdit(scope.dockerfileText, line, scope.dockerfilePath);
}

export function runtimeTorchCompanionMismatch(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /operator (torchvision::\w+) does not exist/,
      /No such operator (torchvision::\w+)/,
      /(\S*(?:torchvision|torchaudio|flash_attn\w*|xformers|apex|deepspeed|vllm)\S*\.so)\S*: undefined symbol: (\S+)/,
      /Detected that PyTorch and (torchvision|torchaudio) were compiled with different CUDA (?:major )?versions/,
    ],
    'all',
  );
  if (!hit) return [];
  const subject = hit.match[1]!;
  const lib = /torchvision|torchaudio|flash_attn|xformers|apex|deepspeed|vllm/.exec(subject)?.[0] ?? subject;
  const versions = hit.lines.join('\n').match(/torch(?:vision|audio)?[ =:]+\d+\.\d+(?:\.\d+)?(?:\+\w+)?/g) ?? [];
  const summary = /undefined symbol/.test(hit.match[0])
    ? `${lib} was compiled against a different torch than the one installed (${subject.split('/').pop()}: undefined symbol ${hit.match[2]!.slice(0, 60)}).`
    : /::/.test(subject)
      ? `torchvision's C++ ops (${subject}) are missing: the installed torchvision was built for a different torch${versions.length ? ` (${[...new Set(versions)].join(', ')})` : ''}.`
      : `torch and ${lib} come from builds for different CUDA versions.`;
  return [
    {
      kind: 'runtime-torch-companion-mismatch',
      summary,
      excerpt: around(hit.lines, hit.index, 1, 0),
      fixable: false,
      fix: { action: 'manual', change: `reinstall ${lib} built for the installed torch`, details: { package: lib } },
      nextStep:
        lib === 'torchvision' || lib === 'torchaudio'
          ? `Pin ${lib} to the release paired with the installed torch (same index/CUDA variant, e.g. torch 2.3.1 -> torchvision 0.18.1, torchaudio 2.3.1) and install them in one pip command, then rebuild.`
          : `Reinstall ${lib} built for the installed torch: a prebuilt wheel matching torch, CUDA, Python and the C++ ABI, or build it with --no-build-isolation after torch is installed (pin torch so a later install does not replace it). Then rebuild.`,
    },
  ];
}

export function runtimeNoKernelImage(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [/no kernel image is available for execution on the device/i], 'all');
  if (!hit) return [];
  const capability = hit.lines.join('\n').match(/sm_\d+\w?|CUDA capability sm_\d+/)?.[0];
  return [
    {
      kind: 'runtime-no-kernel-image',
      summary: `The GPU's architecture${capability ? ` (${capability.replace('CUDA capability ', '')})` : ''} is not among those torch or an extension was compiled for (no kernel image is available for execution on the device).`,
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: { action: 'manual', change: 'use a torch/extension build that includes this GPU architecture' },
      nextStep:
        'Use a torch wheel whose CUDA variant supports this GPU (newer GPUs need newer cuXXX builds; check torch.cuda.get_arch_list()), and rebuild source-built extensions with TORCH_CUDA_ARCH_LIST including its compute capability.',
    },
  ];
}

export function runtimeDriverTooOld(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /The NVIDIA driver on your system is too old \(found version (\d+)\)/,
      /CUDA driver version is insufficient for CUDA runtime version/,
      /unsatisfied condition: cuda>=([\d.]+)/,
    ],
    'all',
  );
  if (!hit) return [];
  const found = hit.match[1];
  const driverCuda =
    found && /^\d{4,5}$/.test(found) ? `${Math.floor(Number(found) / 1000)}.${(Number(found) % 1000) / 10}` : undefined;
  const summary = driverCuda
    ? `The host's NVIDIA driver supports CUDA up to ${driverCuda} (found version ${found}), older than the CUDA torch in the image was built for.`
    : found
      ? `The image requires CUDA ${found} but the host's NVIDIA driver is older.`
      : "The host's NVIDIA driver is older than the CUDA runtime in the image.";
  return [
    {
      kind: 'runtime-driver-too-old',
      summary,
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: {
        action: 'manual',
        change: 'update the host driver or use an older CUDA build',
        details: driverCuda ? { driverCuda } : {},
      },
      nextStep: `Update the host NVIDIA driver, or rebuild with a torch CUDA variant (and base image) no newer than ${driverCuda ? `CUDA ${driverCuda}` : "the driver's CUDA (nvidia-smi shows it)"}.`,
    },
  ];
}

export function runtimeNvidiaToolkitMissing(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /could not select device driver "([^"]*)" with capabilities: \[\[gpu\]\]/,
      /unknown or invalid runtime name: nvidia/,
    ],
    'all',
  );
  if (!hit) return [];
  return [
    {
      kind: 'runtime-nvidia-toolkit-missing',
      summary:
        'Docker cannot give the container a GPU (could not select device driver with capabilities [[gpu]]): the NVIDIA Container Toolkit is not installed or not configured for this Docker.',
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: { action: 'manual', change: 'install and configure nvidia-container-toolkit on the host' },
      nextStep:
        'On the host: install nvidia-container-toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker` and restart Docker (snap-installed Docker and Docker Desktop without WSL GPU support cannot do this); then run again.',
    },
  ];
}

export function runtimeShmTooSmall(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /DataLoader worker \(pid \d+\) is killed by signal: Bus error/,
      /insufficient shared memory \(shm\)/,
      /out of shared memory/,
      /Error while creating shared memory segment \/dev\/shm/,
      /NCCL WARN.*(?:shm|No space left on device)/,
    ],
    'all',
  );
  if (!hit) return [];
  return [
    {
      kind: 'runtime-shm-too-small',
      summary: "The container's /dev/shm is too small (Docker's default is 64 MB) for DataLoader workers or NCCL.",
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: { action: 'run-options', options: ['--shm-size=8g', '--ipc=host'] },
      nextStep:
        'Run the container with --shm-size=8g (or --ipc=host); in compose set shm_size. No image change is needed.',
    },
  ];
}

export function runtimeLibglMissing(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /(libGL\.so\.1|libgthread-2\.0\.so\.0|libglib-2\.0\.so\.0|libSM\.so\.6|libXext\.so\.6): cannot open shared object file/,
    ],
    'all',
  );
  if (!hit) return [];
  const cv2 = hit.lines.slice(Math.max(0, hit.index - 6), hit.index + 1).some((line) => /cv2/.test(line));
  const packages = ['libgl1', 'libglib2.0-0'];
  const line = `RUN apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')} && rm -rf /var/lib/apt/lists/*`;
  const edit = finalStageAppend(scope, line);
  return [
    {
      kind: 'runtime-libgl-missing',
      summary: `${cv2 ? 'OpenCV (cv2)' : 'A library'} needs ${hit.match[1]}, which the image does not have (slim and CUDA bases ship no GL/GLib).`,
      excerpt: around(hit.lines, hit.index),
      fixable: edit !== undefined,
      fix: { action: 'dockerfile-edit', change: `apt-get install ${packages.join(' ')}`, ...(edit ? { edit } : {}) },
      nextStep: `Install ${packages.join(' ')} with apt-get in the final stage, or replace opencv-python with opencv-python-headless; then rebuild.`,
    },
  ];
}

export function runtimeNumpy2Abi(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /A module that was compiled using NumPy 1\.x cannot be run in/,
      /numpy\.core\.multiarray failed to import/,
      /_ARRAY_API not found/,
    ],
    'all',
  );
  if (!hit) return [];
  const version = /NumPy (2\.\d+\.\d+)/.exec(hit.lines.slice(hit.index, hit.index + 2).join(' '))?.[1];
  const edit = finalStageAppend(scope, 'RUN python3 -m pip install --no-cache-dir "numpy<2"');
  return [
    {
      kind: 'runtime-numpy2-abi',
      summary: `A compiled module was built against NumPy 1.x but NumPy ${version ?? '2'} is installed, so it cannot load.`,
      excerpt: around(hit.lines, hit.index, 0, 1),
      fixable: edit !== undefined,
      fix: { action: 'dockerfile-edit', change: 'pip install "numpy<2"', ...(edit ? { edit } : {}) },
      nextStep:
        'Pin numpy<2 (in the same pip install as the packages that need it, or after them), or upgrade the module to a release built for NumPy 2; then rebuild.',
    },
  ];
}

export function runtimeBitsandbytesCuda(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(
    scope,
    [
      /CUDA Setup failed despite GPU being available/,
      /libcudart\.so not found in any environmental path/,
      /bitsandbytes.*(?:libcudart|compiled without GPU support)/,
    ],
    'all',
  );
  if (!hit) return [];
  const torchCuda = hit.lines.join('\n').match(/PyTorch settings found: CUDA_VERSION=(\d+)/)?.[1];
  return [
    {
      kind: 'runtime-bitsandbytes-cuda',
      summary: `bitsandbytes cannot load its CUDA library${torchCuda ? ` for CUDA_VERSION=${torchCuda}` : ''}: libcudart.so is not where it looks.`,
      excerpt: around(hit.lines, hit.index),
      fixable: false,
      fix: {
        action: 'manual',
        change: 'upgrade bitsandbytes or make libcudart visible',
        details: torchCuda ? { torchCuda } : {},
      },
      nextStep:
        "Upgrade bitsandbytes (>= 0.43 ships CUDA binaries and finds torch's CUDA runtime), or add the CUDA runtime directory to LD_LIBRARY_PATH / set BNB_CUDA_VERSION to match torch; then rebuild.",
    },
  ];
}
