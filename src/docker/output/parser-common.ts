import type { BuildEvent, BuildStepInfo, StepProgress } from '../../build-model/events.js';
import type { LocalBuilderKind } from '../build-args.js';
import type { BuildPlan } from '../dockerfile-steps.js';

export type OutputStream = 'stdout' | 'stderr';

export interface FailedStep extends BuildStepInfo {
  exitCode?: number;
  message: string;
}

/** What a parser learned from a build's output, for the build result and for diagnosis. */
export interface BuildOutputSummary {
  builder: LocalBuilderKind;
  totalSteps?: number;
  completedSteps: number;
  cachedSteps: number;
  /** The Dockerfile step that failed, when the failure belongs to one. */
  failedStep?: FailedStep;
  /** The builder's final error text (the last thing it said before giving up). */
  errorMessage?: string;
  /** A Dockerfile line the builder named in its error (BuildKit's `Dockerfile:12`, `parse error line 3`). */
  errorDockerfileLine?: number;
  /** From the output: `sha256:...` (BuildKit) or the 12-character short id (legacy). */
  imageId?: string;
  warnings: string[];
}

/** Turns a builder's output, line by line, into build events. */
export interface BuildOutputParser {
  readonly builder: LocalBuilderKind;
  push(line: string, stream?: OutputStream): BuildEvent[];
  /**
   * Call once when the process has exited; flushes what only the end reveals (which step failed).
   * Pass undefined when the build was stopped from outside (cancelled, timed out): no step is then blamed.
   */
  end(exitCode: number | undefined): BuildEvent[];
  summary(): BuildOutputSummary;
}

export interface ParserOptions {
  /** The Dockerfile's step plan: gives totals up front and maps steps to Dockerfile lines. */
  plan?: BuildPlan;
  /** Milliseconds clock for step durations the builder does not print (legacy). */
  now?: () => number;
  /** How BuildKit prints its progress (`--progress=`): `rawjson` through buildx, `plain` otherwise (the default). */
  progress?: BuildKitProgress;
}

/** The `--progress` mode of a BuildKit build: decided once with the Docker invocation. */
export type BuildKitProgress = 'plain' | 'rawjson';

// CSI sequences: the legacy builder colours a RUN step's stderr red (ESC[91m ... ESC[0m).
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[()][A-Z0-9]|\u009b[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** `Dockerfile:12`, `parse error line 3`, `parse error on line 3`. */
export function dockerfileLineInMessage(message: string): number | undefined {
  const match = /parse error (?:on )?line (\d+)/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

interface TrackedStep {
  info: BuildStepInfo;
  state: 'running' | 'done' | 'cached' | 'failed';
  startedAt: number;
}

/** Step bookkeeping shared by both parsers: one start and one outcome per step, with progress counters. */
export class StepTracker {
  private readonly steps = new Map<number, TrackedStep>();
  private readonly completed = new Set<number>();
  private cached = 0;

  constructor(
    private totalSteps: number | undefined,
    private readonly now: () => number,
  ) {}

  progress(): StepProgress {
    return this.totalSteps === undefined
      ? { completedSteps: this.completed.size }
      : { completedSteps: this.completed.size, totalSteps: this.totalSteps };
  }

  setTotal(total: number | undefined): void {
    this.totalSteps = total;
  }

  get total(): number | undefined {
    return this.totalSteps;
  }

  get completedCount(): number {
    return this.completed.size;
  }

  get cachedCount(): number {
    return this.cached;
  }

  has(step: number): boolean {
    return this.steps.has(step);
  }

  info(step: number): BuildStepInfo | undefined {
    return this.steps.get(step)?.info;
  }

  isRunning(step: number): boolean {
    return this.steps.get(step)?.state === 'running';
  }

  start(info: BuildStepInfo): BuildEvent[] {
    if (this.steps.has(info.step)) return [];
    this.steps.set(info.step, { info, state: 'running', startedAt: this.now() });
    return [{ type: 'step-started', ...info, ...this.progress() }];
  }

  finish(step: number, outcome: 'done' | 'cached', durationMs?: number): BuildEvent[] {
    const tracked = this.steps.get(step);
    if (!tracked || tracked.state !== 'running') return [];
    tracked.state = outcome;
    this.completed.add(step);
    if (outcome === 'cached') {
      this.cached++;
      return [{ type: 'step-cached', step, ...this.progress() }];
    }
    const duration = durationMs ?? Math.max(0, Math.round(this.now() - tracked.startedAt));
    return [{ type: 'step-done', step, durationMs: duration, ...this.progress() }];
  }

  /** Counts steps as complete without events: BuildKit runs identical FROM steps of several stages once. */
  markCompleted(steps: readonly number[]): void {
    for (const step of steps) this.completed.add(step);
  }

  fail(failure: FailedStep): BuildEvent[] {
    const tracked = this.steps.get(failure.step);
    if (tracked) tracked.state = 'failed';
    return [{ type: 'step-failed', ...failure, ...this.progress() }];
  }
}
