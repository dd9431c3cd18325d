import { EventEmitter } from 'node:events';
import type {
  BuildImageParams,
  BuildListing,
  BuildProgressState,
  BuildRefusal,
  BuildsApi,
} from '../../src/build-model/api.js';
import type { BuildEvent } from '../../src/build-model/events.js';
import type { BuildRecord } from '../../src/build-model/record-schema.js';
import type { SmokeResult, SmokeTestInput } from '../../src/build-model/smoke-schema.js';

/** How the next build started on a FakeBuilds behaves. */
export interface FakeBuildScript {
  /** Refuse to start, as the registry does when neither Docker nor CodeBuild can build. */
  refuse?: Omit<BuildRefusal, 'refused'>;
  /** Attempts it makes; every attempt but the last fails and is "fixed" (default 1). */
  attempts?: number;
  /** Steps per attempt (default 3). */
  steps?: number;
  /** How the last attempt ends (default succeeded). */
  final?: 'succeeded' | 'failed';
  /** Stay in the first step until cancelled. */
  hold?: boolean;
  /** Pause between events, so a caller that subscribes after start() sees them all (default 5 ms). */
  stepDelayMs?: number;
}

export const FAILED_NEXT_STEP = 'Pin torchvision to 0.22.1 for torch 2.7.1 and build again.';

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** A passing smoke result for `image`. */
export function smokeResult(image: string, passed = true): SmokeResult {
  return {
    image,
    passed,
    checks: [
      { name: 'container-starts', status: 'passed', duration_ms: 3, output_excerpt: '' },
      passed
        ? { name: 'torch-import', status: 'passed', duration_ms: 40, output_excerpt: '2.7.1+cu126' }
        : {
            name: 'torch-import',
            status: 'failed',
            duration_ms: 40,
            output_excerpt: "ModuleNotFoundError: No module named 'torch'",
            detail: 'torch is not installed in the image; install it in the Dockerfile.',
          },
    ],
    gpu_runtime: false,
    container_names: ['dib-smoke-1'],
    duration_ms: 50,
    notes: [],
  };
}

/**
 * An in-memory BuildsApi: records every call, and runs each build from a small script (attempts, steps, how it ends)
 * on timers, emitting the same events and record changes the real registry does. No Docker, no files.
 */
export class FakeBuilds implements BuildsApi {
  readonly started: BuildImageParams[] = [];
  readonly cancelCalls: string[] = [];
  readonly smokeCalls: (SmokeTestInput & { useSudo: boolean })[] = [];
  /** The script for the next start(). */
  script: FakeBuildScript = {};
  smokePasses = true;
  private readonly records = new Map<string, BuildRecord>();
  private readonly running = new Map<string, Running>();
  private readonly logs = new Map<string, string[]>();
  private readonly emitter = new EventEmitter();
  private count = 0;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** Puts a finished record in, as if an earlier server had run it. */
  seed(record: BuildRecord): void {
    this.records.set(record.build_id, structuredClone(record));
  }

  async start(params: BuildImageParams): Promise<BuildRecord | BuildRefusal> {
    this.started.push(params);
    const script = this.script;
    if (script.refuse) return { refused: true, ...script.refuse };
    this.count++;
    const buildId = `local-20261201T000000-fake${String(this.count).padStart(2, '0')}`;
    const record: BuildRecord = {
      build_id: buildId,
      mode: 'local',
      status: 'queued',
      phase: 'queued',
      image_name: `${params.imageName ?? 'image'}:${params.imageTag}`,
      context: params.context,
      dockerfile: params.dockerfile,
      attempt: 0,
      max_attempts: params.maxAttempts,
      attempts: [],
      fixes_applied: [],
      progress: { steps_done: 0, message: 'queued' },
      created_at: new Date(Date.UTC(2026, 11, 1, 0, 0, this.count)).toISOString(),
      log_file: `/fake/${buildId}/attempt-1.log`,
      owner_pid: process.pid,
    };
    this.records.set(buildId, record);
    this.logs.set(buildId, []);
    const controller = new AbortController();
    const done = this.run(record, script, controller.signal).finally(() => this.running.delete(buildId));
    this.running.set(buildId, { controller, done });
    return structuredClone(record);
  }

  private change(record: BuildRecord, changes: Partial<BuildRecord>): void {
    Object.assign(record, changes);
    this.emitter.emit('change', structuredClone(record));
  }

  private emit(record: BuildRecord, event: BuildEvent): void {
    if (event.type === 'log') this.logs.get(record.build_id)?.push(event.line);
    if (event.type === 'step-started' || event.type === 'step-done') {
      record.progress = {
        steps_done: event.completedSteps,
        steps_total: event.totalSteps,
        message: record.progress.message,
      };
    }
    this.emitter.emit(`event:${record.build_id}`, event, structuredClone(record));
  }

