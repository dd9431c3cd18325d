import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnoseBuildLog } from '../../../src/diagnosis/diagnose.js';

const DIR = path.join(import.meta.dirname, '../../fixtures/build-logs');
const read = (name: string) => readFileSync(path.join(DIR, name), 'utf8');

describe('exec format error is a platform mismatch', () => {
  it.each(['execformat.modern.log', 'execformat.legacy.log'])(
    'a RUN step that hits exec format error (%s, captured) names the step, its line and the fix',
    (name) => {
      const [primary] = diagnoseBuildLog(read(name), { dockerfileText: read('execformat.Dockerfile') });
      expect(primary?.kind).toBe('platform-mismatch');
      expect(primary!.summary).toContain('/bin/sh is a program for another CPU architecture');
      expect(primary!.summary).toContain('RUN echo built');
      expect(primary!.dockerfileLine).toBe(3);
      expect(primary!.nextStep).toMatch(/qemu-user-static binfmt-support/);
    },
  );

  it('a failed smoke test of an arm64 image names the platform from its detail', () => {
    const smoke =
      'Platform mismatch: the image is linux/arm64 (docker image inspect) but this Docker host cannot run it.\n' +
      'exec /usr/bin/sh: exec format error';
    const [primary] = diagnoseBuildLog(smoke);
    expect(primary).toMatchObject({ kind: 'platform-mismatch', fix: { details: { platform: 'linux/arm64' } } });
    expect(primary!.summary).toContain('/usr/bin/sh');
  });

  it('a script started without a #! line stays a script problem', () => {
    const [primary] = diagnoseBuildLog('exec /app/docker-entrypoint.sh: exec format error');
    expect(primary?.kind).toBe('runtime-exec-format-error');
    expect(primary!.nextStep).toMatch(/#!/);
  });
});
