import { describe, expect, it } from 'vitest';
import { diagnoseBuildLog } from '../../../src/diagnosis/diagnose.js';
import type { Diagnosis } from '../../../src/diagnosis/types.js';
import { applyTextEdits } from '../../../src/util/text-edits.js';
import { fixtureDockerfile, fixtureLog } from '../docker/fixture-logs.js';

const BUILDERS = ['legacy', 'buildkit'] as const;

function diagnoseFixture(log: string, dockerfile?: string): Diagnosis[] {
  return diagnoseBuildLog(
    fixtureLog(log),
    dockerfile === undefined ? {} : { dockerfileText: fixtureDockerfile(dockerfile) },
  );
}

function only(diagnoses: Diagnosis[]): Diagnosis {
  expect(diagnoses).toHaveLength(1);
  return diagnoses[0]!;
}

/** Lines of a failing legacy RUN step, as the classic builder prints them. */
function legacyRun(instruction: string, output: string[], exitCode = 1): string {
  return [
    'Step 1/2 : FROM python:3.11',
    ' ---> 1a2b3c4d5e6f',
    `Step 2/2 : RUN ${instruction}`,
    ' ---> Running in 0f1e2d3c4b5a',
    ...output,
    `The command '/bin/sh -c ${instruction}' returned a non-zero code: ${exitCode}`,
  ].join('\n');
}

/** Lines of a failing BuildKit RUN step (Docker 20.10 format). */
function buildkitRun(instruction: string, output: string[], exitCode = 1): string {
  return [
    '#5 [2/2] RUN ' + instruction,
    ...output.map((line, index) => `#5 ${(1 + index / 100).toFixed(3)} ${line}`),
    `#5 ERROR: executor failed running [/bin/sh -c ${instruction}]: exit code: ${exitCode}`,
    '------',
    ` > [2/2] RUN ${instruction}:`,
    '------',
    `executor failed running [/bin/sh -c ${instruction}]: exit code: ${exitCode}`,
  ].join('\n');
}

