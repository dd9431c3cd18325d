import { describe, expect, it } from 'vitest';
import { diagnoseBuildLog } from '../../../src/diagnosis/diagnose.js';
import { RawJsonOutputParser } from '../../../src/docker/output/rawjson-parser.js';
import { fixtureDockerfile, fixtureLines, fixtureLog } from '../docker/fixture-logs.js';

/** BuildKit's error summary alone, from the `------` block to the end: what a CI log or a user's paste often holds. */
function errorSummary(name: string): string {
  const lines = fixtureLines(name);
  return lines.slice(lines.indexOf('------')).join('\n');
}

/** The log file the product saves for a rawjson build: the plain lines the rawjson parser derives. */
function savedLogOf(name: string): string {
  const parser = new RawJsonOutputParser();
  const events = [...fixtureLines(name).flatMap((line) => parser.push(line)), ...parser.end(1)];
  return events.flatMap((event) => (event.type === 'log' ? [event.line] : [])).join('\n');
}

const PIP_CONFLICT = {
  kind: 'pip-resolution-impossible',
  dockerfileLine: 4,
  fix: {
    action: 'repin',
    package: 'torchvision',
    conflictsWith: { package: 'torch', requested: '2.7.1' },
  },
};

describe('diagnosis from BuildKit output captured on Docker 26 + buildx 0.13', () => {
  it.each([
    ['the step log (plain progress)', fixtureLog('pipconflict.buildx-plain.log')],
    [
      'the error summary alone (------ block, 0.470-prefixed lines, Dockerfile:4 context)',
      errorSummary('pipconflict.buildx-plain.log'),
    ],
    ['the raw rawjson stream (indented JSON over many lines)', fixtureLog('pipconflict.rawjson.log')],
    ['the log file saved from rawjson', savedLogOf('pipconflict.rawjson.log')],
  ])('a pip conflict from %s names the packages, versions and Dockerfile line', (_form, log) => {
    const [primary] = diagnoseBuildLog(log);
    expect(primary).toMatchObject(PIP_CONFLICT);
    expect(primary!.summary).toContain('torchvision 0.15.0');
    expect(primary!.summary).toContain('torch==2.7.1');
  });

  it.each([
    ['the step log (plain progress)', fixtureLog('runfail-gpu.buildx-plain.log')],
    ['the error summary alone', errorSummary('runfail-gpu.buildx-plain.log')],
    ['the raw rawjson stream', fixtureLog('runfail-gpu.rawjson.log')],
    ['the log file saved from rawjson', savedLogOf('runfail-gpu.rawjson.log')],
  ])('a failing RUN in build/gpu.Dockerfile, from %s, names the package and gpu.Dockerfile line 8', (_form, log) => {
    const [primary] = diagnoseBuildLog(log, { dockerfilePath: 'build/gpu.Dockerfile' });
    expect(primary).toMatchObject({
      kind: 'apt-unable-to-locate',
      dockerfileLine: 8,
      fix: { action: 'add-apt-get-update', dockerfileLine: 8 },
    });
    expect(primary!.summary).toContain('libcudnn9-dev-cuda-12');
  });

  it("finds apt's error when BuildKit merged it into apt's progress line (20.10, `Reading package lists...E: ...`)", () => {
    const log = fixtureLog('runfail-gpu-interleaved.buildkit.log');
    expect(log).toContain('Reading package lists...E: Unable to locate package libcudnn9-dev-cuda-12');
    const [primary] = diagnoseBuildLog(log, { dockerfileText: fixtureDockerfile('runfail-gpu') });
    expect(primary).toMatchObject({ kind: 'apt-unable-to-locate', dockerfileLine: 8 });
    expect(primary!.summary).toContain('libcudnn9-dev-cuda-12');
  });

  it('with the Dockerfile, the fix for the gpu.Dockerfile failure edits line 8', () => {
    const [primary] = diagnoseBuildLog(errorSummary('runfail-gpu.buildx-plain.log'), {
      dockerfilePath: 'build/gpu.Dockerfile',
      dockerfileText: fixtureDockerfile('runfail-gpu'),
    });
    expect(primary).toMatchObject({ kind: 'apt-unable-to-locate', dockerfileLine: 8 });
    expect(JSON.stringify(primary!.fix)).toContain('apt-get update');
  });

  it.each([
    ['the step log (plain progress)', fixtureLog('copyfail.buildx-plain.log')],
    ['the error summary alone', errorSummary('copyfail.buildx-plain.log')],
    ['the raw rawjson stream', fixtureLog('copyfail.rawjson.log')],
    ['the log file saved from rawjson', savedLogOf('copyfail.rawjson.log')],
  ])('a COPY of a missing file, from %s, names the file and Dockerfile line 5', (_form, log) => {
    const [primary] = diagnoseBuildLog(log);
    expect(primary).toMatchObject({
      kind: 'copy-missing-file',
      dockerfileLine: 5,
      fix: { action: 'fix-copy-source', path: 'missing.txt' },
    });
  });

  it('a paste of only the >>> source lines and the error still gives the line and the instruction', () => {
    const lines = fixtureLines('pipconflict.buildx-plain.log');
    const paste = lines.slice(lines.indexOf('Dockerfile:4') + 2).join('\n');
    expect(paste).not.toContain('Dockerfile:4');
    const [primary] = diagnoseBuildLog(paste);
    expect(primary).toMatchObject({ kind: 'unknown', dockerfileLine: 4 });
    expect(primary!.summary).toMatch(/^The RUN step on line 4 failed/);
  });

  it('a rebuild that hit the cache everywhere is no failure', () => {
    expect(diagnoseBuildLog(fixtureLog('ok-cached.rawjson.log'))).toEqual([]);
    expect(diagnoseBuildLog(fixtureLog('ok-cached.buildx-plain.log'))).toEqual([]);
  });
});
