import { randomBytes } from 'node:crypto';
import { appendFileSync, constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TERMINAL_STATUSES, buildRecordSchema, type BuildRecord } from '../build-model/record-schema.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isInside } from '../util/context-path.js';
import { DamagedRecordError, stateDirFailure } from './record-problems.js';
import { buildJobSchema, type BuildJob } from './job.js';
import { identityOf, processIsAlive, type ProcessIdentity } from './process-identity.js';

const BUILD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * A queued record names the process that is starting its worker; give the worker this long to take it over before
 * a dead starter makes the build count as interrupted.
 */
const QUEUED_GRACE_MS = 15_000;

/** A build found on disk whose record cannot be used. */
export interface DamagedRecord {
  build_id: string;
  file: string;
  problem: string;
}

export interface RecordListing {
  /** Newest first. */
  records: BuildRecord[];
  /** Builds whose record.json is damaged (not JSON, not a record, unreadable), so none vanishes unseen. */
  damaged: DamagedRecord[];
}

export interface RecordStoreOptions {
  isAlive?: (identity: ProcessIdentity) => boolean;
  now?: () => Date;
}

/** Enough for a final record.json and its atomic copy (a record with its excerpts is a few kilobytes). */
const SPACE_RESERVE_BYTES = 64 * 1024;

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

  /**
   * Notes a process group the build's worker started (its docker client leads one, so a signal reaches the buildx
   * plugin too). The worker may die by SIGKILL; whoever sweeps up after it reads these. Written synchronously so the
   * note exists before the group can outlive its worker.
   */
  noteChildGroup(buildId: string, pid: number): void {
    try {
      appendFileSync(path.join(this.dirOf(buildId), 'child-groups.jsonl'), `${JSON.stringify(identityOf(pid))}\n`);
    } catch {
      // Without the note a sweep still stops the worker's own group; the build itself goes on.
    }
  }

  /** The process groups noted by noteChildGroup that still run (same pid and start time). */
  async liveChildGroups(buildId: string): Promise<ProcessIdentity[]> {
    const text = await readFile(path.join(this.dirOf(buildId), 'child-groups.jsonl'), 'utf8').catch(() => '');
    const noted = text.split('\n').flatMap((line): ProcessIdentity[] => {
      try {
        const value = JSON.parse(line) as Partial<ProcessIdentity>;
        if (!Number.isInteger(value.pid) || (value.pid ?? 0) <= 1) return [];
        return [
          {
            pid: value.pid as number,
            ...(typeof value.startTicks === 'string' ? { startTicks: value.startTicks } : {}),
          },
        ];
      } catch {
        return [];
      }
    });
    return noted.filter((identity) => this.isAlive(identity));
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

  /**
   * Creates the build's folder and its space reserve; returns the log file of the first attempt and the work folder
   * for fixed files.
   */
  async prepare(buildId: string): Promise<{ logFile: string; workDir: string }> {
    const dir = this.dirOf(buildId);
    await this.guard('Creating the build folder', async () => {
      await mkdir(path.join(dir, 'work'), { recursive: true });
      await writeFile(this.reserveFile(buildId), Buffer.alloc(SPACE_RESERVE_BYTES), { flag: 'wx' }).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        },
      );
    });
    return { logFile: path.join(dir, 'attempt-1.log'), workDir: path.join(dir, 'work') };
  }

  /**
   * A few kilobytes kept free for the build's last record: when a log fills the disk, the record that says so is
   * written in the space this file gives back.
   */
  private reserveFile(buildId: string): string {
    return path.join(this.dirOf(buildId), 'space-reserve');
  }

  async save(record: BuildRecord): Promise<void> {
    const dir = this.dirOf(record.build_id);
    const write = async () => {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, 'record.json'), `${JSON.stringify(record, null, 2)}\n`);
    };
    await this.guard('Saving the build record', async () => {
      try {
        await write();
      } catch (error) {
        // A full disk: give back the build's reserve and write the record in its place.
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        if (!(await this.releaseReserve(record.build_id))) throw error;
        await write();
      }
      if (TERMINAL_STATUSES.includes(record.status)) await this.releaseReserve(record.build_id);
    });
  }

  /** Deletes the build's space reserve; false when there was none. */
  private async releaseReserve(buildId: string): Promise<boolean> {
    return rm(this.reserveFile(buildId)).then(
      () => true,
      () => false,
    );
  }

  /** Runs a state-directory operation; a file-system error becomes an expected failure naming DIB_STATE_DIR. */
  private async guard<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
      // A recursive mkdir reports ENOENT on a read-only file system; asking for write access gives the real errno.
      const real =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? await access(this.stateDir, constants.W_OK).then(
              () => error,
              (accessError: unknown) => accessError,
            )
          : error;
      throw stateDirFailure(this.stateDir, action, real);
    }
  }

  /** True when the state directory exists but is not a usable directory (then no record can be read). */
  private async stateDirBroken(): Promise<boolean> {
    return stat(this.stateDir).then(
      (info) => !info.isDirectory(),
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
    );
  }

  /** The job is readable by its owner only: build arguments may carry values the user would not show around. */
  async saveJob(job: BuildJob): Promise<void> {
    const dir = this.dirOf(job.buildId);
    await this.guard('Saving the build job', async () => {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, 'job.json'), `${JSON.stringify(job)}\n`, 0o600);
    });
  }

  async loadJob(buildId: string): Promise<BuildJob> {
    const text = await readFile(path.join(this.dirOf(buildId), 'job.json'), 'utf8');
    return buildJobSchema.parse(JSON.parse(text)) as BuildJob;
  }

  /** The record as stored, without judging whether its worker still runs. */
  async loadRaw(buildId: string): Promise<BuildRecord | undefined> {
    const dir = this.dirOf(buildId);
    const file = path.join(dir, 'record.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ENOTDIR' || (await this.stateDirBroken()))
        throw stateDirFailure(this.stateDir, 'Reading the build record', error);
      throw DamagedRecordError.from(buildId, file, error);
    }
    let record: BuildRecord;
    try {
      record = buildRecordSchema.parse(JSON.parse(text));
    } catch (error) {
      throw DamagedRecordError.from(buildId, file, error);
    }
    // The record's paths are read back (log tails): one edited to point elsewhere must not expose that file.
    if (record.build_id !== buildId || !isInside(dir, path.resolve(dir, record.log_file))) {
      throw new DamagedRecordError(buildId, file, "its build_id or log_file does not belong to this build's folder");
    }
    return record;
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
      throw stateDirFailure(this.stateDir, 'Listing builds', error);
    }
  }

  /**
   * Newest first. `load` reads each record (default: this store's own, which reports dead workers as interrupted);
   * a caller that also cleans up after dead workers passes its own.
   */
  async list(
    limit = 20,
    load: (buildId: string) => Promise<BuildRecord | undefined> = (id) => this.load(id),
  ): Promise<RecordListing> {
    const ids = (await this.ids()).filter((id) => BuildRecordStore.isValidId(id));
    const damaged: DamagedRecord[] = [];
    const loaded = await Promise.all(
      ids.map((id) =>
        load(id).catch((error: unknown) => {
          if (!(error instanceof DamagedRecordError)) throw error;
          damaged.push({ build_id: id, file: error.file, problem: error.problem });
          return undefined;
        }),
      ),
    );
    const records = loaded
      .filter((record): record is BuildRecord => record !== undefined)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .slice(0, limit);
    return { records, damaged: damaged.sort((a, b) => b.build_id.localeCompare(a.build_id)) };
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