describe('pip-resolution-impossible', () => {
  it.each(BUILDERS)('names the conflicting pins and asks to repin torchvision (%s, captured)', (builder) => {
    const diagnosis = only(diagnoseFixture(`pipconflict.${builder}.log`, 'pipconflict'));
    expect(diagnosis).toMatchObject({
      kind: 'pip-resolution-impossible',
      dockerfileLine: 4,
      fixable: true,
      fix: {
        action: 'repin',
        package: 'torchvision',
        currentVersion: '0.15.0',
        requires: 'torch==2.0.0',
        conflictsWith: { package: 'torch', requested: '2.7.1', spec: '==2.7.1', source: 'user' },
      },
    });
    expect(diagnosis.summary).toBe(
      'pip cannot install torch==2.7.1 together with torchvision 0.15.0, which requires torch==2.0.0.',
    );
    expect(diagnosis.excerpt).toContain('torchvision 0.15.0 depends on torch==2.0.0');
    expect(diagnosis.excerpt.split('\n').length).toBeLessThanOrEqual(15);
  });

  it('reads the conflict when pip printed it before the ERROR line (stdout and stderr interleave either way)', () => {
    // Captured from a build_image run: the `The conflict is caused by:` block (stdout) came before `ERROR:` (stderr).
    const diagnosis = only(diagnoseFixture('pipconflict-stdout-first.legacy.log'));
    expect(diagnosis).toMatchObject({
      kind: 'pip-resolution-impossible',
      fixable: true,
      fix: { action: 'repin', package: 'torchvision', conflictsWith: { package: 'torch', requested: '2.7.1' } },
    });
    expect(diagnosis.excerpt).toContain('torchvision 0.15.0 depends on torch==2.0.0');
    expect(diagnosis.excerpt).toContain('ResolutionImpossible');
  });

  it('keeps CUDA local versions (buildx log with the real lora-scripts message)', () => {
    const diagnosis = only(diagnoseFixture('pipconflict-cu118.buildx.log', 'pipconflict-cu118'));
    expect(diagnosis.dockerfileLine).toBe(3);
    expect(diagnosis.fix).toMatchObject({
      package: 'torchvision',
      requires: 'torch==2.1.1+cu118',
      conflictsWith: { package: 'torch', requested: '2.2.1+cu118' },
    });
  });

  it('gives one repin per package that pins another torch', () => {
    const log = legacyRun('pip install torch==2.7.1 torchvision==0.15.0 torchaudio==2.0.1', [
      'ERROR: Cannot install torch==2.7.1, torchaudio==2.0.1 and torchvision==0.15.0 because these package versions have conflicting dependencies.',
      '',
      'The conflict is caused by:',
      '    The user requested torch==2.7.1',
      '    torchvision 0.15.0 depends on torch==2.0.0',
      '    torchaudio 2.0.1 depends on torch==2.0.0',
      '',
      'To fix this you could try to:',
      'ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts',
    ]);
    const diagnoses = diagnoseBuildLog(log);
    expect(diagnoses.map((diagnosis) => diagnosis.fix?.action === 'repin' && diagnosis.fix.package)).toEqual([
      'torchvision',
      'torchaudio',
    ]);
  });

  it('handles constraints and two packages that disagree with each other', () => {
    const constraint = diagnoseBuildLog(
      legacyRun('pip install -c constraints.txt torchvision==0.15.0', [
        'The conflict is caused by:',
        '    The user requested (constraint) torch==2.1.0',
        '    torchvision 0.15.0 depends on torch==2.0.0',
        'ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/user_guide/#fixing-conflicting-dependencies',
      ]),
    );
    expect(constraint[0]?.fix).toMatchObject({ conflictsWith: { source: 'constraint', requested: '2.1.0' } });
    const between = diagnoseBuildLog(
      legacyRun('pip install torchvision==0.15.0 torchaudio==2.7.1', [
        'The conflict is caused by:',
        '    torchvision 0.15.0 depends on torch==2.0.0',
        '    torchaudio 2.7.1 depends on torch==2.7.1',
        'ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts',
      ]),
    );
    expect(between).toHaveLength(1);
    expect(between[0]?.fix).toMatchObject({
      package: 'torchvision',
      conflictsWith: { package: 'torch', source: 'dependency', requiredBy: 'torchaudio 2.7.1', requested: '2.7.1' },
    });
  });
});

describe('no-matching-distribution', () => {
  it.each(BUILDERS)('reports the missing +cu118 build and PyTorch index (%s, captured)', (builder) => {
    const diagnosis = only(diagnoseFixture(`pipnodist.${builder}.log`, 'pipnodist'));
    expect(diagnosis).toMatchObject({
      kind: 'no-matching-distribution',
      dockerfileLine: 4,
      fixable: true,
      fix: {
        action: 'fix-requirement',
        package: 'torch',
        requirement: 'torch==2.7.1+cu118',
        version: '2.7.1+cu118',
        variant: 'cu118',
        indexes: ['/wheels'],
        availableVersions: ['2.0.0', '2.7.1'],
        suggestedIndexUrl: 'https://download.pytorch.org/whl/cu118',
      },
    });
  });

  it('lists what the PyTorch index has when the version is missing there', () => {
    const diagnosis = only(
      diagnoseBuildLog(
        buildkitRun('pip install torch==2.8.0+cu118 --index-url https://download.pytorch.org/whl/cu118', [
          'Looking in indexes: https://download.pytorch.org/whl/cu118',
          'ERROR: Could not find a version that satisfies the requirement torch==2.8.0+cu118 (from versions: 2.0.0+cu118, 2.0.1+cu118, 2.7.0+cu118, 2.7.1+cu118)',
          'ERROR: No matching distribution found for torch==2.8.0+cu118',
        ]),
      ),
    );
    expect(diagnosis.fix).toMatchObject({
      indexes: ['https://download.pytorch.org/whl/cu118'],
      availableVersions: ['2.0.0+cu118', '2.0.1+cu118', '2.7.0+cu118', '2.7.1+cu118'],
    });
    expect(diagnosis.fix).not.toHaveProperty('suggestedIndexUrl');
    expect(diagnosis.fixable).toBe(true);
  });

  it('notes versions skipped for another Python, and is not fixable for an unknown package', () => {
    const diagnosis = only(
      diagnoseBuildLog(
        legacyRun('pip install flash-attn-nope==9.9', [
          'ERROR: Ignored the following versions that require a different python version: 1.0 Requires-Python >=3.12; 1.1 Requires-Python >=3.12',
          'ERROR: Could not find a version that satisfies the requirement flash-attn-nope==9.9 (from versions: none)',
          'ERROR: No matching distribution found for flash-attn-nope==9.9',
        ]),
      ),
    );
    expect(diagnosis).toMatchObject({
      fixable: false,
      fix: { pythonIncompatibleVersions: ['1.0', '1.1'], availableVersions: [] },
    });
  });
});

