import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { TERMINAL_STATUSES, buildRecordSchema, type BuildRecord } from '../build-model/record-schema.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { buildJobSchema, type BuildJob } from './job.js';
import { processIsAlive, type ProcessIdentity } from './process-identity.js';

const BUILD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * A queued record names the process that is starting its worker; give the worker this long to take it over before
 * a dead starter makes the build count as interrupted.
 */
const QUEUED_GRACE_MS = 15_000;

export interface RecordStoreOptions {
  isAlive?: (identity: ProcessIdentity) => boolean;
  now?: () => Date;
}

/**
 * Build records as JSON files under the state directory, one folder per build: `record.json` (written atomically,
 * only by the build's worker once it runs), `job.json` (what the worker runs), `events.jsonl` (its event log), and
 * one log per attempt. Any server or CLI on the machine may read them; several may share one state directory.
 */
export class BuildRecordStore {
  private readonly isAlive: (identity: ProcessIdentity) => boolean;
  private readonly now: () => Date;

  constructor(
    readonly stateDir: string,
    options: RecordStoreOptions = {},
  ) {
    this.isAlive = options.isAlive ?? processIsAlive;
    this.now = options.now ?? (() => new Date());
  }

  dirOf(buildId: string): string {
    if (!BUILD_ID_PATTERN.test(buildId)) throw new Error(`invalid build id: ${buildId}`);
    return path.join(this.stateDir, 'builds', encodeURIComponent(buildId));
  }

  eventLogFile(buildId: string): string {
    return path.join(this.dirOf(buildId), 'events.jsonl');
  }

  workerLogFile(buildId: string): string {
    return path.join(this.dirOf(buildId), 'worker.log');
  }

  /** e.g. `local-20261129T101500-a1b2c3`; the mode says where the build runs. */
  static newId(mode: 'local' | 'codebuild', now: Date = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    return `${mode}-${stamp}-${randomBytes(3).toString('hex')}`;
  }

  static isValidId(buildId: string): boolean {
    return BUILD_ID_PATTERN.test(buildId);
  }

  /** Creates the build's folder; returns the log file of the first attempt and the work folder for fixed files. */
  async prepare(buildId: string): Promise<{ logFile: string; workDir: string }> {
    const dir = this.dirOf(buildId);
    await mkdir(path.join(dir, 'work'), { recursive: true });
    return { logFile: path.join(dir, 'attempt-1.log'), workDir: path.join(dir, 'work') };
  }

  async save(record: BuildRecord): Promise<void> {
    const dir = this.dirOf(record.build_id);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, 'record.json'), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** The job is readable by its owner only: build arguments may carry values the user would not show around. */
  async saveJob(job: BuildJob): Promise<void> {
    const dir = this.dirOf(job.buildId);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, 'job.json'), `${JSON.stringify(job)}\n`, 0o600);
  }

  async loadJob(buildId: string): Promise<BuildJob> {
    const text = await readFile(path.join(this.dirOf(buildId), 'job.json'), 'utf8');
    return buildJobSchema.parse(JSON.parse(text)) as BuildJob;
  }

  /** The record as stored, without judging whether its worker still runs. */
  async loadRaw(buildId: string): Promise<BuildRecord | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.dirOf(buildId), 'record.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return buildRecordSchema.parse(JSON.parse(text));
  }

  /** True while a build that is not over still has a live worker (or a starter within its grace time). */
  workerAlive(record: BuildRecord): boolean {
    if (TERMINAL_STATUSES.includes(record.status)) return false;
    const identity: ProcessIdentity = { pid: record.owner_pid, startTicks: record.owner_start_ticks };
    if (this.isAlive(identity)) return true;
    return record.status === 'queued' && this.now().getTime() - Date.parse(record.created_at) < QUEUED_GRACE_MS;
  }

  /** Reads a record; a build whose worker is gone is reported as interrupted. */
  async load(buildId: string): Promise<BuildRecord | undefined> {
    const record = await this.loadRaw(buildId);
    if (!record || TERMINAL_STATUSES.includes(record.status) || this.workerAlive(record)) return record;
    return interruptedRecord(record, this.now());
  }

  /**
   * Takes the right to end a build whose worker died (or that was cancelled while its worker could not answer):
   * only one process wins, so two servers sweeping at once neither clean up twice nor write over each other.
   */
  async claimSweep(buildId: string): Promise<(() => Promise<void>) | undefined> {
    const lock = path.join(this.dirOf(buildId), 'sweep.lock');
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
    } catch {
      return undefined;
    }
    return () => rm(lock, { force: true });
  }

  /** Build ids found on disk, unordered. */
  async ids(): Promise<string[]> {
    try {
      return (await readdir(path.join(this.stateDir, 'builds'))).map((name) => decodeURIComponent(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /**
   * Newest first. `load` reads each record (default: this store's own, which reports dead workers as interrupted);
   * a caller that also cleans up after dead workers passes its own.
   */
  async list(
    limit = 20,
    load: (buildId: string) => Promise<BuildRecord | undefined> = (id) => this.load(id),
  ): Promise<BuildRecord[]> {
    const ids = await this.ids();
    const records = await Promise.all(ids.map((id) => load(id).catch(() => undefined)));
    return records
      .filter((record): record is BuildRecord => record !== undefined)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .slice(0, limit);
  }
}

export function interruptedRecord(record: BuildRecord, now: Date): BuildRecord {
  return {
    ...record,
    status: 'interrupted',
    phase: 'finished',
    ended_at: record.ended_at ?? now.toISOString(),
    error: record.error ?? {
      kind: 'interrupted',
      summary: `The worker process (pid ${record.owner_pid}) that ran this build stopped before it finished (killed, or the machine restarted).`,
      excerpt: '',
      next_step: 'Start the build again with build_image.',
    },
  };
}
