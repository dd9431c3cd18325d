import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCrashReport } from '../../../src/cli/crash-report.js';
import { tempDir } from '../../support/build-fixtures.js';

describe('the report written for a bug', () => {
  it('holds the stack and option names but no option values (they can be secrets), readable by its owner only', async () => {
    const stateDir = await tempDir('crash');
    const error = new Error('boom');
    const file = writeCrashReport(
      error,
      [
        'node',
        'index.js',
        'build',
        '--build-arg',
        'HF_TOKEN=hf_live_secret',
        '--label=team=ml',
        '--context',
        '/srv/app',
      ],
      stateDir,
    );
    expect(file).toBeDefined();
    expect(path.dirname(file!)).toBe(path.join(stateDir, 'crash-reports'));
    const text = await readFile(file!, 'utf8');
    expect(text).toContain('Error: boom');
    expect(text).toContain(error.stack!.split('\n')[1]!.trim());
    expect(text).toContain('command: build --build-arg … --label=… --context …');
    expect(text).not.toMatch(/hf_live_secret|team=ml|\/srv\/app/);
    expect((await stat(file!)).mode & 0o777).toBe(0o600);
  });
});
