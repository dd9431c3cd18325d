import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../../src/build-model/record-schema.js';
import { newBuildRecord } from '../../../src/builds/build-service.js';
import { DamagedRecordError } from '../../../src/builds/record-problems.js';
import { BuildRecordStore } from '../../../src/builds/record-store.js';
import { ExpectedFailure } from '../../../src/util/errors.js';
import { tempDir } from '../../support/build-fixtures.js';

function recordFor(store: BuildRecordStore, buildId: string, createdAt: string): BuildRecord {
  const record = newBuildRecord({
    buildId,
    request: { imageRef: 'demo:latest', contextDir: '/ctx', dockerfile: 'Dockerfile', maxAttempts: 1 } as never,
    target: { mode: 'local' },
    logFile: path.join(store.dirOf(buildId), 'attempt-1.log'),
    createdAt,
    owner: { pid: 1 },
  });
  return { ...record, status: 'succeeded', phase: 'finished' };
}

async function storeWithGoodAndDamaged() {
  const stateDir = await tempDir('damaged');
  const store = new BuildRecordStore(stateDir);
  await store.save(recordFor(store, 'local-20261201T100000-aaaaaa', '2026-12-01T10:00:00Z'));
  const broken = {
    truncated: 'local-20261201T110000-bbbbbb',
    directory: 'local-20261201T120000-cccccc',
    foreign: 'local-20261201T130000-dddddd',
  };
  await mkdir(store.dirOf(broken.truncated), { recursive: true });
  await writeFile(path.join(store.dirOf(broken.truncated), 'record.json'), '{"build_id": "local-2026');
  await mkdir(path.join(store.dirOf(broken.directory), 'record.json'), { recursive: true });
  const foreign = recordFor(store, broken.foreign, '2026-12-01T13:00:00Z');
  await store.save({ ...foreign, log_file: '/etc/shadow' });
  return { store, broken };
}

describe('damaged build records', () => {
  it('list marks every damaged record with its file and problem instead of dropping it', async () => {
    const { store, broken } = await storeWithGoodAndDamaged();
    const listing = await store.list();
    expect(listing.records.map((record) => record.build_id)).toEqual(['local-20261201T100000-aaaaaa']);
    const byId = Object.fromEntries(listing.damaged.map((entry) => [entry.build_id, entry]));
    expect(byId[broken.truncated]?.problem).toMatch(/not valid JSON/);
    expect(byId[broken.truncated]?.file).toBe(path.join(store.dirOf(broken.truncated), 'record.json'));
    expect(byId[broken.directory]?.problem).toMatch(/cannot be read \(EISDIR\)/);
    expect(byId[broken.foreign]?.problem).toMatch(/log_file/);
  });

  it("a record whose log_file was edited to point outside its folder is refused, so the file's lines never show", async () => {
    const { store, broken } = await storeWithGoodAndDamaged();
    const error = await store.load(broken.foreign).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DamagedRecordError);
    expect((error as DamagedRecordError).message).not.toContain('/etc/shadow');
    expect((error as DamagedRecordError).nextStep).toContain(store.dirOf(broken.foreign));
  });

  it('a state directory that is a file fails the call with its errno and DIB_STATE_DIR in the next step', async () => {
    const dir = await tempDir('statefile');
    const file = path.join(dir, 'not-a-dir');
    await writeFile(file, '');
    const store = new BuildRecordStore(file);
    for (const call of [
      () => store.list(),
      () => store.load('local-20261201T100000-aaaaaa'),
      () => store.prepare('local-20261201T100000-aaaaaa'),
    ]) {
      const error = (await call().catch((caught: unknown) => caught)) as ExpectedFailure;
      expect(error).toBeInstanceOf(ExpectedFailure);
      expect(error.kind).toBe('state-dir');
      expect(error.message).toContain('ENOTDIR');
      expect(error.nextStep).toContain('DIB_STATE_DIR');
    }
  });
});
