/**
 * The one event stream of a build, whatever runs it (local Docker, CodeBuild) and whoever shows it
 * (MCP progress/log notifications, the CLI's progress bar).
 *
 * Step lifecycle: every step gets one `step-started`, then exactly one of `step-done`, `step-cached` or
 * `step-failed`. Steps of parallel BuildKit stages may interleave. Every output line also arrives as a `log`.
 */

/** Counters for a progress bar; carried by every step event so a consumer never has to count. */
export interface StepProgress {
  /** Steps finished so far (done or cached), including the one this event reports. */
  completedSteps: number;
  /**
   * Steps the build will run, when known: the legacy builder prints it; for BuildKit it comes from the
   * Dockerfile (reachable stages only). Absent when neither is available.
   */
  totalSteps?: number;
}

/** What identifies a step to a human and to the fixer. */
export interface BuildStepInfo {
  /**
   * 1-based key of the step, unique within the build. Legacy builder: Docker's own step number.
   * BuildKit: the step's position in the build plan (stage by stage), or order of first appearance without one.
   */
  step: number;
  /** The instruction as the builder printed it, e.g. `RUN pip install torch==2.7.1`. */
  instruction: string;
  /** Stage name as BuildKit prints it (`builder`, `stage-1`); absent for single-stage builds and legacy output. */
  stage?: string;
  /** 1-based line of the instruction in the Dockerfile, when it could be mapped. */
  dockerfileLine?: number;
}

export interface BuildStartedEvent {
  type: 'build-started';
  /** `buildkit` or `legacy` for local builds; other runners may use their own name (e.g. `codebuild`). */
  builder: string;
  imageRef: string;
  totalSteps?: number;
  /** Where the full log is being written. */
  logFile?: string;
}

export interface StepStartedEvent extends BuildStepInfo, StepProgress {
  type: 'step-started';
}

export interface StepCachedEvent extends StepProgress {
  type: 'step-cached';
  step: number;
}

export interface StepDoneEvent extends StepProgress {
  type: 'step-done';
  step: number;
  durationMs?: number;
}

export interface StepFailedEvent extends BuildStepInfo, StepProgress {
  type: 'step-failed';
  /** Exit code of the failing command (RUN), when the builder printed one. */
  exitCode?: number;
  /** The builder's error message for this step, e.g. `process "/bin/sh -c ..." did not complete successfully: exit code: 1`. */
  message: string;
}

export interface LogEvent {
  type: 'log';
  /** One output line, without ANSI colour codes. */
  line: string;
  stream: 'stdout' | 'stderr';
  /** The step the line belongs to, when known. */
  step?: number;
}

export interface WarningEvent {
  type: 'warning';
  message: string;
}

export interface ImageBuiltEvent {
  type: 'image-built';
  /** `sha256:<64 hex>` when known in full; the legacy builder's own output only gives a 12-character short id. */
  imageId: string;
}

export interface BuildFinishedEvent {
  type: 'build-finished';
  success: boolean;
  exitCode?: number;
  durationMs: number;
  cancelled: boolean;
  timedOut: boolean;
  imageId?: string;
}

export type BuildEvent =
  | BuildStartedEvent
  | StepStartedEvent
  | StepCachedEvent
  | StepDoneEvent
  | StepFailedEvent
  | LogEvent
  | WarningEvent
  | ImageBuiltEvent
  | BuildFinishedEvent;

export type BuildEventListener = (event: BuildEvent) => void;
