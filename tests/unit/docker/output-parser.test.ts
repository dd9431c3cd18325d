import { describe, expect, it } from 'vitest';
import { detectBuilderKind, summarizeBuildLog } from '../../../src/docker/output/output-parser.js';
import { fixtureDockerfile, fixtureLog } from './fixture-logs.js';

describe('detectBuilderKind', () => {
  it('recognises both formats and neither', () => {
    expect(detectBuilderKind(fixtureLog('ok.buildkit.log'))).toBe('buildkit');
    expect(detectBuilderKind(fixtureLog('ok.legacy.log'))).toBe('legacy');
    expect(detectBuilderKind(fixtureLog('runfail.buildx.log'))).toBe('buildkit');
    expect(detectBuilderKind(fixtureLog('perm.legacy.log'))).toBeUndefined();
  });
});

describe('summarizeBuildLog', () => {
  it('summarises a stored log, mapping the failed step with the Dockerfile', () => {
    expect(
      summarizeBuildLog(fixtureLog('multistage.legacy.log'), { dockerfileText: fixtureDockerfile('multistage') }),
    ).toMatchObject({ builder: 'legacy', failedStep: { step: 9, dockerfileLine: 11 } });
  });

  it('maps a BuildKit step of a stage the default target would not build (target unknown)', () => {
    const dockerfile = 'FROM alpine AS extra\nRUN false\nFROM alpine\nRUN true\n';
    const log = ['#5 [extra 2/2] RUN false', '#5 ERROR: executor failed running [/bin/sh -c false]: exit code: 1'].join(
      '\n',
    );
    expect(summarizeBuildLog(log, { dockerfileText: dockerfile })?.failedStep).toMatchObject({ dockerfileLine: 2 });
  });

  it('treats a log without an image id as failed and one with it as succeeded', () => {
    expect(summarizeBuildLog(fixtureLog('ok.buildkit.log'))?.imageId).toMatch(/^sha256:/);
    expect(summarizeBuildLog(fixtureLog('runfail.buildkit.log'))?.failedStep?.exitCode).toBe(2);
    expect(summarizeBuildLog('plain text')).toBeUndefined();
  });
});
