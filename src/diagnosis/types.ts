import type { TextEdit } from '../util/text-edits.js';

export type DiagnosisKind =
  | 'pip-resolution-impossible'
  | 'no-matching-distribution'
  | 'pip-externally-managed'
  | 'base-image-not-found'
  | 'apt-unable-to-locate'
  | 'copy-missing-file'
  | 'dockerfile-syntax'
  | 'out-of-memory'
  | 'no-space-left'
  | 'network'
  | 'docker-permission-denied'
  | 'docker-daemon-unavailable'
  | 'docker-daemon-lost'
  | 'buildkit-unavailable'
  // CUDA extension builds (flash-attn, apex, xformers, deepspeed, bitsandbytes, ...)
  | 'cuda-ext-build-isolation'
  | 'cuda-home-missing'
  | 'nvcc-unsupported-gpu-arch'
  | 'nvcc-unsupported-host-compiler'
  | 'cuda-version-mismatch'
  | 'cuda-ext-wheel-build-failed'
  // pip / conda
  | 'pip-hash-mismatch'
  | 'conda-packages-not-found'
  | 'conda-not-found'
  // apt
  | 'apt-nvidia-repo-key'
  | 'apt-tzdata-prompt'
  | 'apt-python-version-unavailable'
  // base image / Docker
  | 'platform-mismatch'
  | 'buildkit-required'
  // runtime (smoke test or container output)
  | 'runtime-torch-companion-mismatch'
  | 'runtime-no-kernel-image'
  | 'runtime-driver-too-old'
  | 'runtime-nvidia-toolkit-missing'
  | 'runtime-shm-too-small'
  | 'runtime-libgl-missing'
  | 'runtime-numpy2-abi'
  | 'runtime-bitsandbytes-cuda'
  | 'runtime-exec-format-error'
  | 'unknown';

/** A requirement another package's pin collides with. */
export interface ConflictingRequirement {
  package: string;
  /** The exact version asked for, when the requirement pins one (`torch==2.7.1` -> `2.7.1`). */
  requested?: string;
  /** The whole specifier, e.g. `==2.7.1` or `>=2.0,<2.3`. */
  spec: string;
  /** Who asked for it: the Dockerfile/requirements (`user`), a constraints file, or another package. */
  source: 'user' | 'constraint' | 'dependency';
  /** For `dependency`: the package and version that requires it, e.g. `torchaudio 2.7.1`. */
  requiredBy?: string;
}

/** A structured description of the change that should fix the failure; `Diagnosis.fixable` says if it is automatic. */
export type FixAction =
  | {
      /** Change `package`'s pin so it agrees with `conflictsWith` (the lead picks the version from compat data). */
      action: 'repin';
      package: string;
      /** The version pip tried, e.g. `0.15.0`. */
      currentVersion?: string;
      /** What that version requires, e.g. `torch==2.0.0`. */
      requires: string;
      reason: string;
      conflictsWith: ConflictingRequirement;
    }
  | {
      /** The requested version/variant does not exist on the index pip used. */
      action: 'fix-requirement';
      package: string;
      /** The requirement as pip printed it, e.g. `torch==2.7.1+cu118`. */
      requirement: string;
      version?: string;
      /** Local version label, e.g. `cu118`, `cpu`, `rocm6.2`. */
      variant?: string;
      /** Indexes and find-links locations pip searched. */
      indexes: string[];
      /** Versions pip saw (bounded to the newest 30), empty when it saw none. */
      availableVersions: string[];
      /** Versions skipped because they need another Python. */
      pythonIncompatibleVersions?: string[];
      /** PyTorch's own index for the variant, when the requirement names a variant no searched index offers. */
      suggestedIndexUrl?: string;
      reason: string;
    }
  | {
      action: 'allow-pip-system-install';
      /** Adds `--break-system-packages` to the failing pip command (PEP 668 images such as Debian 12, Ubuntu 24.04). */
      edit?: TextEdit;
    }
  | {
      action: 'change-base-image';
      image: string;
      reason: 'not-found' | 'access-denied' | 'registry-unreachable';
    }
  | {
      /** Run `apt-get update &&` before the install in the same RUN, so the package lists exist. */
      action: 'add-apt-get-update';
      dockerfileLine: number;
      edit?: TextEdit;
    }
  | { action: 'check-apt-packages'; packages: string[] }
  | { action: 'fix-copy-source'; path: string; fromStage?: string }
  | {
      action: 'fix-dockerfile-syntax';
      message: string;
      /** The unknown instruction keyword, when that was the error. */
      instruction?: string;
      /** A known keyword the unknown one is a likely typo of; `edit` replaces it. */
      suggestedKeyword?: string;
      edit?: TextEdit;
    }
  | {
      /** Limit parallel compile jobs (ninja/torch extensions honour MAX_JOBS). */
      action: 'reduce-build-parallelism';
      env: Record<string, string>;
      edit?: TextEdit;
    }
  | { action: 'increase-build-memory' }
  | { action: 'free-disk-space'; commands: string[] }
  | { action: 'retry'; hosts: string[] }
  | {
      /** `use-sudo`: rerun with useSudo; `join-docker-group`: add the user to the docker group (needs a new login). */
      action: 'fix-docker-access';
      suggestion: 'use-sudo' | 'join-docker-group' | 'configure-passwordless-sudo';
    }
  | { action: 'start-docker-daemon' }
  | { action: 'use-builder'; builder: 'legacy' | 'buildkit' }
  | {
      /** A Dockerfile change the build loop can apply as it stands (`edit`), described in `change`. */
      action: 'dockerfile-edit';
      change: string;
      edit?: TextEdit;
    }
  | {
      /** `docker run` options the container needs (e.g. `--shm-size=8g`, `--gpus all`). */
      action: 'run-options';
      options: string[];
    }
  | {
      /** A change that needs a human decision (or a host change); `details` names the specifics. */
      action: 'manual';
      change: string;
      details?: Record<string, string>;
    };

export interface Diagnosis {
  kind: DiagnosisKind;
  /** One sentence: what went wrong. */
  summary: string;
  /** 1-based Dockerfile line of the instruction at fault, when known. */
  dockerfileLine?: number;
  /** The few log lines that show it (bounded; ANSI codes and BuildKit's `#N 1.234` prefixes removed). */
  excerpt: string;
  /** True when `fix` can be applied without a human decision and should make the next attempt pass. */
  fixable: boolean;
  fix?: FixAction;
  /** What the agent should do next. */
  nextStep: string;
}

export interface DiagnoseContext {
  dockerfileText?: string;
  /** The failing step's line, e.g. from `LocalBuildResult.failedStep.dockerfileLine`. */
  failedDockerfileLine?: number;
  /** The Dockerfile's path relative to the build context, for the `file` of edits. Default `Dockerfile`. */
  dockerfilePath?: string;
  /** The builder that wrote the log; detected from the log when omitted. */
  builder?: 'buildkit' | 'legacy';
}