describe('pip-externally-managed', () => {
  it.each(BUILDERS)('adds --break-system-packages to the pip command (%s, captured)', (builder) => {
    const diagnosis = only(diagnoseFixture(`pipext.${builder}.log`, 'pipext'));
    expect(diagnosis).toMatchObject({ kind: 'pip-externally-managed', dockerfileLine: 4, fixable: true });
    const edit = diagnosis.fix?.action === 'allow-pip-system-install' ? diagnosis.fix.edit : undefined;
    expect(applyTextEdits(fixtureDockerfile('pipext'), [edit!]).split('\n')[3]).toBe(
      'RUN pip install --break-system-packages --no-index --find-links /wheels torch==2.7.1',
    );
  });
});

describe('base-image-not-found', () => {
  it.each(BUILDERS)('offline: missing locally and registry unreachable (%s, captured)', (builder) => {
    const diagnosis = only(diagnoseFixture(`basemissing.${builder}.log`, 'basemissing'));
    expect(diagnosis).toMatchObject({
      kind: 'base-image-not-found',
      dockerfileLine: 1,
      fixable: false,
      fix: { action: 'change-base-image', image: 'dib-test/nonexistent:1.0', reason: 'registry-unreachable' },
    });
    expect(diagnosis.summary).toContain('registry-1.docker.io');
  });

  it('buildx: a tag that was never published, fixable for nvidia/cuda', () => {
    const diagnosis = only(diagnoseFixture('basemissing-cuda.buildx.log', 'basemissing-cuda'));
    expect(diagnosis).toMatchObject({
      dockerfileLine: 1,
      fixable: true,
      fix: { image: 'nvidia/cuda:12.4.0-cudnn8-devel-ubuntu22.04', reason: 'not-found' },
    });
  });

  it.each([
    [
      'legacy, no such repository',
      "Step 1/2 : FROM pytorch/pytorhc:2.7.1-cuda12.6-cudnn9-runtime\npull access denied for pytorch/pytorhc, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      'pytorch/pytorhc',
    ],
    [
      'legacy, no such tag',
      'Step 1/2 : FROM pytorch/pytorch:2.7.1-cuda11.8-cudnn9-devel\nmanifest for pytorch/pytorch:2.7.1-cuda11.8-cudnn9-devel not found: manifest unknown: manifest unknown',
      'pytorch/pytorch:2.7.1-cuda11.8-cudnn9-devel',
    ],
    [
      'BuildKit 20.10 online',
      '#3 [internal] load metadata for docker.io/nvidia/cuda:13.0.2-devel-ubuntu22.04\n#3 ERROR: docker.io/nvidia/cuda:13.0.2-devel-ubuntu22.04: not found\n------\n > [internal] load metadata for docker.io/nvidia/cuda:13.0.2-devel-ubuntu22.04:\n------\nfailed to solve with frontend dockerfile.v0: failed to create LLB definition: docker.io/nvidia/cuda:13.0.2-devel-ubuntu22.04: not found',
      'docker.io/nvidia/cuda:13.0.2-devel-ubuntu22.04',
    ],
  ])('%s', (_name, log, image) => {
    const diagnosis = only(diagnoseBuildLog(log));
    expect(diagnosis.kind).toBe('base-image-not-found');
    expect(diagnosis.fix).toMatchObject({ image });
  });
});

