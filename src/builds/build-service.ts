import { EventEmitter } from 'node:events';
import path from 'node:path';
import type {
  BuildPorts,
  BuildRequest,
  BuildTarget,
  PlatformBuildOutcome,
  PreparedSources,
} from '../build-model/attempt.js';
import type { BuildEvent } from '../build-model/events.js';
import type { BuildError, BuildRecord } from '../build-model/record-schema.js';
import { currentProcessIdentity, type ProcessIdentity } from './process-identity.js';
import type { SmokeResult } from '../build-model/smoke-schema.js';
import type { BuildRecordStore } from './record-store.js';
import { ContextWriteError } from '../util/context-write.js';
import { ExpectedFailure } from '../util/errors.js';
import { stateDirFailure } from './record-problems.js';

export interface BuildServiceDeps {
  store: BuildRecordStore;
  now?: () => Date;
  /** The process that runs the builds, written into each record so others can tell a live build from a dead one. */
  owner?: ProcessIdentity;
}

interface ActiveBuild {
  controller: AbortController;
  record: BuildRecord;
  done: Promise<BuildRecord>;
}

/** A new build's record, as the starting process queues it and as the attempt loop begins it. */
export function newBuildRecord(options: {
  buildId: string;
  request: BuildRequest;
  target: Pick<BuildTarget, 'mode' | 'region' | 'warnings'>;
  logFile: string;
  owner: ProcessIdentity;
  createdAt: string;
}): BuildRecord {
  const { request, target, owner } = options;
  return {
    build_id: options.buildId,
    mode: target.mode,
    ...(target.region ? { region: target.region } : {}),
    ...(target.warnings?.length ? { warnings: target.warnings } : {}),
    status: 'queued',
    phase: 'queued',
    image_name: request.imageRef,
    context: request.contextDir,
    dockerfile: request.dockerfile,
    attempt: 0,
    max_attempts: request.maxAttempts,
    attempts: [],
    fixes_applied: [],
    progress: { steps_done: 0, message: 'queued' },
    created_at: options.createdAt,
    log_file: options.logFile,
    owner_pid: owner.pid,
    ...(owner.startTicks ? { owner_start_ticks: owner.startTicks } : {}),
  };
}

/** Runs builds in the background, keeps their records, and lets callers follow, wait for and cancel them. */
export class BuildService {
  private readonly active = new Map<string, ActiveBuild>();
  /** 'change' (record) on every status/phase/progress change; 'event' (buildId, BuildEvent, record) for every build event. */
  readonly events = new EventEmitter();
  private readonly now: () => Date;

  constructor(private readonly deps: BuildServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.events.setMaxListeners(0);
  }

