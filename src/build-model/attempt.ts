// The vocabulary of one build's attempt loop, shared by the registry (builds/), the local engine (docker/) and
// CodeBuild (codebuild/): what an attempt gets, what it returns, and the ports the loop drives.
import type { BuildOptions } from './api.js';
import type { BuildEvent } from './events.js';
import type { BuildError, FixApplied, PushRecord } from './record-schema.js';
import type { SmokeResult } from './smoke-schema.js';

/** What one attempt of a build needs: the context to send and the Dockerfile to use. */
export interface AttemptInput {
  attempt: number;
  contextDir: string;
  /** Absolute path of the Dockerfile this attempt uses (the user's, or a fixed copy). */
  dockerfilePath: string;
  logFile: string;
  signal: AbortSignal;
  onEvent: (event: BuildEvent) => void;
}

export interface AttemptOutcome {
  success: boolean;
  cancelled: boolean;
  builder: string;
  imageId?: string;
  failedStep?: { instruction: string; dockerfileLine?: number };
  /** The builder's last error text, when it failed. */
  errorMessage?: string;
  /** The attempt's full output, for diagnosis. */
  logFile: string;
  /** A build of several platforms: how, and each platform's image (see record `platform_build`). */
  platformBuild?: PlatformBuildOutcome;
  /** The remote build's id (CodeBuild `project:uuid`) and console link, for remote runners. */
  remoteId?: string;
  consoleUrl?: string;
}

export interface PlatformBuildOutcome {
  mode: 'manifest-list' | 'per-platform';
  reason: string;
  images: { platform: string; imageRef: string; imageId?: string }[];
}

/** A plan for the next attempt after a failure, or why there is none. */
export interface FailurePlan {
  error: BuildError;
  /** Present when the failure is understood and fixable: the fixes and the files they produce. */
  retry?: { fixes: Omit<FixApplied, 'attempt'>[]; prepared: PreparedSources };
}

/** The sources a build uses after fixes: where the context and the Dockerfile to build are. */
export interface PreparedSources {
  contextDir: string;
  dockerfilePath: string;
  /** Fixed file texts by context-relative path, so the next fix starts from them. */
  fixedTexts: Record<string, string>;
}

/** The collaborators the attempt loop drives; adapters wrap the analyser, the builder, the diagnosis and the smoke tests. */
export interface BuildPorts {
  /** Applies the analyser's fixes (when allowed) and the base-image override before the first attempt. */
  prepare(
    request: BuildRequest,
    workDir: string,
  ): Promise<{ prepared: PreparedSources; fixes: Omit<FixApplied, 'attempt'>[] }>;
  runAttempt(request: BuildRequest, input: AttemptInput): Promise<AttemptOutcome>;
  planAfterFailure(
    request: BuildRequest,
    outcome: AttemptOutcome,
    prepared: PreparedSources,
    workDir: string,
  ): Promise<FailurePlan>;
  /** `platform`: run the image as this platform (`docker run --platform`), for a build of several platforms. */
  smokeTest(request: BuildRequest, imageRef: string, signal: AbortSignal, platform?: string): Promise<SmokeResult>;
  /** After failed smoke checks: the diagnosis and, when a safe fix applies, the next attempt (absent: no retry). */
  planAfterSmokeFailure?(
    request: BuildRequest,
    smoke: SmokeResult,
    prepared: PreparedSources,
    workDir: string,
  ): Promise<FailurePlan>;
  imageInfo(imageRef: string): Promise<{ id?: string; sizeBytes?: number }>;
  /** push: sends the built image to its registry; a failed push comes back with the error (absent: cannot push). */
  push?(
    request: BuildRequest,
    workDir: string,
    signal: AbortSignal,
  ): Promise<{ push: PushRecord; error?: BuildError; log: string }>;
  /** write_fixes: writes the fixed texts into the user's files (each with a backup) after a successful build. */
  writeFixes(request: BuildRequest, prepared: PreparedSources): Promise<{ file: string; backup: string }[]>;
}

/** A validated build: resolved sources and the image reference, plus the options. */
export interface BuildRequest extends BuildOptions {
  contextDir: string;
  /** Relative to the context. */
  dockerfile: string;
  imageRef: string;
}

/** Where and how one build runs: local Docker or CodeBuild, each with its own ports. */
export interface BuildTarget {
  mode: 'local' | 'codebuild';
  ports: BuildPorts;
  region?: string;
  warnings?: string[];
}
