import type { BuildPorts, BuildTarget } from '../build-model/attempt.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { BuildService } from './build-service.js';
import { EventLogWriter } from './event-log.js';
import type { TargetSpec } from './job.js';
import { stateDirFailure } from './record-problems.js';
import { BuildRecordStore } from './record-store.js';

/** The name index.ts knows the worker by: `node dist/index.js __build-worker BUILD_ID`. */
export const WORKER_COMMAND = '__build-worker';

/** How often the worker writes a running build's progress into its record, for readers that poll it. */
const PROGRESS_SAVE_MS = 1000;

export interface WorkerDeps {
  store: BuildRecordStore;
  ports: (buildId: string, target: TargetSpec) => Promise<BuildPorts>;
  /** Where stop requests arrive (SIGTERM, SIGINT); the process itself in production. */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** The build args' values, which the job file names only (see secret-checks.ts jobRequest). */
  buildArgs?: Record<string, string>;
  now?: () => Date;
}

/** Saves one after another, each a snapshot, so a late progress save can never land over a newer status. */
class OrderedRecordStore extends BuildRecordStore {
  private chain: Promise<void> = Promise.resolve();

  override save(record: BuildRecord): Promise<void> {
    const snapshot = structuredClone(record);
    const saved = this.chain.then(() => super.save(snapshot));
    this.chain = saved.catch(() => undefined);
    return saved;
  }
}

/**
 * Runs one build's whole attempt loop in this process (analyse, fix, build, diagnose, retry, smoke test, record),
 * writing its record and its event log, until it ends or a stop request arrives. The process that started it is
 * only a reader: it may go away at any time without touching the build.
 */
export async function runBuildWorker(buildId: string, deps: WorkerDeps): Promise<BuildRecord> {
  const store = new OrderedRecordStore(deps.store.stateDir);
  const service = new BuildService({ store, ...(deps.now ? { now: deps.now } : {}) });
  // A stop that arrives before the loop runs is kept and honoured as soon as it does.
  let stopRequested = false;
  const stop = () => {
    stopRequested = true;
    void service.cancel(buildId);
  };
  const signals = deps.signals ?? process;
  signals.on('SIGTERM', stop);
  signals.on('SIGINT', stop);
  const log = new EventLogWriter(store.eventLogFile(buildId));
  try {
    const job = await store.loadJob(buildId);
    const argNames = Object.keys(job.request.buildArgs);
    if (argNames.length > 0 && deps.buildArgs === undefined) {
      throw new Error(`the values of the build args ${argNames.join(', ')} did not reach the worker`);
    }
    job.request.buildArgs = { ...job.request.buildArgs, ...deps.buildArgs };
    const queued = await store.loadRaw(buildId);
    let lastProgressSave = 0;
    let eventsUnwritable = false;
    service.events.on('event', (_id: string, event, record: BuildRecord) => {
      if (eventsUnwritable) return;
      try {
        log.append(record, event);
      } catch (error) {
        if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
        // A full or read-only disk fails this build, by name, instead of killing its worker mid-build.
        eventsUnwritable = true;
        void service.fail(buildId, stateDirFailure(store.stateDir, 'Writing the build events', error));
      }
    });
    service.events.on('change', (record: BuildRecord) => {
      const now = Date.now();
      if (now - lastProgressSave < PROGRESS_SAVE_MS) return;
      lastProgressSave = now;
      void store.save(record).catch(() => undefined);
    });
    const target: BuildTarget = {
      mode: job.target.mode,
      ports: await deps.ports(buildId, job.target),
      ...(job.target.mode === 'codebuild' ? { region: job.target.region } : {}),
      ...(queued?.warnings ? { warnings: queued.warnings } : {}),
    };
    await service.start(buildId, job.request, target, queued);
    if (stopRequested) void service.cancel(buildId);
    return (await service.whenDone(buildId)) ?? (await store.loadRaw(buildId))!;
  } finally {
    signals.off('SIGTERM', stop);
    signals.off('SIGINT', stop);
    log.close();
  }
}
