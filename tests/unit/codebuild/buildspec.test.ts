/**
 * The generated buildspec: its shape (read back with the emulator's buildspec parser, which follows CodeBuild's
 * rules), shell quoting against injection, and its commands run for real in bash against a fake `docker` that
 * records the exact argv it receives.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildspecCommands,
  codebuildDockerArgs,
  generateBuildspec,
  imageTag,
  parseEcrRepositoryUri,
  parseMarker,
  shellQuote,
  yamlQuote,
  type BuildspecOptions,
} from '../../../src/codebuild/buildspec.js';
import { dockerBuildArgs } from '../../../src/docker/build-args.js';
import { PROBE_SCRIPT } from '../../../src/smoke/probe-script.js';
import { InputError } from '../../../src/util/errors.js';
import { parseBuildspec, parseYamlSubset } from '../../support/aws-emulator/buildspec.js';

const sandbox = mkdtempSync(path.join(tmpdir(), 'dib-buildspec-'));
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

const NASTY = [
  '$(rm -rf /)',
  '`touch CANARY_BACKTICK`',
  "it's",
  "'; touch CANARY_QUOTE; '",
  '"double" $HOME \\ back\\slash',
  'line one\nline two; touch CANARY_NEWLINE',
  '$((1+1)) ${PATH} !! !$ * ? [a] ~ # & | ; < > ( ) { }',
  '-f',
  '',
  ' leading and trailing ',
  'tab\there\r\ncrlf',
  'unicode: ünïcødé \u2028 \u0085 emoji 🐳',
];

function base(overrides: Partial<BuildspecOptions> = {}): BuildspecOptions {
  return {
    dockerfile: 'Dockerfile',
    imageRef: 'fsdp:latest',
    buildArgs: {},
    noCache: false,
    labels: {},
    smokeCommands: [],
    ...overrides,
  };
}

function runShell(shell: string, script: string, options: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawnSync(shell, ['-c', script], {
    cwd: options.cwd ?? sandbox,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
  });
}

describe('shellQuote', () => {
  it('leaves plain words alone and quotes everything else', () => {
    expect(shellQuote('fsdp:latest')).toBe('fsdp:latest');
    expect(shellQuote('--build-arg')).toBe('--build-arg');
    expect(shellQuote('A=1')).toBe('A=1');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });

  it.each(['bash', 'sh'])('gives %s back every value byte for byte, running nothing', (shell) => {
    for (const value of NASTY) {
      const result = runShell(shell, `printf '%s' ${shellQuote(value)}`);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(value);
    }
    expect(readdirSync(sandbox).filter((name) => name.startsWith('CANARY'))).toEqual([]);
  });

  it('keeps a quoted value one word', () => {
    const result = runShell('bash', `set -- ${NASTY.map(shellQuote).join(' ')}; echo $#`);
    expect(result.stdout.trim()).toBe(String(NASTY.length));
  });

  it('refuses NUL, which no program argument can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(InputError);
  });
});

describe('yamlQuote', () => {
  it('round-trips through YAML (the emulator parser) and JSON', () => {
    for (const value of [...NASTY, 'a: b # not a comment', '- not a list', '{not: a map}', '\u0001\u001f\u007f']) {
      const quoted = yamlQuote(value);
      expect(quoted).not.toContain('\n');
      expect(parseYamlSubset(`key: ${quoted}`)).toEqual({ key: value });
      expect(JSON.parse(quoted)).toBe(value);
    }
  });

  it('gives a scalar a strict YAML parser (js-yaml) accepts, C1 controls and lone surrogates included', () => {
    const c1 = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
    for (const value of [...NASTY, c1, `token${c1}end`, '\ud800 lone', '\ufffe\uffff']) {
      expect(yaml.load(`key: ${yamlQuote(value)}\n`)).toEqual({ key: value });
    }
  });
});

describe('docker build arguments', () => {
  it('are the local build arguments, with paths relative to the unpacked source', () => {
    const options = base({
      dockerfile: 'docker/Dockerfile.gpu',
      imageRef: 'registry.example.com:5000/team/fsdp:v1',
      buildArgs: { TORCH: '2.7.1', EVIL: '$(rm -rf /)' },
      labels: { 'org.opencontainers.image.source': 'https://example.com/x y' },
      target: 'runtime',
      platform: 'linux/amd64',
      noCache: true,
      pull: true,
    });
    for (const builder of ['buildkit', 'legacy'] as const) {
      const local = dockerBuildArgs({
        contextDir: '/somewhere/ctx',
        dockerfilePath: 'docker/Dockerfile.gpu',
        imageRef: options.imageRef,
        buildArgs: options.buildArgs,
        labels: options.labels,
        target: 'runtime',
        platform: 'linux/amd64',
        noCache: true,
        pull: true,
        builder,
      });
      const remote = codebuildDockerArgs(options, builder);
      const dropPaths = (args: string[]) => args.map((a) => (a.startsWith('/') || a === '.' ? '<path>' : a));
      expect(dropPaths(remote.map((a) => (a === 'docker/Dockerfile.gpu' ? '/x' : a)))).toEqual(dropPaths(local));
      expect(remote.at(-1)).toBe('.');
      expect(remote[remote.indexOf('-f') + 1]).toBe('docker/Dockerfile.gpu');
    }
    expect(codebuildDockerArgs(options, 'buildkit')).toContain('--progress=plain');
    expect(codebuildDockerArgs(options, 'legacy')).toContain('--force-rm');
  });

  it('refuses several platforms: a CodeBuild build makes one image', () => {
    const options = {
      dockerfile: 'Dockerfile',
      imageRef: 'app:v1',
      buildArgs: {},
      labels: {},
      noCache: false,
      smokeCommands: [],
    };
    expect(() => codebuildDockerArgs({ ...options, platform: 'linux/amd64,linux/arm64' })).toThrow(
      /CodeBuild builds one platform per build/,
    );
    expect(codebuildDockerArgs({ ...options, platform: 'linux/arm64' })).toContain('linux/arm64');
  });

  it('validates values as a local build does', () => {
    expect(() => codebuildDockerArgs(base({ imageRef: 'Not A Ref' }))).toThrow(InputError);
    expect(() => codebuildDockerArgs(base({ buildArgs: { 'BAD KEY': 'x' } }))).toThrow(InputError);
    expect(() => codebuildDockerArgs(base({ dockerfile: '../Dockerfile' }))).toThrow(InputError);
    expect(() => codebuildDockerArgs(base({ dockerfile: '/abs/Dockerfile' }))).toThrow(InputError);
    expect(() => codebuildDockerArgs(base({ platform: 'linux amd64' }))).toThrow(InputError);
  });
});

describe('generateBuildspec', () => {
  it('is a valid buildspec: docker build in BUILD, smoke checks and cleanup in POST_BUILD', () => {
    const spec = parseBuildspec(generateBuildspec(base({ smokeCommands: ['python -c "print(1)"'] })));
    expect(spec.version).toBe('0.2');
    expect(spec.shell).toBe('bash');
    expect(spec.phases.pre_build).toBeUndefined();
    expect(spec.phases.build?.commands).toHaveLength(1);
    expect(spec.phases.build?.commands[0]).toContain('docker-image-builder: docker build');
    expect(spec.phases.build?.commands[0]).toContain('DOCKER_BUILDKIT=1 docker build --progress=plain -f Dockerfile');
    expect(spec.phases.post_build?.commands).toHaveLength(2);
    expect(spec.phases.post_build?.commands[0]).toContain('PyTorch probe');
    expect(spec.phases.post_build?.commands[1]).toContain(`-c 'python -c "print(1)"'`);
    expect(spec.phases.post_build?.finally[0]).toContain('rm -rf "$DIB_TMP"');
  });

  it('without smoke checks or push has no POST_BUILD; cleanup runs as BUILD finally', () => {
    const spec = parseBuildspec(generateBuildspec(base({ smokeTest: false, smokeCommands: ['ignored'] })));
    expect(spec.phases.post_build).toBeUndefined();
    expect(spec.phases.build?.finally[0]).toContain('cleanup');
  });

  it('logs in to ECR before the build and pushes after the smoke checks when asked', () => {
    const repo = '123456789012.dkr.ecr.us-west-2.amazonaws.com/team/fsdp';
    const spec = parseBuildspec(generateBuildspec(base({ imageRef: 'fsdp:v2', ecrRepository: repo })));
    const login = spec.phases.pre_build?.commands[0] ?? '';
    expect(login).toContain('aws ecr get-login-password --region us-west-2');
    expect(login).toContain(
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-west-2.amazonaws.com',
    );
    const post = spec.phases.post_build?.commands ?? [];
    expect(post.at(-1)).toContain(`docker tag fsdp:v2 ${repo}:v2`);
    expect(post.at(-1)).toContain(`docker push ${repo}:v2`);
    const noPush = parseBuildspec(generateBuildspec(base({ ecrRepository: repo, push: false })));
    expect(noPush.phases.pre_build).toBeUndefined();
    expect(JSON.stringify(noPush)).not.toContain('docker push');
    expect(() => generateBuildspec(base({ push: true }))).toThrow(InputError);
  });

  it('every command is valid bash', () => {
    const yaml = generateBuildspec(
      base({
        buildArgs: Object.fromEntries(NASTY.map((v, i) => [`A${i}`, v])),
        labels: { note: NASTY.join(' ') },
        smokeCommands: NASTY.filter((v) => v !== ''),
        ecrRepository: '123456789012.dkr.ecr.eu-central-1.amazonaws.com/x',
      }),
    );
    const commands = buildspecCommands(yaml);
    expect(commands.length).toBeGreaterThan(5);
    for (const command of commands) {
      const check = spawnSync('bash', ['-n', '-c', command], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
    }
  });

  it('reads back its own commands (and nothing from other buildspecs)', () => {
    const yaml = generateBuildspec(base({ smokeCommands: ['echo "a\nb"'] }));
    const parsed = parseBuildspec(yaml);
    expect(buildspecCommands(yaml)).toEqual([
      ...(parsed.phases.build?.commands ?? []),
      ...(parsed.phases.post_build?.commands ?? []),
      ...(parsed.phases.post_build?.finally ?? []),
    ]);
    expect(buildspecCommands('version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n')).toEqual([]);
    expect(buildspecCommands(undefined)).toEqual([]);
  });
});

describe('the commands, run in bash against a fake docker', () => {
  const bin = path.join(sandbox, 'bin');
  const record = path.join(sandbox, 'argv');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(
    path.join(bin, 'docker'),
    [
      '#!/bin/bash',
      'case "$1" in',
      '  buildx) [ -n "$FAKE_BUILDX" ] && { echo "github.com/docker/buildx v0.20.0"; exit 0; }; exit 1 ;;',
      '  version) echo "${FAKE_CLI:-28.2.2}"; exit 0 ;;',
      '  build)',
      '    : > "$FAKE_RECORD"; printf "DOCKER_BUILDKIT=%s\\0" "$DOCKER_BUILDKIT" >> "$FAKE_RECORD"',
      '    for a in "$@"; do printf "%s\\0" "$a" >> "$FAKE_RECORD"; done',
      '    while [ $# -gt 0 ]; do if [ "$1" = --iidfile ]; then printf "sha256:%064d" 7 > "$2"; fi; shift; done',
      '    echo "Step 1/1 : FROM x"; exit "${FAKE_EXIT:-0}" ;;',
      '  run)',
      '    n=$(ls "$FAKE_RECORD".run.* 2>/dev/null | wc -l); for a in "$@"; do printf "%s\\0" "$a" >> "$FAKE_RECORD.run.$n"; done',
      '    case "$*" in',
      '      *"command -v python3"*)',
      '        case "$FAKE_PROBE" in',
      '          nosh) echo "exec: sh: not found" >&2; exit 127 ;;',
      '          dockerfail) echo "docker: Error response from daemon: no space left on device." >&2; exit 125 ;;',
      '          nopython) exit 0 ;;',
      '        esac',
      '        echo /usr/bin/python3; exit 0 ;;',
      '      *"-u -c"*)',
      '        case "$FAKE_PROBE" in',
      '          notorch) echo \'@@dib-smoke@@ {"name": "torch-import", "data": {}, "status": "failed", "missing_module": "torch", "kind": "check"}\' ;;',
      '          failed) echo \'@@dib-smoke@@ {"name": "torchvision-nms", "data": {}, "status": "failed", "kind": "check"}\' ;;',
      '          *) echo \'@@dib-smoke@@ {"name": "torch-import", "data": {"version": "2.7.1"}, "status": "passed", "kind": "check"}\' ;;',
      '        esac',
      '        echo \'@@dib-smoke@@ {"kind": "done"}\'; exit 0 ;;',
      '      *) echo "ran: $*"; exit "${FAKE_RUN_EXIT:-0}" ;;',
      '    esac ;;',
      '  *) exit 0 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'docker'), 0o755);

  function run(command: string, env: Record<string, string> = {}) {
    rmSync(record, { force: true });
    for (const name of readdirSync(sandbox)) if (name.startsWith('argv.run.')) rmSync(path.join(sandbox, name));
    const result = runShell('bash', command, {
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        CODEBUILD_BUILD_ID: 'proj:1234-abcd',
        TMPDIR: sandbox,
        FAKE_RECORD: record,
        ...env,
      },
    });
    const markers = result.stdout
      .split('\n')
      .map(parseMarker)
      .filter((m) => m !== undefined);
    return { ...result, markers };
  }

  const options = base({
    imageRef: 'dib/evil:1',
    buildArgs: Object.fromEntries(NASTY.map((v, i) => [`A${i}`, v])),
    labels: { 'dib.note': NASTY.join('|') },
  });
  const spec = parseBuildspec(generateBuildspec({ ...options, smokeCommands: ['echo ok', "exit 3 # it's over"] }));
  const buildCommand = spec.phases.build?.commands[0] ?? '';

  it.each([
    ['buildkit', { FAKE_BUILDX: '1' }, '1'],
    ['buildkit', { FAKE_CLI: '20.10.24' }, '1'],
    ['legacy', { FAKE_CLI: '28.2.2' }, '0'],
  ] as const)('docker gets exactly the local %s argv, whatever the values hold', (builder, env, buildkit) => {
    const result = run(buildCommand, env);
    expect(result.status).toBe(0);
    const argv = readFileSync(record, 'utf8').split('\0').slice(0, -1);
    const expected = codebuildDockerArgs(options, builder);
    const context = expected.pop();
    const iid = argv[argv.indexOf('--iidfile') + 1] ?? '';
    expect(argv).toEqual([`DOCKER_BUILDKIT=${buildkit}`, ...expected, '--iidfile', iid, context]);
    expect(iid.startsWith(path.join(sandbox, 'dib-1234-abcd'))).toBe(true);
    expect(result.markers.map((m) => m.kind)).toEqual(['docker-build-start', 'docker-build-end', 'image-id']);
    expect(result.markers[0]?.fields['builder']).toBe(builder);
    expect(result.markers[1]?.fields['exit']).toBe('0');
    expect(result.markers[2]?.rest).toBe(`sha256:${'0'.repeat(63)}7`);
    expect(readdirSync(sandbox).filter((name) => name.startsWith('CANARY'))).toEqual([]);
  });

  it('a failing docker build fails the command and reports its exit code', () => {
    const result = run(buildCommand, { FAKE_EXIT: '1', FAKE_BUILDX: '1' });
    expect(result.status).not.toBe(0);
    expect(result.markers.map((m) => [m.kind, m.fields['exit']])).toEqual([
      ['docker-build-start', undefined],
      ['docker-build-end', '1'],
    ]);
  });

  it('passes the probe program intact (gzip+base64) and judges its result', () => {
    const probe = spec.phases.post_build?.commands[0] ?? '';
    const passed = run(probe);
    expect(passed.status).toBe(0);
    expect(passed.markers.at(-1)?.fields).toEqual({ status: 'passed' });
    const probeArgv = readFileSync(`${record}.run.1`, 'utf8').split('\0');
    expect(probeArgv).toContain('--network');
    // $(cat …) drops the trailing newline, which Python does not need.
    expect(probeArgv[probeArgv.indexOf('-c') + 1]).toBe(PROBE_SCRIPT.replace(/\n+$/, ''));
    expect(probeArgv).toContain('{"gpu": false}');

    const failed = run(probe, { FAKE_PROBE: 'failed' });
    expect(failed.status).not.toBe(0);
    expect(failed.markers.at(-1)?.fields['status']).toBe('failed');
    expect(run(probe, { FAKE_PROBE: 'notorch' }).markers.at(-1)?.fields).toEqual({
      status: 'skipped',
      reason: 'no-torch',
    });
    const noPython = run(probe, { FAKE_PROBE: 'nopython' });
    expect(noPython.status).toBe(0);
    expect(noPython.markers.at(-1)?.fields).toEqual({ status: 'skipped', reason: 'no-python' });
    const noSh = run(probe, { FAKE_PROBE: 'nosh' });
    expect(noSh.status).toBe(0);
    expect(noSh.markers.at(-1)?.fields).toEqual({ status: 'skipped', reason: 'no-sh' });
    const cannotStart = run(probe, { FAKE_PROBE: 'dockerfail' });
    expect(cannotStart.status).not.toBe(0);
    expect(cannotStart.stdout).toContain('no space left on device');
    expect(cannotStart.markers.at(-1)?.fields).toEqual({ status: 'failed', reason: 'container-failed', exit: '125' });
    const afterFailure = run(probe, { CODEBUILD_BUILD_SUCCEEDING: '0' });
    expect(afterFailure.status).toBe(0);
    expect(afterFailure.markers.at(-1)?.fields['reason']).toBe('build-failed');
  });

  it('runs each smoke command as one sh -c argument and fails on a non-zero exit', () => {
    const ok = run(spec.phases.post_build?.commands[1] ?? '');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ran: run --rm --entrypoint sh dib/evil:1 -c echo ok');
    const bad = run(spec.phases.post_build?.commands[2] ?? '', { FAKE_RUN_EXIT: '3' });
    expect(bad.status).not.toBe(0);
    const argv = readFileSync(`${record}.run.0`, 'utf8').split('\0');
    expect(argv).toContain("exit 3 # it's over");
    expect(bad.markers.at(-1)?.fields).toEqual({ n: '2', exit: '3' });
  });

  it('cleans its scratch directory', () => {
    run(buildCommand, { FAKE_BUILDX: '1' });
    expect(existsSync(path.join(sandbox, 'dib-1234-abcd'))).toBe(true);
    run(spec.phases.post_build?.finally[0] ?? '');
    expect(existsSync(path.join(sandbox, 'dib-1234-abcd'))).toBe(false);
  });
});

describe('helpers', () => {
  it('reads markers', () => {
    expect(parseMarker('@@dib-codebuild@@ docker-build-end exit=0')).toEqual({
      kind: 'docker-build-end',
      fields: { exit: '0' },
      rest: 'exit=0',
    });
    expect(parseMarker("[Container] 2024 Running command echo '@@dib-''codebuild@@ x'")).toBeUndefined();
    expect(parseMarker('  @@dib-codebuild@@ x')).toBeUndefined();
  });

  it('parses repository URIs and tags', () => {
    expect(parseEcrRepositoryUri('123456789012.dkr.ecr.us-west-2.amazonaws.com/team/fsdp')).toEqual({
      registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
      name: 'team/fsdp',
      region: 'us-west-2',
    });
    expect(parseEcrRepositoryUri('localhost:5000/fsdp')).toEqual({ registry: 'localhost:5000', name: 'fsdp' });
    expect(() => parseEcrRepositoryUri('fsdp')).toThrow(InputError);
    expect(imageTag('fsdp')).toBe('latest');
    expect(imageTag('fsdp:v1')).toBe('v1');
    expect(imageTag('localhost:5000/fsdp')).toBe('latest');
  });
});
