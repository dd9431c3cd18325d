import { spawn } from 'node:child_process';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildRecordStore } from '../../../src/builds/record-store.js';
import { ExecaProcessSpawner } from '../../../src/docker/process-spawner.js';
import { tempDir } from '../../support/build-fixtures.js';

const BUILD = 'local-20261202T070000-abcdef';

describe('process groups a worker leaves a note of', () => {
  it('are listed while they run and dropped once they end, so a sweep after a SIGKILL can stop them', async () => {
    const store = new BuildRecordStore(await tempDir('child-groups'));
    await mkdir(store.dirOf(BUILD), { recursive: true });
    const spawner = new ExecaProcessSpawner({ onStart: (pid) => store.noteChildGroup(BUILD, pid) });
    const child = spawner.spawn('sleep', ['30'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      onLine: () => undefined,
    });

    const live = await store.liveChildGroups(BUILD);
    expect(live.map((identity) => identity.pid)).toEqual([child.pid]);

    child.kill('SIGKILL');
    await child.exited;
    expect(await store.liveChildGroups(BUILD)).toEqual([]);
  });

  it('ignore lines that are not a process note, and a pid reused by another process', async () => {
    const store = new BuildRecordStore(await tempDir('child-groups'));
    await mkdir(store.dirOf(BUILD), { recursive: true });
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    const notes = path.join(store.dirOf(BUILD), 'child-groups.jsonl');
    // The same pid, but a start time that is not this process's: the group noted is gone and the pid was reused.
    await appendFile(notes, `not json\n{"pid": 1}\n{"pid": ${other.pid}, "startTicks": "1"}\n`);
    try {
      expect(await store.liveChildGroups(BUILD)).toEqual([]);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a note that cannot be written does not stop the build', () => {
    const store = new BuildRecordStore('/proc/no-such-state-dir');
    expect(() => store.noteChildGroup(BUILD, 12345)).not.toThrow();
  });
});
