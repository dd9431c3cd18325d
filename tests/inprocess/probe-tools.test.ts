/** detect_environment, analyze_dockerfile and smoke_test through the real server and SDK client, with fake deps. */
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid, outputValidators, textOf } from '../support/contract.js';
import { RecordingRunner } from '../support/fake-runner.js';
import { startInProcessServer, type InProcessServer } from '../support/inprocess-server.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/docker-probe');
const fixture = (name: string) => readFile(path.join(fixtures, name), 'utf8');

let server: InProcessServer;
let validators: Map<string, ValidateFunction>;
const call = async (name: string, args: Record<string, unknown>) =>
  (await server.client.callTool({ name, arguments: args })) as CallToolResult;

beforeAll(async () => {
  // A docker that answers like a 20.10 engine driven by a newer CLI without buildx.
  const runner = new RecordingRunner()
    .on(['version'], { stdout: await fixture('version-28-on-20.10.json') })
    .on(['info'], { stdout: await fixture('info-20.10.json') })
    .on(['buildx'], { exitCode: 1, stderr: 'docker: unknown command: docker buildx' })
    .on(['context', 'show'], { stdout: 'default' });
  server = await startInProcessServer({ runner });
  // findExecutable needs a file on PATH; the recording runner answers in its place.
  await mkdir(path.join(server.dir, 'bin'));
  await writeFile(path.join(server.dir, 'bin', 'docker'), '#!/bin/sh\nexit 99\n');
  await chmod(path.join(server.dir, 'bin', 'docker'), 0o755);
  validators = await outputValidators(server.client);
});
afterAll(() => server?.close());

describe('detect_environment', () => {
  it('reports the faked engine, no AWS credentials, and recommends a local build', async () => {
    const result = await call('detect_environment', {});
    expect(result.isError).toBeFalsy();
    const report = expectValid<{
      docker: { daemon: { state: string; server_version?: string }; builder: { selected: string } };
      aws: { credentials: { found: boolean } };
      recommendation: { mode: string; ready: boolean };
    }>(validators, 'detect_environment', result);
    expect(report.docker.daemon).toMatchObject({ state: 'reachable', server_version: '20.10.24+dfsg1' });
    expect(report.docker.builder.selected).toBe('legacy');
    expect(report.aws.credentials.found).toBe(false);
    expect(report.recommendation).toMatchObject({ mode: 'local', ready: true });
    expect(server.runner.calls.map((c) => c.args)).toEqual(
      expect.arrayContaining([
        ['version', '--format', '{{json .}}'],
        ['info', '--format', '{{json .}}'],
      ]),
    );
  });

  it('runs docker through sudo -n when asked', async () => {
    const before = server.runner.calls.length;
    await call('detect_environment', { use_sudo: true });
    const sudoCalls = server.runner.calls.slice(before).filter((c) => c.command === 'sudo');
    expect(sudoCalls.length).toBeGreaterThan(0);
    expect(sudoCalls.every((c) => c.args[0] === '-n')).toBe(true);
  });

  it('refuses force_local with force_codebuild as isError with the next step', async () => {
    const result = await call('detect_environment', { force_local: true, force_codebuild: true });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/force_local and force_codebuild are mutually exclusive.*Set at most one/);
  });
});

describe('analyze_dockerfile', () => {
  let context: string;
  beforeAll(async () => {
    context = await mkdtemp(path.join(os.tmpdir(), 'dib-inprocess-analyze-'));
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM python:3.11-slim\nRUN pip install torch==2.7.1 torchvision==0.15.0\n',
    );
  });

  it('finds the torchvision mismatch with file and line, and returns a fix without writing it', async () => {
    const result = await call('analyze_dockerfile', { context, fix: true });
    expect(result.isError).toBeFalsy();
    const analysis = expectValid<{
      findings: { file: string; line: number; severity: string; message: string }[];
      fixed?: { files: unknown[] };
    }>(validators, 'analyze_dockerfile', result);
    const error = analysis.findings.find((finding) => finding.severity === 'error');
    expect(error, JSON.stringify(analysis.findings)).toMatchObject({ file: 'Dockerfile', line: 2 });
    expect(error?.message).toMatch(/torchvision/);
    expect(analysis.fixed?.files.length).toBeGreaterThan(0);
    expect(textOf(result)).toMatch(/\d+ error\(s\)/);
    expect(await readFile(path.join(context, 'Dockerfile'), 'utf8')).toContain('torchvision==0.15.0');
  });

  it('answers a context that does not exist with isError and what to pass instead', async () => {
    const result = await call('analyze_dockerfile', { context: path.join(context, 'missing') });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/is not a directory.*pass the directory you would give to `docker build`/);
  });
});

describe('smoke_test', () => {
  it('returns a passing result that validates, passing the inputs on', async () => {
    server.builds.smokePasses = true;
    const result = await call('smoke_test', { image: 'demo:latest', commands: ['true'], use_sudo: true });
    expect(result.isError).toBeFalsy();
    const smoke = expectValid<{ passed: boolean }>(validators, 'smoke_test', result);
    expect(smoke.passed).toBe(true);
    expect(textOf(result)).toMatch(/Smoke test of demo:latest passed/);
    expect(server.builds.smokeCalls.at(-1)).toMatchObject({ image: 'demo:latest', commands: ['true'], useSudo: true });
  });

  it('marks a failed check isError and tells the agent where to look', async () => {
    server.builds.smokePasses = false;
    const result = await call('smoke_test', { image: 'demo:latest' });
    expect(result.isError).toBe(true);
    expect(expectValid<{ passed: boolean }>(validators, 'smoke_test', result).passed).toBe(false);
    expect(textOf(result)).toMatch(/failed: torch-import\. Read each failed check's detail and output_excerpt/);
  });
});