describe('apt-unable-to-locate', () => {
  it.each(BUILDERS)('adds apt-get update before the install (%s, captured)', (builder) => {
    const diagnosis = only(diagnoseFixture(`apt.${builder}.log`, 'apt'));
    expect(diagnosis).toMatchObject({ kind: 'apt-unable-to-locate', dockerfileLine: 3, fixable: true });
    expect(diagnosis.fix).toMatchObject({ action: 'add-apt-get-update', dockerfileLine: 3 });
    const edit = diagnosis.fix?.action === 'add-apt-get-update' ? diagnosis.fix.edit : undefined;
    expect(applyTextEdits(fixtureDockerfile('apt'), [edit!]).split('\n')[2]).toBe(
      'RUN apt-get update && apt-get install -y --no-install-recommends curl',
    );
  });

  it('is not fixable when the same RUN already updated: the package name is wrong', () => {
    const diagnosis = only(
      diagnoseBuildLog(
        legacyRun(
          'apt-get update && apt-get install -y python3.8',
          [
            'Reading package lists...',
            'E: Unable to locate package python3.8',
            "E: Couldn't find any package by glob 'python3.8'",
          ],
          100,
        ),
      ),
    );
    expect(diagnosis).toMatchObject({ fixable: false, fix: { action: 'check-apt-packages', packages: ['python3.8'] } });
  });

  it.each(BUILDERS)('apt sources unreachable: network is the root cause (%s, captured)', (builder) => {
    const diagnoses = diagnoseFixture(`aptnet.${builder}.log`, 'aptnet');
    expect(diagnoses.map((diagnosis) => diagnosis.kind)).toEqual(['network']);
    expect(diagnoses[0]?.fix).toEqual({ action: 'retry', hosts: ['deb.nonexistent.invalid'] });
  });
});

describe('copy-missing-file', () => {
  it.each(['copyfail.legacy.log', 'copyfail.buildkit.log', 'copyfail.buildx.log'])('%s', (log) => {
    const diagnosis = only(diagnoseFixture(log, 'copyfail'));
    expect(diagnosis).toMatchObject({
      kind: 'copy-missing-file',
      dockerfileLine: 5,
      fixable: false,
      fix: { action: 'fix-copy-source', path: 'missing.txt' },
    });
    expect(diagnosis.nextStep).toContain('.dockerignore');
  });

  it('names the stage for COPY --from', () => {
    const log = [
      '#7 [final 2/2] COPY --from=builder /out/app.bin /app.bin',
      '#7 ERROR: failed to compute cache key: "/out/app.bin" not found: not found',
    ].join('\n');
    expect(only(diagnoseBuildLog(log)).fix).toEqual({
      action: 'fix-copy-source',
      path: 'out/app.bin',
      fromStage: 'builder',
    });
  });
});

describe('dockerfile-syntax', () => {
  it.each(['syntax.legacy.log', 'syntax.buildkit.log', 'syntax.buildx.log'])('%s', (log) => {
    const diagnosis = only(diagnoseFixture(log, 'syntax'));
    expect(diagnosis).toMatchObject({
      kind: 'dockerfile-syntax',
      dockerfileLine: 3,
      fixable: false,
      fix: { action: 'fix-dockerfile-syntax', message: 'unknown instruction: FOO', instruction: 'FOO' },
    });
  });

  it('suggests and edits a typo of a known instruction', () => {
    const dockerfile = 'FROM python:3.11\nRUNN pip install torch\n';
    const diagnosis = only(
      diagnoseBuildLog('Error response from daemon: dockerfile parse error line 2: unknown instruction: RUNN', {
        dockerfileText: dockerfile,
      }),
    );
    expect(diagnosis).toMatchObject({ fixable: true, fix: { suggestedKeyword: 'RUN' } });
    const edit = diagnosis.fix?.action === 'fix-dockerfile-syntax' ? diagnosis.fix.edit : undefined;
    expect(applyTextEdits(dockerfile, [edit!])).toBe('FROM python:3.11\nRUN pip install torch\n');
  });
});

