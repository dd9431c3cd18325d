import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { TERMINAL_STATUSES, buildRecordSchema, type BuildRecord } from '../build-model/record-schema.js';

const BUILD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Build records as JSON files under the state directory, one folder per build with its full log beside it. */
export class BuildRecordStore {
  constructor(
    readonly stateDir: string,
    private readonly isAlive: (pid: number) => boolean = processAlive,
  ) {}

  private dirOf(buildId: string): string {
    if (!BUILD_ID_PATTERN.test(buildId)) throw new Error(`invalid build id: ${buildId}`);
    return path.join(this.stateDir, 'builds', encodeURIComponent(buildId));
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

  /** Reads a record; a build left running by a process that is gone is reported as interrupted. */
  async load(buildId: string): Promise<BuildRecord | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.dirOf(buildId), 'record.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const record = buildRecordSchema.parse(JSON.parse(text));
    if (!TERMINAL_STATUSES.includes(record.status) && !this.isAlive(record.owner_pid)) {
      return {
        ...record,
        status: 'interrupted',
        phase: 'finished',
        error: record.error ?? {
          kind: 'interrupted',
          summary: `The server process (pid ${record.owner_pid}) that ran this build stopped before it finished.`,
          excerpt: '',
          next_step: 'Start the build again with build_image.',
        },
      };
    }
    return record;
  }

  /** Newest first. */
  async list(limit = 20): Promise<BuildRecord[]> {
    let names: string[];
    try {
      names = await readdir(path.join(this.stateDir, 'builds'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records = await Promise.all(names.map((name) => this.load(decodeURIComponent(name)).catch(() => undefined)));
    return records
      .filter((record): record is BuildRecord => record !== undefined)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .slice(0, limit);
  }
}
