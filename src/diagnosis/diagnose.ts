import { failureScope, type FailureScope } from './failure-scope.js';
import { aptNvidiaRepoKey, aptTzdataPrompt } from './rules/apt.js';
import { condaNotFound, condaPackagesNotFound } from './rules/conda.js';
import {
  cudaExtBuildIsolation,
  cudaExtWheelBuildFailed,
  cudaHomeMissing,
  cudaVersionMismatch,
  nvccUnsupportedGpuArch,
  nvccUnsupportedHostCompiler,
} from './rules/cuda-ext.js';
import {
  baseImageNotFound,
  buildkitRequired,
  copyMissingFile,
  dockerAccess,
  dockerfileSyntax,
  platformMismatch,
} from './rules/docker.js';
import { execFormatError } from './rules/platform.js';
import { noMatchingDistribution, pipExternallyManaged, pipHashMismatch, pipResolutionImpossible } from './rules/pip.js';
import {
  runtimeBitsandbytesCuda,
  runtimeDriverTooOld,
  runtimeLibglMissing,
  runtimeNoKernelImage,
  runtimeNumpy2Abi,
  runtimeNvidiaToolkitMissing,
  runtimeShmTooSmall,
  runtimeTorchCompanionMismatch,
} from './rules/runtime.js';
import {
  aptFetchFailed,
  aptUnableToLocate,
  networkFailure,
  noSpaceLeft,
  outOfMemory,
  pipNetworkFailure,
} from './rules/system.js';
import type { DiagnoseContext, Diagnosis, DiagnosisKind } from './types.js';

/**
 * Root causes first: a syntax error or a missing base image explains everything after it; a specific cause
 * (no torch in the build environment, no nvcc) before what follows from it (the wheel failed to build).
 */
const PRIORITY: DiagnosisKind[] = [
  'dockerfile-syntax',
  'buildkit-required',
  'base-image-not-found',
  'platform-mismatch',
  'copy-missing-file',
  'no-space-left',
  'apt-nvidia-repo-key',
  'apt-tzdata-prompt',
  'conda-not-found',
  'cuda-ext-build-isolation',
  'cuda-home-missing',
  'nvcc-unsupported-host-compiler',
  'nvcc-unsupported-gpu-arch',
  'cuda-version-mismatch',
  'out-of-memory',
  'pip-hash-mismatch',
  'pip-externally-managed',
  'pip-resolution-impossible',
  'no-matching-distribution',
  'conda-packages-not-found',
  'apt-python-version-unavailable',
  'apt-unable-to-locate',
  'network',
  'cuda-ext-wheel-build-failed',
  'runtime-exec-format-error',
  'runtime-nvidia-toolkit-missing',
  'runtime-driver-too-old',
  'runtime-no-kernel-image',
  'runtime-torch-companion-mismatch',
  'runtime-numpy2-abi',
  'runtime-libgl-missing',
  'runtime-bitsandbytes-cuda',
  'runtime-shm-too-small',
];

/** One rule per failure family; each returns the diagnoses it recognises in the scope (usually none). */
const RULES: ((scope: FailureScope) => Diagnosis[])[] = [
  dockerfileSyntax,
  buildkitRequired,
  baseImageNotFound,
  platformMismatch,
  execFormatError,
  copyMissingFile,
  noSpaceLeft,
  aptNvidiaRepoKey,
  aptTzdataPrompt,
  condaNotFound,
  cudaExtBuildIsolation,
  cudaHomeMissing,
  nvccUnsupportedHostCompiler,
  nvccUnsupportedGpuArch,
  cudaVersionMismatch,
  outOfMemory,
  pipHashMismatch,
  pipExternallyManaged,
  pipResolutionImpossible,
  noMatchingDistribution,
  condaPackagesNotFound,
  aptUnableToLocate,
  networkFailure,
  cudaExtWheelBuildFailed,
  runtimeNvidiaToolkitMissing,
  runtimeDriverTooOld,
  runtimeNoKernelImage,
  runtimeTorchCompanionMismatch,
  runtimeNumpy2Abi,
  runtimeLibglMissing,
  runtimeBitsandbytesCuda,
  runtimeShmTooSmall,
];