describe('out-of-memory', () => {
  it.each(BUILDERS)('exit 137 and Killed (%s, captured)', (builder) => {
    const diagnosis = only(diagnoseFixture(`oom.${builder}.log`, `oom.${builder}`));
    expect(diagnosis).toMatchObject({
      kind: 'out-of-memory',
      dockerfileLine: 3,
      fix: { action: 'increase-build-memory' },
    });
  });

  it('limits compile jobs when a compiler was killed', () => {
    const dockerfile = 'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install flash-attn --no-build-isolation\n';
    const log = legacyRun(
      'pip install flash-attn --no-build-isolation',
      [
        '  Building wheel for flash-attn (setup.py): started',
        'c++: fatal error: Killed signal terminated program cc1plus',
        'compilation terminated.',
      ],
      1,
    );
    const diagnosis = only(diagnoseBuildLog(log, { dockerfileText: dockerfile, failedDockerfileLine: 2 }));
    expect(diagnosis).toMatchObject({
      fixable: true,
      fix: { action: 'reduce-build-parallelism', env: { MAX_JOBS: '2' } },
    });
    const edit = diagnosis.fix?.action === 'reduce-build-parallelism' ? diagnosis.fix.edit : undefined;
    expect(applyTextEdits(dockerfile, [edit!])).toBe(
      'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nENV MAX_JOBS=2\nRUN pip install flash-attn --no-build-isolation\n',
    );
  });
});

describe('no-space-left', () => {
  it.each(BUILDERS)('%s, captured', (builder) => {
    expect(only(diagnoseFixture(`nospace.${builder}.log`, 'nospace'))).toMatchObject({
      kind: 'no-space-left',
      dockerfileLine: 3,
    });
  });

  it("pip's OSError form, suggesting --no-cache-dir", () => {
    const diagnosis = only(
      diagnoseBuildLog(
        buildkitRun('pip install torch==2.7.1', [
          'ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device',
        ]),
      ),
    );
    expect(diagnosis.kind).toBe('no-space-left');
    expect(diagnosis.nextStep).toContain('--no-cache-dir');
  });
});

describe('network', () => {
  it('pip retries that failed to connect outrank its "no versions" error (buildkit, captured)', () => {
    const diagnoses = diagnoseFixture('pipnet-retry.buildkit.log', 'pipnet-retry.buildkit');
    expect(diagnoses.map((diagnosis) => diagnosis.kind)).toEqual(['network']);
    expect(diagnoses[0]).toMatchObject({ dockerfileLine: 3, fix: { action: 'retry', hosts: ['pypi.org'] } });
  });

  it.each([
    ['curl', 'curl: (6) Could not resolve host: github.com', ['github.com']],
    [
      'apt',
      "Err:1 http://deb.debian.org/debian bookworm InRelease\n  Temporary failure resolving 'deb.debian.org'",
      ['deb.debian.org'],
    ],
    [
      'pip timeout',
      "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>, 'Connection to pypi.org timed out. (connect timeout=15)')': /simple/torch/\nERROR: Could not find a version that satisfies the requirement torch (from versions: none)\nERROR: No matching distribution found for torch",
      ['pypi.org'],
    ],
  ])('%s', (_name, output, hosts) => {
    const diagnoses = diagnoseBuildLog(legacyRun('some command', output.split('\n')));
    expect(diagnoses[0]).toMatchObject({ kind: 'network', fix: { hosts } });
    expect(diagnoses.map((diagnosis) => diagnosis.kind)).not.toContain('no-matching-distribution');
  });

  it('without network evidence, "no versions" stays a missing distribution (legacy, captured)', () => {
    expect(only(diagnoseFixture('pipnet.legacy.log', 'pipnet.legacy')).kind).toBe('no-matching-distribution');
  });
});

