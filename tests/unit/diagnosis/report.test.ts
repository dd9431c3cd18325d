import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnoseLog, summarizeDiagnoses } from '../../../src/diagnosis/report.js';
import { InputError } from '../../../src/util/errors.js';

const FIXTURE = path.join(import.meta.dirname, '../../fixtures/real-failures/apt-python-version-unavailable-1.log');

describe('diagnoseLog (diagnose_build_log and the diagnose command)', () => {
  it('reads a log file and a Dockerfile path, and answers in snake_case', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diagnose-'));
    const dockerfile = path.join(dir, 'Dockerfile');
    await writeFile(dockerfile, 'FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y python3.9\n');
    const result = await diagnoseLog({ logFile: FIXTURE, dockerfilePath: dockerfile });
    expect(result.log_forms).toEqual(['buildkit-error-summary']);
    expect(result.diagnoses[0]).toMatchObject({
      kind: 'apt-python-version-unavailable',
      dockerfile_line: 5,
      fixable: false,
      next_step: expect.stringContaining('deadsnakes'),
    });
    expect(summarizeDiagnoses(result)).toContain('apt-python-version-unavailable (Dockerfile line 5)');
  });

  it('refuses both or neither of log and log_file, and unreadable files, saying which', async () => {
    await expect(diagnoseLog({})).rejects.toThrow(InputError);
    await expect(diagnoseLog({ log: 'x', logFile: FIXTURE })).rejects.toThrow(/both given/);
    await expect(diagnoseLog({ logFile: '/nonexistent/build.log' })).rejects.toThrow(/log_file: cannot read/);
  });

  it('reports nothing for a successful build', async () => {
    const ok = '#6 exporting to image\n#6 writing image sha256:' + 'a'.repeat(64) + ' done\n#6 DONE 0.1s\n';
    expect(await diagnoseLog({ log: ok })).toMatchObject({ diagnoses: [] });
  });
});