  private async run(record: BuildRecord, script: FakeBuildScript, signal: AbortSignal): Promise<void> {
    const attempts = script.attempts ?? 1;
    const steps = script.steps ?? 3;
    const delay = script.stepDelayMs ?? 5;
    const cancelled = () =>
      this.change(record, {
        status: 'cancelled',
        phase: 'finished',
        ended_at: new Date().toISOString(),
        error: {
          kind: 'cancelled',
          summary: 'The build was cancelled.',
          excerpt: '',
          next_step: 'Start it again with build_image when wanted.',
        },
      });
    await sleep(delay, signal);
    if (signal.aborted) return cancelled();
    this.change(record, { status: 'running', phase: 'analyzing' });
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.change(record, {
        attempt,
        phase: 'building',
        attempts: [...record.attempts, { number: attempt, started_at: new Date().toISOString() }],
        progress: { steps_done: 0, steps_total: steps, message: `attempt ${attempt}: building` },
      });
      this.emit(record, { type: 'build-started', builder: 'buildkit', imageRef: record.image_name, totalSteps: steps });
      for (let step = 1; step <= steps; step++) {
        const instruction = `RUN step ${step}`;
        this.emit(record, { type: 'step-started', step, instruction, completedSteps: step - 1, totalSteps: steps });
        this.emit(record, { type: 'log', line: `#${step} ${instruction}`, stream: 'stdout', step });
        await sleep(script.hold ? 2 ** 31 - 1 : delay, signal);
        if (signal.aborted) return cancelled();
        this.emit(record, { type: 'step-done', step, completedSteps: step, totalSteps: steps });
      }
      const last = attempt === attempts;
      if (last && (script.final ?? 'succeeded') === 'succeeded') {
        record.attempts[attempt - 1]!.success = true;
        this.change(record, {
          status: 'succeeded',
          phase: 'finished',
          image_id: 'sha256:0123456789abcdef',
          ended_at: new Date().toISOString(),
          build_time_seconds: 1.5,
        });
        return;
      }
      record.attempts[attempt - 1]!.success = false;
      this.change(record, { phase: 'diagnosing' });
      if (last) {
        this.change(record, {
          status: 'failed',
          phase: 'finished',
          ended_at: new Date().toISOString(),
          build_time_seconds: 1.5,
          error: {
            kind: 'pip-resolution-impossible',
            summary: 'pip cannot install torchvision==0.15.0 with torch==2.7.1.',
            excerpt: 'ERROR: ResolutionImpossible',
            dockerfile_line: 2,
            next_step: FAILED_NEXT_STEP,
          },
        });
        return;
      }
      this.change(record, {
        fixes_applied: [
          ...record.fixes_applied,
          {
            what: 'torchvision==0.15.0 -> torchvision==0.22.1',
            where: 'Dockerfile:2',
            why: 'torchvision 0.15 needs torch 2.0',
            source: 'diagnosis',
            attempt: attempt + 1,
          },
        ],
      });
    }
  }

  async get(buildId: string): Promise<BuildRecord | undefined> {
    const record = this.records.get(buildId);
    return record && structuredClone(record);
  }

  async isActive(buildId: string): Promise<boolean> {
    return this.running.has(buildId);
  }

  async waitForChange(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    const record = this.records.get(buildId);
    if (!record || !this.running.has(buildId) || timeoutMs <= 0) return this.get(buildId);
    const { status, phase } = record;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.emitter.off('change', onChange);
        resolve();
      };
      const onChange = (changed: BuildRecord) => {
        if (changed.build_id === buildId && (changed.status !== status || changed.phase !== phase)) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.emitter.on('change', onChange);
      signal?.addEventListener('abort', finish, { once: true });
    });
    return this.get(buildId);
  }

  async waitForEnd(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    const running = this.running.get(buildId);
    if (running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        running.done,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
          signal?.addEventListener('abort', () => resolve(), { once: true });
        }),
      ]);
      clearTimeout(timer);
    }
    return this.get(buildId);
  }

  async cancel(buildId: string): Promise<boolean> {
    this.cancelCalls.push(buildId);
    const running = this.running.get(buildId);
    if (!running) return false;
    running.controller.abort();
    await running.done;
    return true;
  }

  async list(limit: number): Promise<BuildListing> {
    const records = [...this.records.values()]
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .slice(0, limit)
      .map((record) => structuredClone(record));
    return { records, damaged: [] };
  }

  async logTail(record: BuildRecord, lines: number): Promise<string[]> {
    return lines === 0 ? [] : (this.logs.get(record.build_id) ?? []).slice(-lines);
  }

  subscribe(buildId: string, listener: (event: BuildEvent, state: BuildProgressState) => void): () => Promise<void> {
    const forward = (event: BuildEvent, record: BuildRecord) =>
      listener(event, { attempt: record.attempt, progress: record.progress });
    this.emitter.on(`event:${buildId}`, forward);
    return async () => {
      this.emitter.off(`event:${buildId}`, forward);
    };
  }

  /** Platforms of local images, as a test sets them. */
  localPlatforms: Record<string, string> = {};
  async imagePlatforms(refs: string[]): Promise<Record<string, string>> {
    return Object.fromEntries(
      refs.flatMap((ref) => (this.localPlatforms[ref] ? [[ref, this.localPlatforms[ref]]] : [])),
    );
  }

  async smokeTest(input: SmokeTestInput & { useSudo: boolean }, _signal: AbortSignal): Promise<SmokeResult> {
    this.smokeCalls.push(input);
    return smokeResult(input.image, this.smokePasses);
  }

  /** Stops whatever still runs, so a test leaves no timers behind. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.cancel(id)));
  }
}