describe('Docker access', () => {
  it.each(BUILDERS)('permission denied on the socket (%s, captured)', (builder) => {
    expect(only(diagnoseFixture(`perm.${builder}.log`))).toMatchObject({
      kind: 'docker-permission-denied',
      fixable: false,
      fix: { action: 'fix-docker-access', suggestion: 'use-sudo' },
    });
  });

  it('sudo wanting a password', () => {
    expect(only(diagnoseBuildLog('sudo: a password is required'))).toMatchObject({
      kind: 'docker-permission-denied',
      fix: { suggestion: 'configure-passwordless-sudo' },
    });
  });

  it.each(['legacy', 'buildx-plain', 'rawjson'])(
    'a daemon lost mid-build is said to be lost, not blamed on the Dockerfile (%s, captured)',
    (form) => {
      const diagnosis = only(diagnoseFixture(`daemonlost.${form}.log`, 'daemonlost'));
      expect(diagnosis).toMatchObject({ kind: 'docker-daemon-lost', fixable: false });
      expect(diagnosis.nextStep).toMatch(/docker info/);
      expect(diagnosis.dockerfileLine).toBeUndefined();
    },
  );

  it.each(BUILDERS)('daemon not running (%s, captured)', (builder) => {
    expect(only(diagnoseFixture(`nodaemon.${builder}.log`)).kind).toBe('docker-daemon-unavailable');
  });

  it('BuildKit requested without buildx (Docker 28 CLI, captured)', () => {
    expect(only(diagnoseFixture('buildx-missing.cli28.log'))).toMatchObject({
      kind: 'buildkit-unavailable',
      fixable: true,
      fix: { action: 'use-builder', builder: 'legacy' },
    });
  });
});

describe('unknown', () => {
  it.each(['runfail.legacy.log', 'runfail.buildkit.log', 'runfail.buildx.log'])(
    "keeps the command's own last error line and the step line (%s)",
    (log) => {
      const diagnosis = only(diagnoseFixture(log, 'runfail'));
      expect(diagnosis).toMatchObject({
        kind: 'unknown',
        dockerfileLine: 4,
        fixable: false,
        summary:
          "The RUN step on line 4 failed with exit code 2: ls: cannot access '/nonexistent': No such file or directory",
      });
      expect(diagnosis.excerpt).toContain("ls: cannot access '/nonexistent'");
    },
  );

  it('for an unrecognised log that is in neither format', () => {
    const diagnosis = only(diagnoseBuildLog('something odd happened\nfatal: weird failure'));
    expect(diagnosis).toMatchObject({ kind: 'unknown', excerpt: 'something odd happened\nfatal: weird failure' });
  });

  it('bounds the excerpt', () => {
    const log = legacyRun(
      'x',
      Array.from({ length: 500 }, (_, index) => `error ${index} ${'y'.repeat(1000)}`),
    );
    const diagnosis = only(diagnoseBuildLog(log));
    expect(diagnosis.excerpt.split('\n').length).toBeLessThanOrEqual(10);
    expect(Math.max(...diagnosis.excerpt.split('\n').map((line) => line.length))).toBeLessThanOrEqual(301);
  });
});

describe('diagnoseBuildLog', () => {
  it.each(['ok.legacy.log', 'ok.buildkit.log', 'parallel.buildkit.log', 'stages.legacy.log'])(
    'finds nothing wrong in a successful build (%s)',
    (log) => {
      expect(diagnoseBuildLog(fixtureLog(log))).toEqual([]);
    },
  );

  it('uses the line the builder reported over its own mapping', () => {
    const diagnosis = only(diagnoseBuildLog(fixtureLog('apt.legacy.log'), { failedDockerfileLine: 7 }));
    expect(diagnosis.dockerfileLine).toBe(7);
  });

  it('labels edits with the Dockerfile path given', () => {
    const diagnosis = only(
      diagnoseBuildLog(fixtureLog('apt.buildkit.log'), {
        dockerfileText: fixtureDockerfile('apt'),
        dockerfilePath: 'docker/Dockerfile.gpu',
      }),
    );
    expect(diagnosis.fix?.action === 'add-apt-get-update' && diagnosis.fix.edit?.file).toBe('docker/Dockerfile.gpu');
  });
});