  /**
   * Starts a build's attempt loop in this process. `queued` is the record the starting process wrote, when there is
   * one (a worker continues it: same creation time and warnings).
   */
  async start(buildId: string, request: BuildRequest, target: BuildTarget, queued?: BuildRecord): Promise<BuildRecord> {
    const { logFile, workDir } = await this.deps.store.prepare(buildId);
    const record = newBuildRecord({
      buildId,
      request,
      target,
      logFile,
      owner: this.deps.owner ?? currentProcessIdentity(),
      createdAt: queued?.created_at ?? this.now().toISOString(),
    });
    await this.deps.store.save(record);
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error('timeout')), request.timeoutSeconds * 1000);
    const done = this.run(record, request, target.ports, workDir, controller.signal).finally(() => {
      clearTimeout(timeout);
      this.active.delete(buildId);
    });
    this.active.set(buildId, { controller, record, done });
    return { ...record };
  }

  /** The live record of a running build, else the stored one. */
  async get(buildId: string): Promise<BuildRecord | undefined> {
    const active = this.active.get(buildId);
    return active ? { ...active.record } : this.deps.store.load(buildId);
  }

  isActive(buildId: string): boolean {
    return this.active.has(buildId);
  }

  /** Resolves with the final record once a build running here ends; undefined when none runs here. */
  whenDone(buildId: string): Promise<BuildRecord> | undefined {
    return this.active.get(buildId)?.done;
  }

  /** Resolves when the build's status or phase differs from the given ones, it ends, or the time runs out. */
  async waitForChange(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    const active = this.active.get(buildId);
    if (!active || timeoutMs <= 0) return this.get(buildId);
    const { status, phase } = active.record;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.events.off('change', onChange);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const onChange = (record: BuildRecord) => {
        if (record.build_id === buildId && (record.status !== status || record.phase !== phase)) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.events.on('change', onChange);
      signal?.addEventListener('abort', finish, { once: true });
    });
    return this.get(buildId);
  }

  /** Waits until the build ends or `timeoutMs` passes; returns the record either way. */
  async waitForEnd(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    const active = this.active.get(buildId);
    if (!active) return this.get(buildId);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      active.done,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
    clearTimeout(timer);
    return this.get(buildId);
  }

  /** Stops a running build (docker build and any smoke container); returns false when it was not running here. */
  async cancel(buildId: string): Promise<boolean> {
    const active = this.active.get(buildId);
    if (!active) return false;
    active.controller.abort(new Error('cancelled'));
    await active.done;
    return true;
  }

  /**
   * Stops a running build because of a fault outside it (its state directory cannot be written): the build ends
   * failed with that failure's kind and next step. Returns false when it was not running here.
   */
  async fail(buildId: string, failure: ExpectedFailure): Promise<boolean> {
    const active = this.active.get(buildId);
    if (!active) return false;
    active.controller.abort(failure);
    await active.done;
    return true;
  }

  /** Cancels every running build, e.g. when the server shuts down. */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.active.keys()].map((id) => this.cancel(id)));
  }

  private async update(record: BuildRecord, changes: Partial<BuildRecord>): Promise<void> {
    Object.assign(record, changes);
    await this.deps.store.save(record);
    this.events.emit('change', { ...record });
  }

  private async run(
    record: BuildRecord,
    request: BuildRequest,
    ports: BuildPorts,
    workDir: string,
    signal: AbortSignal,
  ): Promise<BuildRecord> {
    const started = this.now();
    const finish = async (changes: Partial<BuildRecord>) => {
      const ended = this.now();
      await this.update(record, {
        ...changes,
        phase: 'finished',
        ended_at: ended.toISOString(),
        build_time_seconds: Math.round((ended.getTime() - started.getTime()) / 100) / 10,
      });
      return { ...record };
    };
    const cancelledError = (): BuildError => {
      const timedOut = (signal.reason as Error | undefined)?.message === 'timeout';
      return {
        kind: timedOut ? 'timeout' : 'cancelled',
        summary: timedOut
          ? `The build passed its timeout of ${request.timeoutSeconds} s and was stopped.`
          : 'The build was cancelled.',
        excerpt: '',
        next_step: timedOut
          ? 'Raise timeout, or make the slow step faster (e.g. use a base image that has it).'
          : 'Start it again with build_image when wanted.',
      };
    };
    // Stopped by a cancel or the timeout, or failed by a fault outside the build (see fail()).
    const stopped = (changes: Partial<BuildRecord> = {}) =>
      signal.reason instanceof ExpectedFailure
        ? finish({ ...changes, status: 'failed', error: failureError(signal.reason) })
        : finish({ ...changes, status: 'cancelled', error: cancelledError() });
    try {
      await this.update(record, {
        status: 'running',
        phase: 'analyzing',
        progress: { steps_done: 0, message: 'analysing the Dockerfile' },
      });
      const preparation = await ports.prepare(request, workDir);
      let prepared = preparation.prepared;
      if (preparation.fixes.length > 0) {
        await this.update(record, {
          fixes_applied: preparation.fixes.map((fix) => ({ ...fix, attempt: 1 })),
          fixed_dockerfile: prepared.dockerfilePath,
        });
      }
      for (let attempt = 1; attempt <= request.maxAttempts; attempt++) {
        if (signal.aborted) return await stopped();
        const logFile = path.join(workDir, '..', `attempt-${attempt}.log`);
        const attemptRecord: BuildRecord['attempts'][number] = {
          number: attempt,
          started_at: this.now().toISOString(),
          log_file: logFile,
        };
        await this.update(record, {
          attempt,
          phase: 'building',
          attempts: [...record.attempts, attemptRecord],
          log_file: logFile,
          progress: { steps_done: 0, message: `attempt ${attempt}: building` },
        });
        const outcome = await ports.runAttempt(request, {
          attempt,
          contextDir: prepared.contextDir,
          dockerfilePath: prepared.dockerfilePath,
          logFile,
          signal,
          onEvent: (event) => this.onBuildEvent(record, event),
        });
        Object.assign(attemptRecord, {
          ended_at: this.now().toISOString(),
          success: outcome.success,
          builder: outcome.builder,
          failed_step: outcome.failedStep?.instruction,
          ...(outcome.remoteId ? { codebuild_build_id: outcome.remoteId } : {}),
          ...(outcome.consoleUrl ? { console_url: outcome.consoleUrl } : {}),
        });
        if (outcome.cancelled || signal.aborted) return await stopped();
        if (outcome.success) {
          // Verdicts go by the image this attempt built (its id), never by name:tag, which another build of the
          // same tag may have moved by the time the smoke test runs.
          const info = await ports.imageInfo(outcome.imageId ?? request.imageRef);
          const builtImage = outcome.imageId ?? info.id ?? request.imageRef;
          // Only fixes that produced a working build are worth putting into the user's files.
          const fixes = request.writeFixes ? await writeFixesOrWarn(ports, request, prepared) : {};
          await this.update(record, {
            image_id: outcome.imageId ?? info.id,
            image_size_bytes: info.sizeBytes,
            ...(outcome.platformBuild ? { platform_build: platformBuildRecord(outcome.platformBuild) } : {}),
            ...(fixes.written && fixes.written.length > 0 ? { written_fixes: fixes.written } : {}),
            ...(fixes.warning ? { warnings: [...(record.warnings ?? []), fixes.warning] } : {}),
          });
          const pushThenFinish = async (smoke?: SmokeResult) => {
            const pushed = await this.pushStep(record, request, ports, workDir, signal);
            const cancelled = signal.aborted ? { status: 'cancelled' as const, error: cancelledError() } : {};
            return finish({ ...pushed, ...(smoke ? { smoke } : {}), ...cancelled });
          };
          if (!request.smokeTest) return await pushThenFinish();
          await this.update(record, {
            phase: 'smoke-testing',
            progress: { ...record.progress, message: 'smoke testing' },
          });
          const smoke = await this.smokeEachPlatform(record, request, ports, builtImage, signal);
          if (signal.aborted) return await stopped({ smoke });
          if (smoke.passed) return await pushThenFinish(smoke);
          const smokePlan = ports.planAfterSmokeFailure
            ? await ports.planAfterSmokeFailure(request, smoke, prepared, workDir)
            : { error: smokeFailedError(smoke) };
          attemptRecord.diagnosis = smokePlan.error.summary;
          if (!request.autoFix || !smokePlan.retry || attempt >= request.maxAttempts) {
            return await finish({ status: 'failed', smoke, error: smokePlan.error });
          }
          // The image runs wrong in a way a Dockerfile change fixes (e.g. torchvision for another torch): rebuild.
          prepared = smokePlan.retry.prepared;
          await this.update(record, {
            fixes_applied: [
              ...record.fixes_applied,
              ...smokePlan.retry.fixes.map((fix) => ({ ...fix, attempt: attempt + 1 })),
            ],
            fixed_dockerfile: prepared.dockerfilePath,
          });
          continue;
        }
        await this.update(record, {
          phase: 'diagnosing',
          progress: { ...record.progress, message: 'diagnosing the failure' },
        });
        const plan = await ports.planAfterFailure(request, outcome, prepared, workDir);
        attemptRecord.diagnosis = plan.error.summary;
        const canRetry = request.autoFix && plan.retry && attempt < request.maxAttempts;
        if (!canRetry || !plan.retry) {
          const nextStep =
            plan.retry && attempt >= request.maxAttempts
              ? `${plan.error.next_step} (max_attempts ${request.maxAttempts} reached; raise it to let the fix run.)`
              : plan.error.next_step;
          return await finish({ status: 'failed', error: { ...plan.error, next_step: nextStep } });
        }
        prepared = plan.retry.prepared;
        await this.update(record, {
          fixes_applied: [
            ...record.fixes_applied,
            ...plan.retry.fixes.map((fix) => ({ ...fix, attempt: attempt + 1 })),
          ],
          fixed_dockerfile: prepared.dockerfilePath,
        });
      }
      return await finish({ status: 'failed' });
    } catch (error) {
      if (signal.aborted) return await stopped();
      const fault = stateFault(this.deps.store.stateDir, error);
      if (fault) return await finish({ status: 'failed', error: failureError(fault) });
      // A background build has no caller to throw to: the bug is recorded, with its stack, and written to stderr.
      process.stderr.write(
        `docker-image-builder: build ${record.build_id} failed with a bug: ${(error as Error).stack}\n`,
      );
      return await finish({
        status: 'failed',
        error: {
          kind: 'internal-error',
          summary: (error as Error).message,
          excerpt: (error as Error).stack?.slice(0, 1500) ?? '',
          next_step: 'This is a bug in docker-image-builder; report it with the log file.',
        },
      });
    }
  }

  /**
   * The end of a good build: with push, the image goes to its registry. A failed push fails the build (kind
   * push-failed) with the image kept locally, so the next step can push it again without rebuilding.
   */
  private async pushStep(
    record: BuildRecord,
    request: BuildRequest,
    ports: BuildPorts,
    workDir: string,
    signal: AbortSignal,
  ): Promise<Partial<BuildRecord>> {
    if (!request.push) return { status: 'succeeded' };
    if (!ports.push) throw new Error('push was asked but this build target cannot push');
    await this.update(record, {
      phase: 'pushing',
      progress: { ...record.progress, message: `pushing ${request.imageRef}` },
    });
    const { push, error, log } = await ports.push(request, workDir, signal);
    for (const line of log.split('\n').filter(Boolean)) {
      this.onBuildEvent(record, { type: 'log', line: `[push] ${line}`, stream: 'stdout' });
    }
    return error ? { status: 'failed', push, error } : { status: 'succeeded', push };
  }

  /**
   * The smoke test of the built image; for a build of several platforms, of each platform's image in turn (run as
   * that platform), recorded per platform. The result is the first failing platform's, or the last one's.
   */
  private async smokeEachPlatform(
    record: BuildRecord,
    request: BuildRequest,
    ports: BuildPorts,
    builtImage: string,
    signal: AbortSignal,
  ): Promise<SmokeResult> {
    const platformBuild = record.platform_build;
    if (!platformBuild) return ports.smokeTest(request, builtImage, signal);
    let shown: SmokeResult | undefined;
    const notes: string[] = [];
    for (const image of platformBuild.images) {
      const smoke = await ports.smokeTest(request, image.image_id ?? image.image_ref, signal, image.platform);
      const failed = smoke.checks.filter((check) => check.status === 'failed').map((check) => check.name);
      image.smoke_passed = smoke.passed;
      if (failed.length > 0) image.smoke_failed_checks = failed;
      notes.push(`${image.platform}: ${smoke.passed ? 'passed' : `failed (${failed.join(', ')})`}`);
      // Keep the first failure; while all pass, the latest.
      if (!shown || shown.passed) shown = smoke;
      if (signal.aborted) break;
    }
    await this.update(record, { platform_build: platformBuild });
    const passed = platformBuild.images.every((image) => image.smoke_passed === true);
    return { ...shown!, passed, notes: [...shown!.notes, `smoke test per platform: ${notes.join('; ')}`] };
  }

  private onBuildEvent(record: BuildRecord, event: BuildEvent): void {
    if (event.type === 'step-started' || event.type === 'step-done' || event.type === 'step-cached') {
      const message =
        event.type === 'step-started'
          ? `attempt ${record.attempt}: ${event.instruction}`.slice(0, 200)
          : record.progress.message;
      record.progress = {
        steps_done: event.completedSteps,
        steps_total: event.totalSteps ?? record.progress.steps_total,
        message,
      };
      this.events.emit('change', { ...record });
    }
    this.events.emit('event', record.build_id, event, record);
  }
}

