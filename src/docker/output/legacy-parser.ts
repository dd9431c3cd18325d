import type { BuildEvent, BuildStepInfo } from '../../build-model/events.js';
import type { BuildPlan } from '../dockerfile-steps.js';
import {
  StepTracker,
  dockerfileLineInMessage,
  stripAnsi,
  type BuildOutputParser,
  type BuildOutputSummary,
  type FailedStep,
  type OutputStream,
  type ParserOptions,
} from './parser-common.js';

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
const RUN_FAILED = /^The command '(.*)' returned a non-zero code: (\d+)$/;
const COPY_FAILED = /^(?:COPY|ADD) failed: /;
const LAYER_ID = /^ ---> ([0-9a-f]{12,64})$/;
const BUILT = /^Successfully built ([0-9a-f]{12,64})$/;

/**
 * Parses the classic builder's output (`DOCKER_BUILDKIT=0 docker build`): `Step 3/7 : RUN ...`,
 * ` ---> Using cache`, ` ---> 1a2b3c4d5e6f`, `Successfully built ...`, and its error lines.
 * The classic builder numbers every instruction of every stage it builds, so the step number is the step key.
 */
export class LegacyOutputParser implements BuildOutputParser {
  readonly builder = 'legacy' as const;
  private readonly tracker: StepTracker;
  private readonly plan: BuildPlan | undefined;
  private currentStep: number | undefined;
  private currentCached = false;
  private banner: string[] | undefined;
  private failure: FailedStep | undefined;
  private lastErrorLine: string | undefined;
  private lastLine: string | undefined;
  private imageId: string | undefined;
  private readonly warnings: string[] = [];

  constructor(options: ParserOptions = {}) {
    this.plan = options.plan?.builder === 'legacy' ? options.plan : undefined;
    this.tracker = new StepTracker(this.plan?.totalSteps, options.now ?? (() => performance.now()));
  }

  push(rawLine: string, stream: OutputStream = 'stdout'): BuildEvent[] {
    const line = stripAnsi(rawLine).replace(/\r$/, '');
    const events = this.parse(line);
    // The deprecation banner goes to stderr too; it is never the error.
    if (line.trim() !== '' && !this.banner) {
      this.lastLine = line;
      if (stream === 'stderr') this.lastErrorLine = line;
    }
    const log: BuildEvent = { type: 'log', line, stream };
    if (this.currentStep !== undefined) log.step = this.currentStep;
    return [log, ...events];
  }

  private parse(line: string): BuildEvent[] {
    if (this.banner) {
      if (/^\s+\S/.test(line)) {
        this.banner.push(line.trim());
        return [];
      }
      return [...this.flushBanner(), ...this.parse(line)];
    }
    if (line.startsWith('DEPRECATED: ')) {
      this.banner = [line];
      return [];
    }
    const step = STEP.exec(line);
    if (step) return this.startStep(Number(step[1]), Number(step[2]), step[3]!);
    if (line === ' ---> Using cache') {
      this.currentCached = true;
      return [];
    }
    if (LAYER_ID.test(line)) return this.finishCurrent();
    const built = BUILT.exec(line);
    if (built) {
      this.imageId = built[1]!;
      return [...this.finishCurrent(), { type: 'image-built', imageId: built[1]! }];
    }
    const runFailed = RUN_FAILED.exec(line);
    if (runFailed) return this.failCurrent(line, Number(runFailed[2]));
    if (COPY_FAILED.test(line)) return this.failCurrent(line, undefined);
    const warning = /^ ---> \[Warning\] (.*)$|^\[Warning\] (.*)$|^WARNING: (.*)$/.exec(line);
    if (warning) return this.warn(warning[1] ?? warning[2] ?? warning[3]!);
    return [];
  }

  private flushBanner(): BuildEvent[] {
    const message = this.banner?.join(' ');
    this.banner = undefined;
    return message ? this.warn(message) : [];
  }

  private warn(message: string): BuildEvent[] {
    this.warnings.push(message);
    return [{ type: 'warning', message }];
  }

  private stepInfo(number: number, instruction: string): BuildStepInfo {
    const info: BuildStepInfo = { step: number, instruction };
    const planned = this.plan?.steps[number - 1];
    const keyword = instruction.split(/\s/, 1)[0]?.toUpperCase();
    if (planned?.dockerfileLine !== undefined && planned.keyword === keyword)
      info.dockerfileLine = planned.dockerfileLine;
    return info;
  }

  private startStep(number: number, total: number, instruction: string): BuildEvent[] {
    const events = this.finishCurrent();
    this.tracker.setTotal(total);
    this.currentStep = number;
    this.currentCached = false;
    return [...events, ...this.tracker.start(this.stepInfo(number, instruction))];
  }

  private finishCurrent(): BuildEvent[] {
    if (this.currentStep === undefined) return [];
    return this.tracker.finish(this.currentStep, this.currentCached ? 'cached' : 'done');
  }

  private failCurrent(message: string, exitCode: number | undefined): BuildEvent[] {
    if (this.currentStep === undefined || this.failure) return [];
    const info = this.tracker.info(this.currentStep) ?? { step: this.currentStep, instruction: '' };
    this.failure = { ...info, message, ...(exitCode === undefined ? {} : { exitCode }) };
    return this.tracker.fail(this.failure);
  }

  end(exitCode: number | undefined): BuildEvent[] {
    const events = this.flushBanner();
    if (exitCode === 0) return [...events, ...this.finishCurrent()];
    if (exitCode === undefined) return events; // stopped from outside: no step is to blame
    // Errors outside RUN/COPY (a base image that cannot be pulled, a daemon error) only show as the last stderr line.
    if (this.currentStep !== undefined && this.tracker.isRunning(this.currentStep)) {
      events.push(...this.failCurrent(this.lastErrorLine ?? this.lastLine ?? 'docker build failed', undefined));
    }
    return events;
  }

  summary(): BuildOutputSummary {
    const errorMessage = this.lastErrorLine ?? this.failure?.message ?? this.lastLine;
    const errorLine = errorMessage === undefined ? undefined : dockerfileLineInMessage(errorMessage);
    return {
      builder: 'legacy',
      ...(this.tracker.total === undefined ? {} : { totalSteps: this.tracker.total }),
      completedSteps: this.tracker.completedCount,
      cachedSteps: this.tracker.cachedCount,
      ...(this.failure ? { failedStep: this.failure } : {}),
      ...(errorMessage === undefined || this.imageId ? {} : { errorMessage }),
      ...(errorLine === undefined ? {} : { errorDockerfileLine: errorLine }),
      ...(this.imageId ? { imageId: this.imageId } : {}),
      warnings: [...this.warnings],
    };
  }
}