/** Lines the builder itself adds around a failing step: they say that it failed, not why. */
const BUILDER_WRAPPER =
  /^(?:ERROR:? |executor failed running|process "|The command '|failed to solve|------| > \[|\[[^\]]*\d+\/\d+\] |Step \d+\/\d+ : | ---> |Removing intermediate container)/;

function unknownFailure(scope: FailureScope): Diagnosis {
  const errorLike = /\b(?:error|failed|fatal|exception|cannot|denied|not found|no such|returned a non-zero code)\b/i;
  const indexes = scope.lines.map((_, index) => index);
  const errorIndexes = indexes.filter((index) => errorLike.test(scope.lines[index]!));
  const ownIndexes = indexes.filter((index) => !BUILDER_WRAPPER.test(scope.lines[index]!));
  // The last error-like lines and the command's own last words, in log order.
  const picked = new Set([...(errorIndexes.length > 0 ? errorIndexes : indexes).slice(-8), ...ownIndexes.slice(-3)]);
  const shown = [...picked]
    .sort((a, b) => a - b)
    .slice(-10)
    .map((index) => scope.lines[index]!);
  const ownError = [...ownIndexes].reverse().find((index) => errorLike.test(scope.lines[index]!));
  const cause =
    (ownError === undefined ? undefined : scope.lines[ownError]) ?? scope.errorMessage ?? 'no error message';
  const clipped = cause.length > 200 ? `${cause.slice(0, 200)}…` : cause;
  const keyword = scope.failedInstruction?.split(/\s/, 1)[0]?.toUpperCase();
  const at = scope.dockerfileLine === undefined ? '' : ` on line ${scope.dockerfileLine}`;
  const code = scope.exitCode === undefined ? '' : ` with exit code ${scope.exitCode}`;
  const summary = keyword
    ? `The ${keyword} step${at} failed${code}: ${clipped}`
    : `The build failed with an error this tool does not recognise: ${clipped}`;
  return {
    kind: 'unknown',
    summary,
    ...(scope.dockerfileLine === undefined ? {} : { dockerfileLine: scope.dockerfileLine }),
    excerpt: shown.map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line)).join('\n'),
    fixable: false,
    nextStep:
      'Read the excerpt (and the full build log for the failing step), fix the instruction it points at, and rebuild.',
  };
}

/**
 * Classifies why a build failed, from its log (either builder's format, or a raw tail such as CodeBuild's).
 * Returns the most likely root cause first; an empty list when the log shows a successful build.
 */
export function diagnoseBuildLog(log: string, context: DiagnoseContext = {}): Diagnosis[] {
  const scope = failureScope(log, context);
  if (scope.succeeded) return [];
  const access = dockerAccess(scope);
  if (access.length > 0) return access;

  let found = RULES.flatMap((rule) => rule(scope));
  const has = (kind: DiagnosisKind) => found.some((diagnosis) => diagnosis.kind === kind);
  let networkFirst = false;
  if (has('base-image-not-found')) found = found.filter((diagnosis) => diagnosis.kind !== 'network');
  // The wheel failure is the consequence when a more specific cause was found.
  if (found.some((diagnosis) => diagnosis.kind !== 'cuda-ext-wheel-build-failed'))
    found = found.filter((diagnosis) => diagnosis.kind !== 'cuda-ext-wheel-build-failed');
  if (has('apt-nvidia-repo-key')) found = found.filter((diagnosis) => diagnosis.kind !== 'apt-unable-to-locate');
  if (has('network')) {
    const before = found.length;
    found = found.filter((diagnosis) => {
      if (diagnosis.kind === 'apt-unable-to-locate') return !aptFetchFailed(scope);
      if (diagnosis.kind === 'no-matching-distribution' && diagnosis.fix?.action === 'fix-requirement') {
        return diagnosis.fix.availableVersions.length > 0 || !pipNetworkFailure(scope);
      }
      return true;
    });
    networkFirst = found.length < before; // it explained another finding away: it is the root cause
  }
  const rank = (diagnosis: Diagnosis) =>
    diagnosis.kind === 'network' && networkFirst ? -1 : PRIORITY.indexOf(diagnosis.kind);
  found.sort((a, b) => rank(a) - rank(b));
  return found.length > 0 ? found : [unknownFailure(scope)];
}