/**
 * write_fixes after a good build. A file that cannot be written (read-only, a link out of the context, a full disk)
 * leaves the build succeeded: the reply warns, names the fixed copy the build used, and says what to do.
 */
async function writeFixesOrWarn(
  ports: BuildPorts,
  request: BuildRequest,
  prepared: PreparedSources,
): Promise<{ written?: { file: string; backup: string }[]; warning?: string }> {
  try {
    return { written: await ports.writeFixes(request, prepared) };
  } catch (error) {
    if (!(error instanceof ContextWriteError)) throw error;
    const copy = path.join(prepared.contextDir, error.file);
    return {
      warning: `write_fixes: ${error.message}. The build used the fixed copy ${copy}. ${error.nextStep}`,
    };
  }
}

/** Errnos of a file system that cannot take the build's files: they fail the build, they are not bugs. */
const STATE_WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM']);

/** The state-directory failure an error is, if any: a store failure, or a log/event file write that failed. */
function stateFault(stateDir: string, error: unknown): ExpectedFailure | undefined {
  if (error instanceof ExpectedFailure && (error.kind === 'no-space' || error.kind === 'state-dir')) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && STATE_WRITE_ERRNOS.has(code))
    return stateDirFailure(stateDir, 'Writing the build log', error);
  return undefined;
}

function failureError(failure: ExpectedFailure): BuildError {
  return { kind: failure.kind, summary: failure.message, excerpt: '', next_step: failure.nextStep };
}

function platformBuildRecord(outcome: PlatformBuildOutcome): NonNullable<BuildRecord['platform_build']> {
  return {
    mode: outcome.mode,
    reason: outcome.reason,
    images: outcome.images.map((image) => ({
      platform: image.platform,
      image_ref: image.imageRef,
      ...(image.imageId ? { image_id: image.imageId } : {}),
    })),
  };
}

/** The error of a failed smoke test when no diagnosis port is wired. */
function smokeFailedError(smoke: SmokeResult): BuildError {
  const failed = smoke.checks.filter((check) => check.status === 'failed');
  return {
    kind: 'smoke-test-failed',
    summary: `The image built but failed smoke checks: ${failed.map((check) => check.name).join(', ')}.`,
    excerpt: failed
      .map((check) => `${check.name}: ${check.detail ?? ''}\n${check.output_excerpt}`)
      .join('\n')
      .slice(-2000),
    next_step: 'Read the failed checks; fix the Dockerfile (analyze_dockerfile helps) and build again.',
  };
}
